"""Hand-built warehouses for the mart tests: rows go straight into the raw and meta tables (the
lists and profiles into their date's partition, pipeline/partitions.py).

Each test states its followers and following lists day by day and writes the rows it expects by
hand, so the marts are checked against the definitions, not against themselves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from pipeline import partitions, transform
from pipeline.config import Settings

# A Monday, so ISO cohort weeks start on day(0), day(7), ...
DAY0 = date(2026, 3, 2)
ACCOUNT_ID = 7000


def day(n: int) -> date:
    return DAY0 + timedelta(days=n)


def at(n: int, hours: float = 0.0) -> datetime:
    return datetime.combine(day(n), datetime.min.time()) + timedelta(hours=hours)


class Scenario:
    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings):
        self.con = con
        self.settings = settings
        con.execute("INSERT INTO meta.accounts VALUES (?, 'hand_built', 'simulated')", [ACCOUNT_ID])

    def _snapshot(
        self, n: int, kind: str, rows: int, status: str, fetched_at=None, scan=None
    ) -> None:
        self.con.execute(
            "DELETE FROM meta.snapshots WHERE account_id = ? AND snapshot_date = ? AND kind = ?",
            [ACCOUNT_ID, day(n), kind],
        )
        self.con.execute(
            "INSERT INTO meta.snapshots (account_id, snapshot_date, kind, source, row_count, "
            "status, fetched_at, loaded_at, scan) VALUES (?, ?, ?, 'simulated', ?, ?, ?, ?, ?)",
            [ACCOUNT_ID, day(n), kind, rows, status, fetched_at, fetched_at or at(n + 1), scan],
        )
        self.con.execute(
            """INSERT INTO meta.pending_transform VALUES (?, ?)
               ON CONFLICT (account_id) DO UPDATE
               SET dirty_from = least(pending_transform.dirty_from, excluded.dirty_from)""",
            [ACCOUNT_ID, day(n)],
        )

    def lists(
        self,
        n: int,
        followers: set[int] | None,
        following: set[int] | None,
        incomplete: tuple[str, ...] = (),
        incremental: tuple[str, ...] = (),
    ) -> None:
        """Day n's lists; None leaves a list out (a gap). An incomplete list is recorded with
        partial rows, which must never count. An incremental list read only the newest pages."""
        for kind, table, members in (
            ("followers", "raw.follower_snapshot", followers),
            ("following", "raw.following_snapshot", following),
        ):
            if members is None:
                continue
            partition = partitions.create(self.con, table, ACCOUNT_ID, day(n))
            for user_id in sorted(members):
                self.con.execute(
                    f"INSERT INTO {partition} VALUES (?, ?, ?)", [ACCOUNT_ID, day(n), user_id]
                )
            status = "incomplete" if kind in incomplete else "complete"
            scan = "incremental" if kind in incremental else "full"
            self._snapshot(n, kind, len(members), status, at(n + 1), scan)

    def profile(self, n: int, user_id: int, following_count: int, followers_count: int) -> None:
        partition = partitions.create(self.con, "raw.users", ACCOUNT_ID, day(n))
        self.con.execute(
            f"INSERT INTO {partition} (account_id, observed_on, user_id, following_count, "
            "followers_count) VALUES (?, ?, ?, ?, ?)",
            [ACCOUNT_ID, day(n), user_id, following_count, followers_count],
        )

    def tweet(
        self,
        n: int,
        tweet_id: int,
        posted_at: datetime,
        text: str,
        referenced_type: str | None = None,
        in_reply_to_user_id: int | None = None,
    ) -> None:
        """Tweet as returned by day n's extract (the same tweet may come back on several days)."""
        self.con.execute(
            "INSERT INTO raw.tweets (account_id, snapshot_date, tweet_id, author_id, created_at, "
            "text, conversation_id, in_reply_to_user_id, referenced_type) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ACCOUNT_ID,
                day(n),
                tweet_id,
                ACCOUNT_ID,
                posted_at,
                text,
                tweet_id,
                in_reply_to_user_id,
                referenced_type,
            ],
        )

    def reply(self, n: int, reply_id: int, conversation_id: int, author_id: int, created_at):
        self.con.execute(
            "INSERT INTO raw.replies VALUES (?, ?, ?, ?, ?, ?, ?, 'an answer')",
            [ACCOUNT_ID, day(n), reply_id, conversation_id, conversation_id, author_id, created_at],
        )

    def replies_fetched(self, n: int, fetched_at: datetime) -> None:
        self._snapshot(n, "replies", 0, "complete", fetched_at)

    def transform(self) -> None:
        transform.transform_account(self.con, ACCOUNT_ID, self.settings)

    def rows(self, table: str, columns: str, order_by: str) -> list[tuple]:
        return self.con.execute(
            f"SELECT {columns} FROM {table} WHERE account_id = ? ORDER BY {order_by}", [ACCOUNT_ID]
        ).fetchall()
