"""The DuckDB warehouse: opening it (clearly refusing when another process holds it), its DDL."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline import partitions
from pipeline.config import PROJECT_ROOT, Settings

SQL_DIR = PROJECT_ROOT / "sql"
_PARAMETER = re.compile(r"\$([a-z_]+)")


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file."""


def _holder(message: str) -> str:
    match = re.search(r"PID (\d+)", message)
    if not match:
        return "another process"
    pid = match.group(1)
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        command = ""
    return f"process {pid}" + (f" ({command[:120]})" if command else "")


def connect(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(settings.db_path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"No warehouse at {path}: run `followback demo` or a load first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(path), read_only=read_only, config={"memory_limit": settings.duckdb_memory_limit}
        )
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        raise WarehouseLockedError(
            f"The warehouse {path} is locked by {_holder(str(error))}. DuckDB allows one writing "
            "process: close that session (or open it read-only) and run again."
        ) from error
    # DuckDB draws a progress bar on any statement over 2 s (a 10M account's load has several):
    # terminal escapes in whatever captures a task's output, such as its log.
    con.execute("SET enable_progress_bar = false")
    if not read_only:
        try:
            # A warehouse from before pipeline/partitions.py has plain tables where the raw views
            # go: one transaction moves it, or leaves it as it was.
            with transaction(con):
                unpartitioned = partitions.rename_plain_tables(con)
                con.execute((SQL_DIR / "schema.sql").read_text())
                partitions.adopt(con, unpartitioned)
        except BaseException:
            con.close()  # so that a retry is not locked out by this connection
            raise
    return con


def bind(sql: str, parameters: dict) -> dict:
    """The named parameters a statement uses (DuckDB refuses unused ones)."""
    return {name: parameters[name] for name in set(_PARAMETER.findall(sql))}


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def open_warehouse(settings: Settings, read_only: bool = False):
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
