"""Load: one (account, date) from the landing area into the raw tables, in one transaction.

Loading is idempotent: every kind is replaced for its (account, date) (the lists and profiles by
dropping and recreating the date's partition, pipeline/partitions.py; the rest by delete and
insert), so a rerun or an out-of-order backfill leaves the same rows. The transform later
rebuilds core and marts from the earliest date loaded since it last ran
(meta.pending_transform).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from pipeline import landing, partitions, retention
from pipeline.config import Account, Settings
from pipeline.warehouse import bind, transaction

LIST_KINDS = ("followers", "following")

# For each landing kind: the raw table (or view over partitions), its date column, and the SELECT
# over the Parquet file.
_INSERTS = {
    "followers": (
        "raw.follower_snapshot",
        "snapshot_date",
        "SELECT $account_id, $snapshot_date, CAST(user_id AS BIGINT) FROM read_parquet($path)",
    ),
    "following": (
        "raw.following_snapshot",
        "snapshot_date",
        "SELECT $account_id, $snapshot_date, CAST(user_id AS BIGINT) FROM read_parquet($path)",
    ),
    "users": (
        "raw.users",
        "observed_on",
        """SELECT $account_id, $snapshot_date, CAST(user_id AS BIGINT) AS user_id, username,
                  created_at, followers_count, following_count, tweet_count, default_avatar,
                  description, protected, verified, status
           FROM read_parquet($path)""",
    ),
    "tweets": (
        "raw.tweets",
        "snapshot_date",
        """SELECT $account_id, $snapshot_date, CAST(tweet_id AS BIGINT), CAST(author_id AS BIGINT),
                  created_at, text, CAST(conversation_id AS BIGINT),
                  CAST(in_reply_to_user_id AS BIGINT), referenced_type, like_count,
                  retweet_count, reply_count
           FROM read_parquet($path)""",
    ),
    "replies": (
        "raw.replies",
        "snapshot_date",
        """SELECT $account_id, $snapshot_date, CAST(reply_id AS BIGINT),
                  CAST(conversation_id AS BIGINT), CAST(in_reply_to_tweet_id AS BIGINT),
                  CAST(author_id AS BIGINT), created_at, text
           FROM read_parquet($path)""",
    ),
    "truth_episodes": (
        "truth.churn_episodes",
        "unfollowed_on",
        """SELECT $account_id, CAST(user_id AS BIGINT), followed_on, unfollowed_on
           FROM read_parquet($path)""",
    ),
}


class MissingExtractError(RuntimeError):
    """A landing partition the load needs was never finished."""


@dataclass
class LoadResult:
    account_id: int
    snapshot_date: date
    statuses: dict[str, str]
    rows: dict[str, int]


def users_select() -> str:
    """The SELECT that reads one date's landing profiles as raw.users rows."""
    return _INSERTS["users"][2]


def finished_manifests(
    settings: Settings, account: Account, snapshot_date: date, kinds
) -> dict[str, landing.Manifest]:
    manifests = {}
    for kind in kinds:
        manifest = landing.read_manifest(settings.landing_dir, kind, account.handle, snapshot_date)
        if manifest is not None:
            manifests[kind] = manifest
    return manifests


def load_day(
    con: duckdb.DuckDBPyConnection,
    account: Account,
    snapshot_date: date,
    settings: Settings,
    kinds=landing.KINDS,
    statuses: dict[str, str] | None = None,
) -> LoadResult:
    """Load every finished landing partition of (account, date) in one transaction.

    `statuses` lets validation mark a list 'quarantined' or 'incomplete': such a list is recorded
    in meta.snapshots but its rows are not loaded, so it can never close an interval. No
    quarantined batch is loaded, and one never replaces a batch already loaded complete.
    """
    manifests = finished_manifests(settings, account, snapshot_date, kinds)
    missing = [k for k in LIST_KINDS if k in kinds and k not in manifests]
    if missing:
        raise MissingExtractError(
            f"{account.handle} {snapshot_date}: no finished extract for {', '.join(missing)} in "
            f"{settings.landing_dir}. Run the extract for that date first."
        )
    account_ids = {m.account_id for m in manifests.values()}
    if len(account_ids) != 1:
        raise MissingExtractError(
            f"{account.handle} {snapshot_date}: landing partitions disagree on the account id "
            f"({sorted(account_ids)}); re-extract the date."
        )
    account_id = int(account_ids.pop())
    statuses = dict(statuses or {})
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    rows: dict[str, int] = {}
    with (
        transaction(con),
        retention.restoring(con, account, account_id, snapshot_date, settings),
    ):
        con.execute(
            "INSERT INTO meta.accounts VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE "
            "SET handle = excluded.handle, source = excluded.source",
            [account_id, account.handle, account.source],
        )
        _store_question_overrides(con, account_id, account.questions)
        for kind, manifest in manifests.items():
            status = statuses.get(kind) or ("complete" if manifest.completed else "incomplete")
            statuses[kind] = status
            if status == "quarantined" and _loaded_complete(con, account_id, snapshot_date, kind):
                # A failed re-extract never replaces a batch that already loaded complete.
                continue
            path = str(landing.data_path(settings.landing_dir, kind, account.handle, snapshot_date))
            params = {"account_id": account_id, "snapshot_date": snapshot_date}
            if kind == "truth_users":
                # The planted population never changes, so keep the first sighting of each user.
                con.execute(
                    """INSERT INTO truth.users
                       SELECT $account_id, CAST(l.user_id AS BIGINT), l.population
                       FROM read_parquet($path) l
                       ANTI JOIN (SELECT user_id FROM truth.users WHERE account_id = $account_id) t
                         ON t.user_id = CAST(l.user_id AS BIGINT)""",
                    {"account_id": account_id, "path": path},
                )
            else:
                table, date_column, select = _INSERTS[kind]
                # A quarantined batch never reaches the raw tables, nor an incomplete list.
                inserting = status == "complete" or (
                    status == "incomplete" and kind not in LIST_KINDS
                )
                if kind in _CONVERSATION_IDS:
                    _record_dropped_conversations(con, kind, params, path if inserting else None)
                if table in partitions.DATE_COLUMNS:
                    partitions.drop(con, table, account_id, snapshot_date)
                    if inserting:
                        table = partitions.create(con, table, account_id, snapshot_date)
                else:
                    con.execute(
                        f"DELETE FROM {table} WHERE account_id = $account_id "
                        f"AND {date_column} = $snapshot_date",
                        params,
                    )
                if inserting:
                    insert = f"INSERT INTO {table} {select}"
                    con.execute(insert, bind(insert, {**params, "path": path}))
            rows[kind] = manifest.row_count
            con.execute(
                "DELETE FROM meta.snapshots "
                "WHERE account_id = ? AND snapshot_date = ? AND kind = ?",
                [account_id, snapshot_date, kind],
            )
            con.execute(
                "INSERT INTO meta.snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    account_id,
                    snapshot_date,
                    kind,
                    manifest.source,
                    manifest.row_count,
                    manifest.expected_count,
                    status,
                    _naive(manifest.extracted_at),
                    _naive(manifest.fetched_at),
                    loaded_at,
                    manifest.requests,
                    manifest.resources,
                    manifest.cost_usd,
                    # Sources without a scan policy read every page.
                    manifest.details.get("scan", "full") if kind in LIST_KINDS else None,
                ],
            )
        con.execute(
            """INSERT INTO meta.pending_transform VALUES (?, ?)
               ON CONFLICT (account_id) DO UPDATE
               SET dirty_from = least(pending_transform.dirty_from, excluded.dirty_from)""",
            [account_id, snapshot_date],
        )
    return LoadResult(account_id, snapshot_date, statuses, rows)


# The kinds whose rows belong to conversations, and each row's id.
_CONVERSATION_IDS = {"tweets": "tweet_id", "replies": "reply_id"}


def _record_dropped_conversations(
    con: duckdb.DuckDBPyConnection, kind: str, params: dict, new_path: str | None
) -> None:
    """Note the conversations of the date's loaded rows that the new batch (at new_path; None:
    nothing replaces them) no longer holds. No row would otherwise tell the question marts to
    recompute them; a rerun of the same batch notes nothing."""
    table, date_column, _ = _INSERTS[kind]
    row_id = _CONVERSATION_IDS[kind]
    kept = (
        f"AND NOT EXISTS (SELECT 1 FROM read_parquet($path) AS new "
        f"WHERE CAST(new.{row_id} AS BIGINT) = old.{row_id})"
        if new_path
        else ""
    )
    sql = f"""INSERT INTO meta.replaced_conversations
              SELECT DISTINCT old.account_id, old.conversation_id FROM {table} AS old
              WHERE old.account_id = $account_id AND old.{date_column} = $snapshot_date
                AND old.conversation_id IS NOT NULL {kept}
              ON CONFLICT DO NOTHING"""
    con.execute(sql, bind(sql, {**params, "path": new_path}))


def _loaded_complete(
    con: duckdb.DuckDBPyConnection, account_id: int, snapshot_date: date, kind: str
) -> bool:
    return con.execute(
        "SELECT count(*) > 0 FROM meta.snapshots WHERE account_id = ? AND snapshot_date = ? "
        "AND kind = ? AND status = 'complete'",
        [account_id, snapshot_date, kind],
    ).fetchone()[0]


def _store_question_overrides(
    con: duckdb.DuckDBPyConnection, account_id: int, questions: dict[str, bool]
) -> None:
    """Record the tweets the accounts file names as questions (or not) for the question marts.

    A tweet named before but no longer keeps a NULL row, so the marts know to recompute it.
    """
    con.execute(
        "UPDATE meta.question_overrides SET is_question = NULL WHERE account_id = ?", [account_id]
    )
    for tweet_id, is_question in questions.items():
        con.execute(
            "INSERT INTO meta.question_overrides VALUES (?, ?, ?) "
            "ON CONFLICT (account_id, tweet_id) DO UPDATE SET is_question = excluded.is_question",
            [account_id, tweet_id, is_question],
        )


def _naive(timestamp: str | None) -> datetime | None:
    if timestamp is None:
        return None
    moment = datetime.fromisoformat(timestamp)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
