"""The raw lists and profiles, stored as one table per (account, date) behind the raw.* views.

raw.follower_snapshot, raw.following_snapshot and raw.users are views. Each reads every partition
`raw_days.<table>_<account_id>_<yyyymmdd>`, which holds one loaded date as extracted, and its base
table in schema raw_days: for raw.users, the old profiles that compaction keeps of dropped
partitions and those `retention.restoring` reads back from the landing area; the lists' bases
stay empty. So a date leaving the raw window is a DROP TABLE, which DuckDB checkpoints in 0.02 s,
where a DELETE of its rows (11M list rows and 11M profiles at 10M followers) had to be written to
the WAL and checkpointed. What that saves a day is measured in docs/performance.md ("One table
per day"): 0.1-0.4 s at 1M, within the noise at 10M.

raw.users also reads the kept tables `raw_days.users_kept_<account_id>_<yyyymmdd>`: what
compaction keeps of one dropped date, for the days in which most of it can still be dropped (a
follow kept as possibly short outlasts the churn window). Those deletes, made in the base table,
had the checkpoint's vacuum rewrite the base's last row groups: up to 0.3 s a day at 10M. A
kept table is a single row group, which the vacuum leaves alone, and it moves into the base (an
append) once its rows are settled.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb

SCHEMA = "raw_days"
# Each view, and the column that dates its rows.
DATE_COLUMNS = {
    "raw.follower_snapshot": "snapshot_date",
    "raw.following_snapshot": "snapshot_date",
    "raw.users": "observed_on",
}
_PARTITION = re.compile(r"(?P<table>[a-z_]+)_(?P<account_id>\d+)_(?P<day>\d{8})")
_KEPT = "_kept"


def _table_name(view: str) -> str:
    return view.split(".")[1]


def base(view: str) -> str:
    """The table of `view`'s rows kept or restored outside the partitions."""
    return f"{SCHEMA}.{_table_name(view)}"


def partition_name(view: str, account_id: int, day: date) -> str:
    return f"{base(view)}_{account_id}_{day:%Y%m%d}"


def kept_name(view: str, account_id: int, day: date) -> str:
    return f"{base(view)}{_KEPT}_{account_id}_{day:%Y%m%d}"


def partitions(
    con: duckdb.DuckDBPyConnection,
    view: str,
    account_id: int | None = None,
    through: date = date.max,
) -> list[tuple[int, date, str]]:
    """(account id, date, table) of `view`'s partitions up to `through`, by date."""
    return _dated_tables(con, _table_name(view), account_id, through)


def kept_tables(
    con: duckdb.DuckDBPyConnection,
    view: str,
    account_id: int | None = None,
    through: date = date.max,
) -> list[tuple[int, date, str]]:
    """(account id, date, table) of `view`'s kept tables up to `through`, by date."""
    return _dated_tables(con, _table_name(view) + _KEPT, account_id, through)


def _dated_tables(
    con: duckdb.DuckDBPyConnection, table: str, account_id: int | None, through: date
) -> list[tuple[int, date, str]]:
    found = []
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND NOT temporary",
        [SCHEMA],
    ).fetchall():
        match = _PARTITION.fullmatch(name)
        if match and match["table"] == table:
            owner = int(match["account_id"])
            day = datetime.strptime(match["day"], "%Y%m%d").date()
            if (account_id is None or owner == account_id) and day <= through:
                found.append((owner, day, f"{SCHEMA}.{name}"))
    return sorted(found, key=lambda found_partition: (found_partition[1], found_partition[0]))


def create(
    con: duckdb.DuckDBPyConnection, view: str, account_id: int, day: date, kept: bool = False
) -> str:
    """An empty partition of (account, date), or its kept table, with the base table's columns
    and NOT NULLs; the view reads it at once."""
    name = (kept_name if kept else partition_name)(view, account_id, day)
    definitions = ", ".join(
        f"{column} {data_type}" + ("" if nullable else " NOT NULL")
        for column, data_type, nullable in _base_columns(con, view)
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({definitions})")
    _refresh(con, view)
    return name


def drop(con: duckdb.DuckDBPyConnection, view: str, account_id: int, day: date) -> None:
    """Remove every row of (account, date) from `view`: its partition, kept table, base rows."""
    con.execute(f"DROP TABLE IF EXISTS {partition_name(view, account_id, day)}")
    con.execute(f"DROP TABLE IF EXISTS {kept_name(view, account_id, day)}")
    con.execute(
        f"DELETE FROM {base(view)} WHERE account_id = ? AND {DATE_COLUMNS[view]} = ?",
        [account_id, day],
    )
    _refresh(con, view)


def drop_partitions(con: duckdb.DuckDBPyConnection, view: str, names: list[str]) -> None:
    """Drop partitions whose needed rows compaction has kept in the base."""
    for name in names:
        con.execute(f"DROP TABLE {name}")
    _refresh(con, view)


def settle(con: duckdb.DuckDBPyConnection, view: str, names: list[str]) -> None:
    """Move the rows of kept tables into the base table, and drop them."""
    column_list = columns(con, view)
    for name in names:
        con.execute(f"INSERT INTO {base(view)} SELECT {column_list} FROM {name}")
        con.execute(f"DROP TABLE {name}")
    _refresh(con, view)


def compacted(con: duckdb.DuckDBPyConnection, view: str) -> str:
    """A subquery of what compaction kept of `view`'s dropped dates: base and kept tables."""
    column_list = columns(con, view)
    sources = [base(view), *(name for _, _, name in kept_tables(con, view))]
    return "(" + " UNION ALL ".join(f"SELECT {column_list} FROM {s}" for s in sources) + ")"


def columns(con: duckdb.DuckDBPyConnection, view: str) -> str:
    return ", ".join(name for name, _, _ in _base_columns(con, view))


def _base_columns(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of the base table's columns, which every partition has."""
    return con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [SCHEMA, _table_name(view)],
    ).fetchall()


def _refresh(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """Point `view` at its base table and current partitions, keeping its comment."""
    column_list = columns(con, view)
    comment = con.execute(
        "SELECT comment FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = ? AND view_name = ?",
        view.split("."),
    ).fetchone()
    sources = [
        base(view),
        *(name for _, _, name in kept_tables(con, view)),
        *(name for _, _, name in partitions(con, view)),
    ]
    con.execute(
        f"CREATE OR REPLACE VIEW {view} AS "
        + " UNION ALL ".join(f"SELECT {column_list} FROM {source}" for source in sources)
    )
    if comment and comment[0]:
        quoted = comment[0].replace("'", "''")
        con.execute(f"COMMENT ON VIEW {view} IS '{quoted}'")


def rename_plain_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rename the raw lists and profiles of a warehouse from before partitions, which are plain
    tables, out of the views' way (to raw.<name>_unpartitioned); the views they were."""
    plain = [
        view
        for view in DATE_COLUMNS
        if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            view.split("."),
        ).fetchone()[0]
    ]
    for view in plain:
        con.execute(f"ALTER TABLE {view} RENAME TO {_table_name(view)}_unpartitioned")
    return plain


def adopt(con: duckdb.DuckDBPyConnection, views: list[str]) -> None:
    """Move the rows of the tables `rename_plain_tables` renamed into this layout: each (account,
    date) into its partition, except the profiles the last compaction kept (dates up to its
    horizon, and not loaded since), which go to the base table as if compacted here. In
    partitions, the next compaction would judge every one of them again: 35 s on the first day at
    10M followers, for the same rows."""
    compacted_until = dict(
        con.execute(
            "SELECT account_id, CASE WHEN dirty_from <= horizon THEN dirty_from - 1 "
            "ELSE horizon END "
            "FROM meta.raw_compaction LEFT JOIN meta.pending_transform USING (account_id)"
        ).fetchall()
    )
    for view in views:
        plain, date_column = f"{view}_unpartitioned", DATE_COLUMNS[view]
        column_list = columns(con, view)
        for account_id, day in con.execute(
            f"SELECT DISTINCT account_id, {date_column} FROM {plain} ORDER BY ALL"
        ).fetchall():
            if view == "raw.users" and day <= compacted_until.get(account_id, date.min):
                target = base(view)
            else:
                target = create(con, view, account_id, day)
            con.execute(
                f"INSERT INTO {target} SELECT {column_list} "
                f"FROM {plain} WHERE account_id = ? AND {date_column} = ?",
                [account_id, day],
            )
        con.execute(f"DROP TABLE {plain}")
        _refresh(con, view)
