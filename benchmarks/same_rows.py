"""Whether two warehouses hold the same rows: how a change to storage or compaction is checked at
scale against the code before it, on copies of one bench directory run on by each.

    python -m benchmarks.same_rows A.duckdb B.duckdb

Compares every table of core, mart, meta and truth, and the raw views, row for row (EXCEPT ALL
both ways). meta.snapshots is compared without its extracted_at and loaded_at: they are the
clock of the run, not data. Prints a line per relation and exits 1 when any differs.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

COMPARED_SCHEMAS = ("core", "mart", "meta", "truth")
RAW_VIEWS = ("raw.users", "raw.follower_snapshot", "raw.following_snapshot")
RUN_CLOCK = {"meta.snapshots": "EXCLUDE (extracted_at, loaded_at)"}


def differing_rows(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, int, int]:
    """(rows in a, rows only in a, rows only in b) of `relation` in the attached a and b."""
    columns = f"* {RUN_CLOCK.get(relation, '')}"
    only = [
        con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {first}.{relation} "
            f"EXCEPT ALL SELECT {columns} FROM {second}.{relation})"
        ).fetchone()[0]
        for first, second in (("a", "b"), ("b", "a"))
    ]
    rows = con.execute(f"SELECT count(*) FROM a.{relation}").fetchone()[0]
    return rows, only[0], only[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    con = duckdb.connect()
    for name, path in (("a", args.a), ("b", args.b)):
        con.execute(f"ATTACH '{path}' AS {name} (READ_ONLY)")
    tables = [
        f"{schema}.{table}"
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'a' "
            f"AND schema_name IN {COMPARED_SCHEMAS} ORDER BY ALL"
        ).fetchall()
    ]
    differing = 0
    for relation in [*tables, *RAW_VIEWS]:
        rows, only_a, only_b = differing_rows(con, relation)
        differing += bool(only_a or only_b)
        print(f"{relation}: {rows:,} rows, {only_a:,} only in a, {only_b:,} only in b")
    print(f"{differing} relations differ")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
