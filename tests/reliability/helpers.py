"""Comparing warehouses and running the load in a process that can be killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from tests.conftest import REPO

BIG_DAY = date(2026, 1, 5)
# Set when the run loaded them, so they differ between two otherwise identical loads.
VOLATILE_COLUMNS = {"loaded_at", "validated_at"}

# The child loads one day. With a pause file it stops inside the load transaction, once the
# first `pause_after` kinds are inserted, and waits there (for SIGKILL, or for the release file):
# landing.data_path is called once per kind inside load_day's loop, so it is a reliable hook.
CHILD = r"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
from pipeline import landing, run
from pipeline.config import Account, Config, default_settings
from pipeline.warehouse import WarehouseLockedError

args = json.loads(sys.argv[1])
settings = default_settings(data_dir=Path(args["data_dir"]), db_path=Path(args["db_path"]))
account = Account(**args["account"])
config = Config(settings=settings, accounts=(account,))
if args.get("pause_file"):
    original, calls = landing.data_path, []

    def paused(*a, **k):
        calls.append(1)
        if len(calls) == args["pause_after"] + 1:
            Path(args["pause_file"]).touch()
            release = Path(args["release_file"])
            while not release.exists():
                time.sleep(0.05)
        return original(*a, **k)

    landing.data_path = paused
try:
    result = run.load_snapshot(account.handle, args["day"], config)
except WarehouseLockedError as error:
    print(json.dumps({"error": "WarehouseLockedError", "message": str(error)}))
    sys.exit(3)
print(json.dumps({"rows": result["rows"]}))
"""


def start_load(config, account, day: date, pause_dir: Path | None = None, pause_after: int = 3):
    args = {
        "data_dir": str(config.settings.data_dir),
        "db_path": str(config.settings.db_path),
        "account": {
            "handle": account.handle,
            "persona": account.persona,
            "followers": account.followers,
        },
        "day": day.isoformat(),
    }
    if pause_dir is not None:
        args |= {
            "pause_file": str(pause_dir / "paused"),
            "release_file": str(pause_dir / "release"),
            "pause_after": pause_after,
        }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the load ended before pausing: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the load did not pause within {timeout}s")
        time.sleep(0.05)


def tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        """SELECT schema_name || '.' || table_name, list(column_name ORDER BY column_index)
           FROM duckdb_columns() WHERE database_name = ? GROUP BY ALL ORDER BY 1""",
        [catalog],
    ).fetchall()
    return {name: [c for c in columns if c not in VOLATILE_COLUMNS] for name, columns in rows}


def difference(expected: Path, actual: Path) -> dict[str, tuple[int, int]]:
    """Per table: (rows of `expected` missing from `actual`, rows of `actual` not in `expected`).

    Multiset differences (EXCEPT ALL), so a duplicated row counts as much as a lost one.
    """
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{expected}' AS e (READ_ONLY)")
        con.execute(f"ATTACH '{actual}' AS a (READ_ONLY)")
        shapes_e, shapes_a = tables(con, "e"), tables(con, "a")
        assert shapes_e == shapes_a, "the two warehouses have different tables"
        result = {}
        for name, columns in shapes_e.items():
            cols = ", ".join(f'"{c}"' for c in columns)

            def minus(x, y, name=name, cols=cols):
                return con.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{name} "
                    f"EXCEPT ALL SELECT {cols} FROM {y}.{name})"
                ).fetchone()[0]

            result[name] = (minus("e", "a"), minus("a", "e"))
        return result
    finally:
        con.close()


def rows_lost(diff: dict[str, tuple[int, int]]) -> int:
    return sum(lost for lost, _ in diff.values())


def row_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in tables(con, con.execute("SELECT current_database()").fetchone()[0])
        }
    finally:
        con.close()
