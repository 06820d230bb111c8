"""Raw retention: old days keep only what the models need, whatever the order of the loads."""

from dataclasses import replace
from datetime import date

import pyarrow as pa
import pytest

from pipeline import landing, load, partitions, transform
from pipeline.config import Account
from pipeline.warehouse import connect
from tests.helpers import land_lists

ACCOUNT = Account(handle="tiny", persona="organic")
ACCOUNT_ID = 1
D = {n: date(2026, 3, n) for n in range(1, 14)}

# Followers by day; the account follows user 1 throughout. With a churn window of 2 days:
# user 2 follows on days 3-4 only (a short follow), user 3 leaves on day 7, user 4 arrives on
# day 7 (a follow still short at the end), users 1 and 5 stay.
FOLLOWERS = {
    n: {1, 5}
    | ({2} if n in (3, 4) else set())
    | ({3} if n <= 6 else set())
    | ({4} if n >= 7 else set())
    for n in range(1, 9)
}


@pytest.fixture
def short_settings(settings):
    return replace(settings, churn_window_days=2, raw_retention_days=1)


def land_day(
    settings,
    n: int,
    followers: set[int],
    unprofiled: frozenset = frozenset(),
    completed: bool = True,
    profiled_too: frozenset = frozenset(),
) -> None:
    """Day n's lists and the profiles that came with them: everyone's but `unprofiled`'s (an
    incremental X read returns only the newest pages' profiles), and those of `profiled_too`, who
    are in neither list. Counts change every day."""
    land_lists(settings, ACCOUNT, ACCOUNT_ID, D[n], sorted(followers), [1], completed)
    users = sorted((followers | {1} | profiled_too) - unprofiled)
    profiles = pa.table(
        {
            "user_id": [str(u) for u in users],
            "username": [f"u{u}" for u in users],
            "following_count": [100 * u + n for u in users],
            "followers_count": [10 * u for u in users],
        }
    )
    missing = [f for f in landing.SCHEMAS["users"] if f.name not in profiles.column_names]
    for field in missing:
        profiles = profiles.append_column(field, pa.nulls(len(users), field.type))
    landing.write_partition(
        settings.landing_dir,
        profiles.select(landing.SCHEMAS["users"].names),
        landing.Manifest(
            account=ACCOUNT.handle,
            account_id=str(ACCOUNT_ID),
            snapshot_date=D[n].isoformat(),
            kind="users",
            source="simulated",
            row_count=0,
        ),
        landing.SCHEMAS["users"],
    )


def run(settings, days: list[tuple]):
    con = connect(settings)
    for n, *lists in days:
        land_day(settings, n, *lists)
        load.load_day(con, ACCOUNT, D[n], settings)
        transform.transform_account(con, ACCOUNT_ID, settings)
    return con


def tables(con) -> dict[str, list]:
    return {
        table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in (
            "raw.follower_snapshot",
            "raw.users",
            "core.follow_edges",
            "mart.churners",
            "mart.churn_daily",
        )
    }


def kept_profiles(con) -> list[tuple]:
    return con.execute("SELECT user_id, observed_on FROM raw.users ORDER BY ALL").fetchall()


# Under short_settings, after FOLLOWERS' eight days.
KEPT_AFTER_DAY_8 = [
    # The latest day in full.
    (1, D[8]),
    # User 2's short follow, which mart.churners reads.
    (2, D[3]),
    (2, D[4]),
    # User 3's latest profile.
    (3, D[6]),
    # User 4's follow may still turn out short.
    (4, D[7]),
    (4, D[8]),
    (5, D[8]),
]


@pytest.fixture
def wider_settings(settings):
    """A churn window longer than the raw window, so short follows' profiles grow old."""
    return replace(settings, churn_window_days=4, raw_retention_days=2)


# Under wider_settings, after day 12: the window's two days in full, of users 1 and 5.
WINDOW_OF_DAY_12 = [(1, D[11]), (1, D[12]), (5, D[11]), (5, D[12])]


def test_old_days_keep_only_what_the_models_need(short_settings):
    con = run(short_settings, sorted(FOLLOWERS.items()))
    assert con.execute("SELECT DISTINCT snapshot_date FROM raw.follower_snapshot").fetchall() == [
        (D[8],)
    ]
    assert kept_profiles(con) == KEPT_AFTER_DAY_8
    # Dropped lists are read back from core.follow_edges, so a rebuild changes nothing.
    before = tables(con)
    transform.rebuild(con, short_settings)
    assert tables(con) == before
    assert (2, D[3], D[5], 2) in con.execute(
        "SELECT user_id, followed_on, unfollowed_on, days_followed FROM mart.churners"
    ).fetchall()


def test_backfills_and_reextracts_equal_one_in_order_run(short_settings, tmp_path):
    # Re-extracted, day 6 does not show user 5, and brings no profile for user 3. User 5 was away
    # that day, so the follow it starts again on day 7 is short at the end: its day-7 profile,
    # dropped as old, must come back. User 3's latest profile is now day 5's.
    final = {n: (followers,) for n, followers in FOLLOWERS.items()}
    final[6] = (FOLLOWERS[6] - {5}, frozenset({3}))
    in_order = run(
        replace(short_settings, data_dir=tmp_path / "a", db_path=tmp_path / "a.duckdb"),
        [(n, *final[n]) for n in sorted(final)],
    )
    shuffled = run(
        replace(short_settings, data_dir=tmp_path / "b", db_path=tmp_path / "b.duckdb"),
        [(n, FOLLOWERS[n]) for n in (8, 2, 1, 5, 3, 4, 6, 7)]
        + [(6, *final[6]), (3, *final[3]), (8, *final[8])],
    )
    expected = tables(in_order)
    assert {(5, D[7]), (3, D[5])} <= {row[2:0:-1] for row in expected["raw.users"]}
    assert tables(shuffled) == expected


def test_backfill_before_the_first_snapshot_equals_one_in_order_run(short_settings, tmp_path):
    # Tracked from day 3 first: user 2's follow on days 3-4 has no known start, so only its
    # latest profile is kept. Backfilling days 1-2 gives it one, and mart.churners its profiles.
    in_order = run(
        replace(short_settings, data_dir=tmp_path / "a", db_path=tmp_path / "a.duckdb"),
        sorted(FOLLOWERS.items()),
    )
    backfilled = run(
        replace(short_settings, data_dir=tmp_path / "b", db_path=tmp_path / "b.duckdb"),
        [(n, FOLLOWERS[n]) for n in (3, 4, 5, 6, 7, 8, 2, 1)],
    )
    assert tables(backfilled) == tables(in_order)


def test_profiles_judged_by_an_earlier_compaction_are_judged_again_when_needed(wider_settings):
    # Each compaction reads only the users whose old profiles can have become droppable since the
    # last one. Two such users whose old profiles are outside the days it just aged out:
    # user 7 follows from day 2 and has profiles on days 2 and 3 only; their follow is short
    # until day 6, when (day 2 and 3 already old) it becomes too long for mart.churners and the
    # day-2 profile is no longer needed. User 8 follows on days 1-2 (no known start), leaves,
    # and comes back on day 12, whose profile replaces the day-2 one as the latest.
    days = [
        (
            n,
            {5} | ({7} if n >= 2 else set()) | ({8} if n in (1, 2, 12) else set()),
            frozenset({7}) if n >= 4 else frozenset(),
        )
        for n in range(1, 13)
    ]
    con = run(wider_settings, days)
    assert kept_profiles(con) == [*WINDOW_OF_DAY_12, (7, D[3]), (8, D[12])]


def test_a_follow_that_grows_long_after_a_gap_in_the_lists_drops_its_old_profiles(
    wider_settings,
):
    # User 9 follows from day 2, with profiles on days 2 and 3 only. The lists of days 3 to 11
    # are incomplete, so until day 12 the follow may still turn out short and both profiles are
    # kept, though long outside the days each compaction ages out. Day 12's complete list makes
    # it too long for mart.churners: the day-2 profile goes, the day-3 one stays as the latest.
    days = [
        (n, {5, 9} if n >= 2 else {5}, frozenset({9}) if n >= 4 else frozenset(), n < 3 or n == 12)
        for n in range(1, 13)
    ]
    con = run(wider_settings, days)
    assert kept_profiles(con) == [*WINDOW_OF_DAY_12, (9, D[3])]


def test_a_shorter_raw_window_judges_the_days_it_ages_out_at_once(settings):
    # raw_retention_days lowered from 6 to 1 between two daily runs, without a rebuild. User 3
    # follows from the first snapshot (never a churn episode) until day 7: once days 5 and 6
    # are old, only the latest profile, day 6's, is needed.
    before = replace(settings, churn_window_days=1, raw_retention_days=6)
    con = run(before, [(n, {5} | ({3} if n <= 6 else set())) for n in range(1, 11)])
    assert [day for user, day in kept_profiles(con) if user == 3] == [D[5], D[6]]
    after = replace(before, raw_retention_days=1)
    land_day(after, 11, {5})
    load.load_day(con, ACCOUNT, D[11], after)
    transform.transform_account(con, ACCOUNT_ID, after)
    assert [day for user, day in kept_profiles(con) if user == 3] == [D[6]]


def test_who_left_is_found_among_the_moved_follows_and_checked_against_everyone(short_settings):
    # A day leaving the window keeps the profiles of those the next day does not show. They are
    # looked for among the users whose follows started or ended in between (user 3 leaves on
    # day 7); a profile that came with neither list (user 9's, on day 5 only) is not among them,
    # and only the check of everyone else's ids on both days finds it.
    days = [
        (n, FOLLOWERS[n], frozenset(), True, frozenset({9}) if n == 5 else frozenset())
        for n in range(1, 9)
    ]
    con = run(short_settings, days)
    assert kept_profiles(con) == sorted([*KEPT_AFTER_DAY_8, (9, D[5])])


def test_days_that_leave_the_raw_window_leave_no_partition(short_settings):
    con = run(short_settings, sorted(FOLLOWERS.items()))
    for view in partitions.DATE_COLUMNS:
        assert [day for _, day, _ in partitions.partitions(con, view)] == [D[8]]
    # What compaction kept of older days is in the base table; the lists keep none.
    assert con.execute(
        "SELECT user_id, observed_on FROM raw_days.users ORDER BY ALL"
    ).fetchall() == [(2, D[3]), (2, D[4]), (3, D[6]), (4, D[7])]
    for base in ("raw_days.follower_snapshot", "raw_days.following_snapshot"):
        assert con.execute(f"SELECT count(*) FROM {base}").fetchone() == (0,)
