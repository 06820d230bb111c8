"""How many deleted rows DuckDB keeps in core.follow_edges as history grows, with its write pattern.

    python -m benchmarks.dead_rows [--rows 1200000] [--closed-share 0.001] [--days 1000]

The follow_edges model closes an interval by deleting its open row and inserting the closed one,
so each day deletes rows scattered over the whole table: 0.1% of them at 10M followers, who lose
0.1% a day. A deleted row stays in its row group, and every full scan of the table reads it,
until a checkpoint's vacuum merges neighbouring row groups whose live rows fit into fewer.
Running the real pipeline for years at 10M is out of reach, so this replays that write pattern,
at the same rates, on a table of core.follow_edges' columns: each day it closes `--closed-share`
of the open intervals at random, opens as many new ones plus `--growth-share`, and checkpoints,
as a daily run does. Every 50 days it prints the live rows, the rows stored and the dead share:
whether the dead rows grow without end or the vacuum bounds them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import duckdb

RESULTS = Path(__file__).parent / "results" / "dead_rows.json"

# DuckDB samples before it filters, so the open intervals are picked first.
_CLOSE = """
CREATE OR REPLACE TEMP TABLE closing AS
SELECT user_id, valid_from
FROM (SELECT user_id, valid_from FROM follow_edges WHERE valid_to IS NULL)
USING SAMPLE {count} ROWS
"""


def stored_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows in the table's row groups, deleted ones included."""
    return con.execute(
        "SELECT sum(count) FROM pragma_storage_info('follow_edges') "
        "WHERE column_id = 0 AND segment_type <> 'VALIDITY'"
    ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--closed-share", type=float, default=0.001)
    parser.add_argument("--growth-share", type=float, default=0.001)
    parser.add_argument("--days", type=int, default=1000)
    args = parser.parse_args()
    closed = round(args.rows * args.closed_share)
    opened = closed + round(args.rows * args.growth_share)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect(str(Path(scratch) / "dead_rows.duckdb"))
        con.execute(
            "CREATE TABLE follow_edges AS SELECT 1::BIGINT AS account_id, range AS user_id, "
            "'follower' AS direction, DATE '2026-01-01' AS valid_from, NULL::DATE AS valid_to "
            f"FROM range({args.rows})"
        )
        con.execute("CHECKPOINT")
        next_user = args.rows
        for day in range(1, args.days + 1):
            con.execute(_CLOSE.format(count=closed))
            con.execute(
                "DELETE FROM follow_edges WHERE valid_to IS NULL "
                "AND user_id IN (SELECT user_id FROM closing)"
            )
            con.execute(
                "INSERT INTO follow_edges SELECT 1, user_id, 'follower', valid_from, "
                "DATE '2026-01-01' + $day FROM closing",
                {"day": day},
            )
            con.execute(
                "INSERT INTO follow_edges SELECT 1, range, 'follower', DATE '2026-01-01' + $day, "
                "NULL FROM range($first, $last)",
                {"day": day, "first": next_user, "last": next_user + opened},
            )
            next_user += opened
            con.execute("CHECKPOINT")
            if day % 50 == 0:
                live = con.execute("SELECT count(*) FROM follow_edges").fetchone()[0]
                stored = stored_rows(con)
                rows.append({"day": day, "live": live, "stored": stored})
                print(f"day {day}: {live:,} live, {stored:,} stored, {stored / live - 1:.1%} dead")
        con.close()
    RESULTS.write_text(json.dumps({**vars(args), "by_day": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
