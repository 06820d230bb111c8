"""Where a daily load spends its time: its costliest statements, the commit and the checkpoint.

    python -m benchmarks.load_timings --followers 1m --data-dir DIR --date YYYY-MM-DD [--repeat 3]
        [--transform] [--max-vacuum-tasks 0] [--shown 8]

DIR holds a warehouse whose last loaded date is the day before DATE, and DATE's landing
partitions (`python -m benchmarks.run_step extract --data-dir DIR --followers 1000000 --date
DATE`). Each repeat loads DATE into a fresh copy of the warehouse, with DuckDB's automatic
checkpoint turned off so that the commit and the checkpoint, which the daily load pays together,
are timed apart. Prints the fastest repeat of each, and how the day's profiles (its partition of
raw.users) end up in row groups: one partial row group is what a day's tail costs; more is what
the next checkpoint rewrites.

`--transform` then times the day's transform the same way, after the load's checkpoint: its
costliest statements (models, compaction), its commit, and the checkpoint of what it wrote, which
a daily run pays when its process closes the warehouse.

`--max-vacuum-tasks 0` turns off DuckDB's vacuum at those checkpoints: what merging row groups
after the day's deletes costs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb

from benchmarks.bench import copy_flushed, parse_size
from benchmarks.run_step import config_for
from pipeline import landing, load, partitions, transform
from pipeline.warehouse import connect


class TimedConnection:
    """Passes statements to DuckDB and adds up each one's seconds, by its first 70 characters."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.seconds: dict[str, float] = {}

    def execute(self, sql: str, *parameters):
        started = time.perf_counter()
        result = self.con.execute(sql, *parameters)
        statement = " ".join(sql.split())[:70]
        self.seconds[statement] = self.seconds.get(statement, 0) + time.perf_counter() - started
        return result

    def __getattr__(self, name):
        return getattr(self.con, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=parse_size, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--transform", action="store_true", help="time the transform too")
    parser.add_argument("--max-vacuum-tasks", type=int, help="DuckDB's max_vacuum_tasks")
    parser.add_argument("--shown", type=int, default=8, help="costliest statements printed")
    args = parser.parse_args()
    config = config_for(args.data_dir, args.followers)
    fastest: dict[str, float] = {}
    fastest_transform: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(config.settings, db_path=Path(tmp) / "warehouse.duckdb")
        for _ in range(args.repeat):
            copy_flushed(config.settings.db_path, settings.db_path)
            con = connect(settings)
            con.execute("SET checkpoint_threshold = '1TB'")
            if args.max_vacuum_tasks is not None:
                con.execute("SET max_vacuum_tasks = ?", [args.max_vacuum_tasks])
            loaded = _timed(
                con,
                fastest,
                "the load, in all",
                lambda timed: load.load_day(timed, config.accounts[0], args.date, settings),
            )
            day_profiles = partitions.partition_name("raw.users", loaded.account_id, args.date)
            row_groups = con.execute(
                f"SELECT count FROM pragma_storage_info('{day_profiles}') "
                "WHERE column_id = 0 AND segment_type <> 'VALIDITY' ORDER BY row_group_id"
            ).fetchall()
            if args.transform:
                _timed(
                    con,
                    fastest_transform,
                    "the transform, in all",
                    lambda timed, account_id=loaded.account_id: transform.transform_account(
                        timed, account_id, settings
                    ),
                )
            con.close()
    print(f"load of {args.date}, fastest of {args.repeat}")
    _print_costliest(fastest, "the load, in all", args.shown)
    if args.transform:
        print(f"transform of {args.date}, fastest of {args.repeat}")
        _print_costliest(fastest_transform, "the transform, in all", args.shown)
    partial = [count for (count,) in row_groups if count < landing.DUCKDB_ROW_GROUP_ROWS]
    print(f"{day_profiles}: {len(row_groups)} row groups, {len(partial)} partial: {partial}")


def _timed(con: duckdb.DuckDBPyConnection, fastest: dict[str, float], whole: str, step):
    """Run `step` on a TimedConnection, then a CHECKPOINT; keep each statement's fastest seconds."""
    timed = TimedConnection(con)
    started = time.perf_counter()
    result = step(timed)
    timed.seconds[whole] = time.perf_counter() - started
    started = time.perf_counter()
    con.execute("CHECKPOINT")
    timed.seconds["CHECKPOINT"] = time.perf_counter() - started
    for statement, seconds in timed.seconds.items():
        fastest[statement] = min(fastest.get(statement, seconds), seconds)
    return result


def _print_costliest(fastest: dict[str, float], whole: str, shown: int) -> None:
    always = (whole, "COMMIT", "CHECKPOINT")
    statements = sorted((step for step in fastest if step not in always), key=fastest.get)
    for step in [*always, *reversed(statements[-shown:])]:
        print(f"{fastest[step]:6.3f} s  {step}")


if __name__ == "__main__":
    main()
