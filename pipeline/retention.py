"""Retention of the raw tables: full detail for recent days, and beyond that only what is needed.

A big account's raw tables would otherwise grow with followers x days: every day loads its whole
followers list and a profile per user. So, per account, the raw tables keep every row of the last
`raw_retention_days` days (counted back from the latest loaded date), and of older days:

- raw.follower_snapshot / raw.following_snapshot: nothing. core.follow_edges holds every list
  exactly (the list of a complete snapshot date is the intervals alive on it), and the
  follow_edges model reads a dropped list back from there.
- raw.users: each user's latest observation, and of each follow that lasted (or may still last)
  at most churn_window_days, the first and the last observation with counts made during it: the
  profiles mart.churners reads. Other observations are dropped.

`compact` applies this in each transform, once core.follow_edges agrees with every loaded date and
before the marts (which read only profiles it keeps). Each loaded date is a table of its own
(pipeline/partitions.py), so a day that leaves the window is dropped whole, once its still-needed
profiles are copied to a kept table of their own (settled into the base table once few of them can
still be dropped). It judges again only the old observations of the users whose need can have
changed since the last compaction (a full rebuild's cutoff, or a new churn window, makes that
everyone), so it no longer checks every profile that history keeps each day. A rerun or an
out-of-order backfill can change follows long gone, so `restoring` first re-reads, from the landing
Parquet, the profiles its changes make needed again. So the tables depend only on what was loaded,
never on the order: the same as one in-order run.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import duckdb

from pipeline import landing, partitions
from pipeline.config import Account, Settings
from pipeline.warehouse import bind

# Where the old profiles that compaction has settled, and those `restoring` reads back, are stored.
_SETTLED_PROFILES = partitions.base("raw.users")

# Follows that mart.churners may read profiles of: short ones (at most churn_window_days), and
# open ones that could still end short at the next snapshot. A follow already in the first
# snapshot has no known start, so it is never a churn episode.
_SHORT_FOLLOWS = """
    SELECT user_id, valid_from, valid_to FROM core.follow_edges
    WHERE account_id = $account_id
      AND direction = 'follower'
      AND valid_from > $first_snapshot
      AND coalesce(valid_to, $next_snapshot) - valid_from <= $churn_window_days
"""

# Two passes, so that no join is built over every old row more than once. First the bulk: each
# partition (one loaded date, pipeline/partitions.py) that left the window keeps, in a kept table
# of its date, the profiles of users not seen again on the window's first day and those that can
# be the first or the last profile with counts of a short follow, and is dropped. Then the few
# rows left in the base and kept tables (what compaction kept: `compacted`).
#
# mart.churners reads only the first and the last profile with counts of a follow, so a day's
# profile in a follow that already has an earlier one with counts kept, and a later one with
# counts on the window's first day, is not kept: it can be neither, and a row not copied is
# neither written nor deleted again, which the commit's checkpoint pays for. The bulk pass keeps
# a superset (a follow's last profile can be kept already, after a backfill); the second pass
# applies the exact rule.
#
# The second pass looks only at the users whose old rows can have become droppable since the last
# compaction (`compaction_users`), not at every old row: those kept as a departed user's latest
# profile or for a short follow pile up with history (0.9M users on day 91 at 10M followers,
# 10-18k users more a day). Everything older than $near_from was judged by an earlier
# compaction (or read back by `restoring` as a user's latest) and stays needed unless its user is
# observed again, on a date after $changed_after (as every date loaded since the last transform
# is). Every row that is kept (from a partition after the last horizon, or restored by
# `restoring` near a change, after $near_from) lies inside the second pass's scope until a
# compaction has judged it against the days after it. The bulk pass reads what was kept only for
# the earlier profiles of the leaving day's short follows: a few thousand users at 10M followers.
#
# The kept users are found on their ids before any profile is read: a filter that carried every
# column of the partition through the joins over 11M ids cost 0.1-0.2 s more at 10M followers.
_KEEP_FROM_PARTITION = f"""
INSERT INTO {{kept_table}}
WITH short_follows_on_leaving_day AS (
    SELECT user_id, valid_from, valid_to FROM ({_SHORT_FOLLOWS}) AS follow
    WHERE follow.valid_from <= $leaving_day
      AND (follow.valid_to IS NULL OR follow.valid_to > $leaving_day)
),
users_counted_earlier_in_follow AS (
    SELECT earlier.user_id FROM {{compacted}} AS earlier
    INNER JOIN short_follows_on_leaving_day AS follow
        ON follow.user_id = earlier.user_id
        AND earlier.observed_on >= follow.valid_from
        AND earlier.observed_on < $leaving_day
    WHERE earlier.account_id = $account_id
      AND earlier.following_count IS NOT NULL AND earlier.followers_count IS NOT NULL
),
users_counted_on_first_kept AS (
    SELECT later.user_id FROM raw.users AS later
    INNER JOIN short_follows_on_leaving_day AS follow
        ON follow.user_id = later.user_id
        AND (follow.valid_to IS NULL OR follow.valid_to > $first_kept)
    WHERE later.account_id = $account_id AND later.observed_on = $first_kept
      AND later.following_count IS NOT NULL AND later.followers_count IS NOT NULL
)
SELECT {{columns}} FROM {{partition}}
WHERE user_id IN (
    SELECT user_id FROM departed_users
    UNION
    (SELECT user_id FROM short_follows_on_leaving_day
     EXCEPT
     (SELECT user_id FROM users_counted_earlier_in_follow
      INTERSECT
      SELECT user_id FROM users_counted_on_first_kept)))
"""

# Who a leaving day shows and the window's first day does not. A full read profiles exactly the
# users of its lists, so those who can differ are the few whose follows started or ended in
# between (`movers`, 31k at 10M followers). The count and the sum of the hashes of everyone else's
# ids on the two days confirm it: they match when the rest are on both days or on neither (and
# otherwise only by a 64-bit hash collision). When they do not (an incremental read profiles only
# the newest pages; a profile can come with no list), the two days' ids are compared in full.
# Comparing all 11M ids of the two days took 0.5 s at 10M followers. This takes 0.15 s: per day,
# a semi join of its ids with the movers and a plain aggregate of its ids (everyone's digest less
# the movers'; a digest of the others through an anti join probed 11M ids again, 0.19 s more).
# Measured on day 91 of the 90-day warehouse (docs/performance.md, "2026-12-04, later").
_MOVERS = """
CREATE OR REPLACE TEMP TABLE movers AS
SELECT DISTINCT user_id FROM core.follow_edges
WHERE account_id = $account_id
  AND ((valid_from > $leaving_day AND valid_from <= $first_kept)
       OR (valid_to > $leaving_day AND valid_to <= $first_kept))
"""
_FIRST_KEPT_IDS = (
    "SELECT user_id FROM raw.users WHERE account_id = $account_id AND observed_on = $first_kept"
)
_DIGEST = "SELECT count(*), coalesce(sum(hash(user_id)::HUGEINT), 0) FROM ({ids})"
_PRESENT_MOVERS = """
CREATE OR REPLACE TEMP TABLE {table} AS
SELECT user_id FROM ({ids}) SEMI JOIN movers USING (user_id)
"""
_DEPARTED_MOVERS = """
CREATE OR REPLACE TEMP TABLE departed_users AS
SELECT user_id FROM leaving_movers EXCEPT SELECT user_id FROM first_kept_movers
"""
_DEPARTED_ANYONE = f"""
CREATE OR REPLACE TEMP TABLE departed_users AS
SELECT user_id FROM {{partition}}
EXCEPT
{_FIRST_KEPT_IDS}
"""

_COMPACT_USERS = (
    """
CREATE OR REPLACE TEMP TABLE compaction_users AS
SELECT user_id FROM raw.users
WHERE account_id = $account_id AND observed_on BETWEEN $near_from AND $horizon
UNION
SELECT user_id FROM raw.users
WHERE account_id = $account_id
  AND observed_on > $changed_after
  AND user_id IN (
      SELECT user_id FROM raw.users
      WHERE account_id = $account_id AND observed_on < $near_from)
""",
    """
CREATE OR REPLACE TEMP TABLE compaction_observations AS
SELECT user_id, observed_on,
    following_count IS NOT NULL AND followers_count IS NOT NULL AS counted
FROM raw.users
WHERE account_id = $account_id AND user_id IN (SELECT user_id FROM compaction_users)
""",
    f"""
CREATE OR REPLACE TEMP TABLE needed_observations AS
WITH latest_observations AS (
    SELECT user_id, max(observed_on) AS observed_on
    FROM compaction_observations
    GROUP BY user_id
),
short_follow_bounds AS (
    SELECT follow.user_id,
        min(observation.observed_on) AS first_counted_on,
        max(observation.observed_on) AS last_counted_on
    FROM ({_SHORT_FOLLOWS}) AS follow
    INNER JOIN compaction_observations AS observation
        ON observation.user_id = follow.user_id
        AND observation.observed_on >= follow.valid_from
        AND (follow.valid_to IS NULL OR observation.observed_on < follow.valid_to)
    WHERE observation.counted
    GROUP BY follow.user_id, follow.valid_from
)
SELECT user_id, observed_on FROM latest_observations
UNION
SELECT user_id, first_counted_on FROM short_follow_bounds
UNION
SELECT user_id, last_counted_on FROM short_follow_bounds
""",
)
_DROP_UNNEEDED = """
DELETE FROM {kept} AS old
WHERE old.account_id = $account_id
  AND old.observed_on <= $horizon
  AND old.user_id IN (SELECT user_id FROM compaction_users)
  AND NOT EXISTS (
      SELECT 1 FROM needed_observations AS needed
      WHERE needed.user_id = old.user_id AND needed.observed_on = old.observed_on)
"""


def horizon(con: duckdb.DuckDBPyConnection, account_id: int, settings: Settings) -> date | None:
    """The last date outside the retention window (None when nothing is loaded)."""
    latest = con.execute(
        "SELECT max(snapshot_date) FROM meta.snapshots WHERE account_id = ?", [account_id]
    ).fetchone()[0]
    return latest - timedelta(days=settings.raw_retention_days) if latest else None


def compact(
    con: duckdb.DuckDBPyConnection, account_id: int, settings: Settings, changed_after: date
) -> None:
    """Drop the account's raw rows older than the retention window that nothing needs.

    `changed_after`: the transform's cutoff. Every date loaded since the last compaction is
    later, and the intervals of core.follow_edges that ended on or before it are final.
    """
    last_outside = horizon(con, account_id, settings)
    if last_outside is None:
        return
    for view in ("raw.follower_snapshot", "raw.following_snapshot"):
        partitions.drop_partitions(
            con,
            view,
            [name for _, name in _partitions_outside(con, view, account_id, last_outside)],
        )
    first_followers, latest_followers = _followers_snapshots(con, account_id)
    first_kept = con.execute(
        "SELECT min(snapshot_date) FROM meta.snapshots "
        "WHERE account_id = ? AND kind = 'users' AND snapshot_date > ?",
        [account_id, last_outside],
    ).fetchone()[0]
    parameters = {
        "account_id": account_id,
        "horizon": last_outside,
        "first_kept": first_kept,
        "first_snapshot": first_followers or last_outside,
        "next_snapshot": (latest_followers or last_outside) + timedelta(days=1),
        "churn_window_days": settings.churn_window_days,
        "changed_after": changed_after,
        "near_from": _near_from(con, account_id, settings, changed_after),
    }
    leaving = _partitions_outside(con, "raw.users", account_id, last_outside)
    profile_columns = partitions.columns(con, "raw.users")
    for leaving_day, partition in leaving:
        day_parameters = {**parameters, "leaving_day": leaving_day}
        _find_departed_users(con, partition, day_parameters)
        kept_table = partitions.create(con, "raw.users", account_id, leaving_day, kept=True)
        keep = _KEEP_FROM_PARTITION.format(
            columns=profile_columns,
            partition=partition,
            kept_table=kept_table,
            compacted=partitions.compacted(con, "raw.users"),
        )
        con.execute(keep, bind(keep, day_parameters))
    con.execute("DROP TABLE IF EXISTS departed_users")
    partitions.drop_partitions(con, "raw.users", [partition for _, partition in leaving])
    for statement in _COMPACT_USERS:
        con.execute(statement, bind(statement, parameters))
    kept_tables = partitions.kept_tables(con, "raw.users", account_id)
    for kept in [_SETTLED_PROFILES, *(name for _, _, name in kept_tables)]:
        drop_unneeded = _DROP_UNNEEDED.format(kept=kept)
        con.execute(drop_unneeded, bind(drop_unneeded, parameters))
    for temporary in ("needed_observations", "compaction_observations", "compaction_users"):
        con.execute(f"DROP TABLE {temporary}")
    # A kept date's rows are settled once every follow they were kept for is longer than
    # churn_window_days or has ended: then only a user observed again drops one.
    settled_through = last_outside - timedelta(days=settings.churn_window_days + 1)
    partitions.settle(
        con, "raw.users", [name for _, day, name in kept_tables if day <= settled_through]
    )
    con.execute(
        "INSERT OR REPLACE INTO meta.raw_compaction VALUES (?, ?, ?)",
        [account_id, last_outside, settings.churn_window_days],
    )


def _find_departed_users(con: duckdb.DuckDBPyConnection, partition: str, parameters: dict) -> None:
    """Temp table departed_users: the users of `partition` not observed on $first_kept."""
    con.execute(_MOVERS, bind(_MOVERS, parameters))
    unmoved = []
    for table, ids in (
        ("leaving_movers", f"SELECT user_id FROM {partition}"),
        ("first_kept_movers", _FIRST_KEPT_IDS),
    ):
        present = _PRESENT_MOVERS.format(table=table, ids=ids)
        con.execute(present, bind(present, parameters))
        # Everyone's digest less the movers': a plain aggregate, where a join would probe 11M ids.
        everyone = _DIGEST.format(ids=ids)
        count, hashes = con.execute(everyone, bind(everyone, parameters)).fetchone()
        moved_count, moved_hashes = con.execute(
            _DIGEST.format(ids=f"SELECT user_id FROM {table}")
        ).fetchone()
        unmoved.append((count - moved_count, hashes - moved_hashes))
    if unmoved[0] == unmoved[1]:
        con.execute(_DEPARTED_MOVERS)
    else:
        departed = _DEPARTED_ANYONE.format(partition=partition)
        con.execute(departed, bind(departed, parameters))
    con.execute("DROP TABLE movers")
    con.execute("DROP TABLE leaving_movers")
    con.execute("DROP TABLE first_kept_movers")


def _partitions_outside(
    con: duckdb.DuckDBPyConnection, view: str, account_id: int, last_outside: date
) -> list[tuple[date, str]]:
    """(date, table) of the account's partitions of `view` that left the window."""
    return [
        (day, name) for _, day, name in partitions.partitions(con, view, account_id, last_outside)
    ]


def _near_from(
    con: duckdb.DuckDBPyConnection, account_id: int, settings: Settings, changed_after: date
) -> date:
    """A day on or before every old observation whose need can have changed since the last
    compaction, but for those of users observed after `changed_after`.

    Since the last compaction (meta.raw_compaction):
    - observations became old after its horizon;
    - a follow it kept as still possibly short can have become too long: it began at most
      churn_window_days before that compaction's next snapshot, so after latest_followers -
      churn_window_days (every date up to `changed_after` was loaded by then, with the status it
      has now, so their latest complete followers snapshot is at most the one it saw);
    - the follows that changed end after `changed_after` (those that ended on or before it are
      final), and a changed short follow, with the profiles `restoring` read back for it, lies
      within churn_window_days of its end: later still.
    `restoring` can also read back a profile older than all of these, the latest of a user a
    re-extracted date no longer shows, but that one is needed as the user's latest.
    """
    last = con.execute(
        "SELECT horizon, churn_window_days FROM meta.raw_compaction WHERE account_id = ?",
        [account_id],
    ).fetchone()
    latest_followers = con.execute(
        "SELECT max(snapshot_date) FROM meta.snapshots WHERE account_id = ? "
        "AND kind = 'followers' AND status = 'complete' AND snapshot_date <= ?",
        [account_id, changed_after],
    ).fetchone()[0]
    if last is None or last[1] != settings.churn_window_days or latest_followers is None:
        return date.min
    last_horizon, _ = last
    return min(last_horizon, latest_followers - timedelta(days=settings.churn_window_days))


@contextmanager
def restoring(
    con: duckdb.DuckDBPyConnection,
    account: Account,
    account_id: int,
    snapshot_date: date,
    settings: Settings,
):
    """Around a load: when it replaces or backfills a date, restore the profiles it makes needed.

    Two kinds, both read back from the landing Parquet where compaction dropped them:
    - Follows near the date can change, and a follow that turns out short needs its first and
      last profiles with counts. Affected: the users whose follower presence on the date
      changes, the users whose follows began or ended on it, when the date becomes the first
      snapshot those whose follows began on the former first one (they get a known start), and
      those whose profile with counts on the date is gone (another can now be their follow's
      first or last); their observations from churn_window_days before the date to
      churn_window_days after the next complete followers snapshot. Compaction drops again
      those not needed.
    - A user the date no longer shows, whose latest observation it was: their previous one.
    An in-order load changes no past follow, so it skips all of this.
    """
    latest = con.execute(
        "SELECT max(snapshot_date) FROM meta.snapshots WHERE account_id = ?", [account_id]
    ).fetchone()[0]
    replacing = latest is not None and snapshot_date <= latest
    if replacing:
        was_complete = _followers_complete(con, account_id, snapshot_date)
        first_before = _followers_snapshots(con, account_id)[0]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE observed_before AS SELECT user_id, "
            "following_count IS NOT NULL AND followers_count IS NOT NULL AS counted "
            "FROM raw.users WHERE account_id = ? AND observed_on = ?",
            [account_id, snapshot_date],
        )
    yield
    if not replacing:
        return
    last_outside = horizon(con, account_id, settings)
    _restore_near_changes(
        con, account, account_id, snapshot_date, settings, last_outside, was_complete, first_before
    )
    _restore_latest(con, account, account_id, snapshot_date, settings, last_outside)
    con.execute("DROP TABLE observed_before")


def _followers_snapshots(
    con: duckdb.DuckDBPyConnection, account_id: int
) -> tuple[date | None, date | None]:
    """The first and the latest complete followers snapshot dates."""
    return con.execute(
        "SELECT min(snapshot_date), max(snapshot_date) FROM meta.snapshots "
        "WHERE account_id = ? AND kind = 'followers' AND status = 'complete'",
        [account_id],
    ).fetchone()


def _followers_complete(con: duckdb.DuckDBPyConnection, account_id: int, day: date) -> bool:
    return (
        con.execute(
            "SELECT count(*) FROM meta.snapshots WHERE account_id = ? AND kind = 'followers' "
            "AND status = 'complete' AND snapshot_date = ?",
            [account_id, day],
        ).fetchone()[0]
        > 0
    )


def _insert_observations(
    con: duckdb.DuckDBPyConnection,
    account: Account,
    account_id: int,
    observed_on: date,
    settings: Settings,
    users: str,
) -> None:
    """Insert the date's landing profiles of the users in temp table `users` that raw lacks."""
    from pipeline.load import users_select

    path = landing.data_path(settings.landing_dir, "users", account.handle, observed_on)
    con.execute(
        f"""INSERT INTO {_SETTLED_PROFILES}
            SELECT * FROM ({users_select()}) AS landed
            WHERE landed.user_id IN (SELECT user_id FROM {users})
              AND landed.user_id NOT IN (
                  SELECT user_id FROM raw.users
                  WHERE account_id = $account_id AND observed_on = $snapshot_date)""",
        {"account_id": account_id, "snapshot_date": observed_on, "path": str(path)},
    )


def _users_dates(
    con: duckdb.DuckDBPyConnection, account_id: int, first: date, last: date
) -> list[date]:
    return [
        row[0]
        for row in con.execute(
            "SELECT snapshot_date FROM meta.snapshots WHERE account_id = ? AND kind = 'users' "
            "AND snapshot_date BETWEEN ? AND ? ORDER BY snapshot_date",
            [account_id, first, last],
        ).fetchall()
    ]


def _restore_near_changes(
    con: duckdb.DuckDBPyConnection,
    account: Account,
    account_id: int,
    snapshot_date: date,
    settings: Settings,
    last_outside: date,
    was_complete: bool,
    first_before: date | None,
) -> None:
    window = timedelta(days=settings.churn_window_days)
    next_snapshot = con.execute(
        "SELECT coalesce(min(snapshot_date), ?) FROM meta.snapshots WHERE account_id = ? "
        "AND kind = 'followers' AND status = 'complete' AND snapshot_date > ?",
        [snapshot_date, account_id, snapshot_date],
    ).fetchone()[0]
    dates = [
        day
        for day in _users_dates(
            con, account_id, snapshot_date - window, min(next_snapshot + window, last_outside)
        )
        if day != snapshot_date
    ]
    if not dates:
        return
    # core.follow_edges has not seen this load yet: its presence on the date against the list
    # loaded now. A date that stops being a complete snapshot changes the follows it bounded.
    complete = _followers_complete(con, account_id, snapshot_date)
    # A profile with counts the date no longer has: the follow's first or last profile with
    # counts can now be one that compaction dropped as in between.
    changes = [
        "SELECT user_id FROM listed EXCEPT SELECT user_id FROM alive",
        "SELECT user_id FROM observed_before WHERE counted"
        " EXCEPT SELECT user_id FROM counted_on_day",
    ]
    if complete:
        changes.append("SELECT user_id FROM alive EXCEPT SELECT user_id FROM listed")
        if first_before and snapshot_date < first_before:
            changes.append("SELECT user_id FROM follows WHERE valid_from = $first_before")
    elif was_complete:
        changes.append("SELECT user_id FROM follows WHERE valid_from = $day OR valid_to = $day")
    affected = f"""
        CREATE OR REPLACE TEMP TABLE affected_users AS
        WITH listed AS (
            SELECT user_id FROM raw.follower_snapshot
            WHERE account_id = $account_id AND snapshot_date = $day
        ),
        follows AS (
            SELECT user_id, valid_from, valid_to FROM core.follow_edges
            WHERE account_id = $account_id AND direction = 'follower'
        ),
        alive AS (
            SELECT user_id FROM follows
            WHERE valid_from <= $day AND (valid_to IS NULL OR valid_to > $day)
        ),
        counted_on_day AS (
            SELECT user_id FROM raw.users
            WHERE account_id = $account_id AND observed_on = $day
              AND following_count IS NOT NULL AND followers_count IS NOT NULL
        )
        {" UNION ".join(f"({change})" for change in changes)}"""
    con.execute(
        affected,
        bind(
            affected,
            {"account_id": account_id, "day": snapshot_date, "first_before": first_before},
        ),
    )
    if con.execute("SELECT count(*) FROM affected_users").fetchone()[0]:
        for day in dates:
            _insert_observations(con, account, account_id, day, settings, "affected_users")
    con.execute("DROP TABLE affected_users")


def _restore_latest(
    con: duckdb.DuckDBPyConnection,
    account: Account,
    account_id: int,
    snapshot_date: date,
    settings: Settings,
    last_outside: date,
) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE unseen_users AS
           SELECT user_id FROM observed_before
           EXCEPT
           SELECT user_id FROM raw.users WHERE account_id = ? AND observed_on >= ?""",
        [account_id, snapshot_date],
    )
    earlier = _users_dates(con, account_id, date.min, snapshot_date - timedelta(days=1))
    for day in reversed(earlier):
        if not con.execute("SELECT count(*) FROM unseen_users").fetchone()[0]:
            break
        if day <= last_outside:
            _insert_observations(con, account, account_id, day, settings, "unseen_users")
        con.execute(
            "DELETE FROM unseen_users WHERE user_id IN "
            "(SELECT user_id FROM raw.users WHERE account_id = ? AND observed_on = ?)",
            [account_id, day],
        )
    con.execute("DROP TABLE unseen_users")
