"""Raw retention: old days keep only what the models need, whatever the order of the loads."""

import random
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
    uncounted: frozenset = frozenset(),
) -> None:
    """Day n's lists and the profiles that came with them: everyone's but `unprofiled`'s (an
    incremental X read returns only the newest pages' profiles), and those of `profiled_too`, who
    are in neither list. Counts change every day; `uncounted` users' profiles have none (as a
    suspended user's)."""
    land_lists(settings, ACCOUNT, ACCOUNT_ID, D[n], sorted(followers), [1], completed)
    users = sorted((followers | {1} | profiled_too) - unprofiled)
    profiles = pa.table(
        {
            "user_id": [str(u) for u in users],
            "username": [f"u{u}" for u in users],
            "following_count": pa.array(
                [None if u in uncounted else 100 * u + n * n for u in users], pa.int64()
            ),
            "followers_count": pa.array(
                [None if u in uncounted else 10 * u + n for u in users], pa.int64()
            ),
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
    """Load and transform each (n, followers) or (n, followers, land_day's keyword options)."""
    con = connect(settings)
    for n, followers, *options in days:
        land_day(settings, n, followers, **(options[0] if options else {}))
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


def churners_of(con, user_id: int) -> list[tuple]:
    return con.execute(
        "SELECT followed_on, unfollowed_on, following_count_growth_per_day, "
        "following_to_followers_ratio FROM mart.churners WHERE user_id = ?",
        [user_id],
    ).fetchall()


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
    final[6] = (FOLLOWERS[6] - {5}, {"unprofiled": frozenset({3})})
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
            {"unprofiled": frozenset({7}) if n >= 4 else frozenset()},
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
        (
            n,
            {5, 9} if n >= 2 else {5},
            {
                "unprofiled": frozenset({9}) if n >= 4 else frozenset(),
                "completed": n < 3 or n == 12,
            },
        )
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
        (n, FOLLOWERS[n], {"profiled_too": frozenset({9}) if n == 5 else frozenset()})
        for n in range(1, 9)
    ]
    con = run(short_settings, days)
    assert kept_profiles(con) == sorted([*KEPT_AFTER_DAY_8, (9, D[5])])


def test_days_that_leave_the_raw_window_leave_no_partition(short_settings):
    con = run(short_settings, sorted(FOLLOWERS.items()))
    for view in partitions.DATE_COLUMNS:
        assert [day for _, day, _ in partitions.partitions(con, view)] == [D[8]]
    # What compaction kept of older days is in the base table once settled (days up to the
    # horizon, day 7, less churn_window_days + 1), and before that in a kept table of its day;
    # the lists keep none.
    assert con.execute(
        "SELECT user_id, observed_on FROM raw_days.users ORDER BY ALL"
    ).fetchall() == [(2, D[3]), (2, D[4])]
    kept_tables = partitions.kept_tables(con, "raw.users")
    assert [day for _, day, _ in kept_tables] == [D[5], D[6], D[7]]
    assert [
        con.execute(f"SELECT user_id, observed_on FROM {name}").fetchall()
        for _, _, name in kept_tables
    ] == [[], [(3, D[6])], [(4, D[7])]]
    for base in ("raw_days.follower_snapshot", "raw_days.following_snapshot"):
        assert con.execute(f"SELECT count(*) FROM {base}").fetchone() == (0,)


def test_a_short_follow_keeps_only_its_first_and_last_profiles_with_counts(wider_settings):
    # User 6 follows on days 3-6, a short follow under a churn window of 4 days, and is profiled
    # every day after it too. mart.churners reads the follow's first and last profiles with
    # counts; days 4 and 5 are in between, and day 6 is not the latest.
    days = [
        (n, {5} | ({6} if 3 <= n <= 6 else set()), {"profiled_too": frozenset({6})})
        for n in range(1, 13)
    ]
    con = run(wider_settings, days)
    assert kept_profiles(con) == sorted(
        [*WINDOW_OF_DAY_12, (6, D[3]), (6, D[6]), (6, D[11]), (6, D[12])]
    )
    # Following counts 609 on day 3 and 636 on day 6; 66 followers on day 6.
    assert churners_of(con, 6) == [(D[3], D[7], 9.0, 636 / 66)]


def test_a_reextract_that_takes_a_follows_last_counts_brings_back_the_one_before(
    wider_settings, tmp_path
):
    # Re-extracted once day 6 is old, user 6's profile of that day has no counts: the follow's
    # last profile with counts is now day 5's, which compaction had dropped as in between.
    original = {n: ({5} | ({6} if 3 <= n <= 6 else set()),) for n in range(1, 13)}
    final = {**original, 6: (original[6][0], {"uncounted": frozenset({6})})}
    in_order = run(
        replace(wider_settings, data_dir=tmp_path / "a", db_path=tmp_path / "a.duckdb"),
        [(n, *final[n]) for n in sorted(final)],
    )
    reextracted = run(
        replace(wider_settings, data_dir=tmp_path / "b", db_path=tmp_path / "b.duckdb"),
        [(n, *original[n]) for n in sorted(original)] + [(6, *final[6])],
    )
    expected = tables(in_order)
    assert [day for user, day in kept_profiles(in_order) if user == 6] == [D[3], D[5], D[6]]
    # Following counts 609 on day 3 and 625 on day 5; 65 followers on day 5.
    assert churners_of(reextracted, 6) == [(D[3], D[7], 8.0, 625 / 65)]
    assert tables(reextracted) == expected


def random_lists(rng: random.Random) -> dict[int, set[int]]:
    """Twelve days of users 10-21 following and leaving at random, for a few days at a time."""
    following = {user: rng.random() < 0.5 for user in range(10, 22)}
    lists = {}
    for n in range(1, 13):
        following = {user: follows != (rng.random() < 0.2) for user, follows in following.items()}
        lists[n] = {user for user, follows in following.items() if follows} | {5}
    return lists


def random_extract(rng: random.Random, followers: set[int]) -> dict:
    """How a day's extract went: sometimes an incomplete list, some users unprofiled (an
    incremental read) or profiled without counts (suspended)."""
    return {
        "unprofiled": frozenset(user for user in followers if rng.random() < 0.1),
        "completed": rng.random() < 0.85,
        "uncounted": frozenset(user for user in followers if rng.random() < 0.2),
    }


def in_between_profiles(warehouse: dict[str, list]) -> set[tuple]:
    """(user, date) of the profiles with counts strictly between a churners episode's first and
    last ones: those compaction may drop."""
    counted = {
        (row[2], row[1])
        for row in warehouse["raw.users"]
        if row[5] is not None and row[6] is not None
    }
    in_between = set()
    for _, user, followed_on, unfollowed_on, *_ in warehouse["mart.churners"]:
        days = sorted(
            day for who, day in counted if who == user and followed_on <= day < unfollowed_on
        )
        in_between |= {(user, day) for day in days[1:-1]}
    return in_between


@pytest.mark.parametrize("seed", [2, 4, 5])
def test_random_histories_give_the_churners_of_all_profiles_in_any_order(
    wider_settings, tmp_path, seed
):
    # An oracle: mart.churners from a warehouse that keeps every profile, against one that
    # compacts, rebuilt from what it kept (mart.churners is incremental: an episode is computed
    # once, when it closes, mostly before its profiles are old). The same history loaded in
    # order, and shuffled with some days first extracted otherwise (other lists, or the same
    # lists with other profiles), gives the same tables.
    rng = random.Random(seed)
    lists = random_lists(rng)
    final = {n: (followers, random_extract(rng, followers)) for n, followers in lists.items()}
    other_lists = random_lists(rng)
    reextracted = rng.sample(sorted(final), 6)
    # Odd days first had other lists; even days the same, with counts for everyone (the final
    # extract takes some away: a follow's last profile with counts can then be an older one).
    earlier = {
        n: (other_lists[n], random_extract(rng, other_lists[n]))
        if n % 2
        else (lists[n], {**final[n][1], "uncounted": frozenset()})
        for n in reextracted
    }
    first_pass = [(n, *earlier[n]) for n in reextracted] + [
        (n, *final[n]) for n in sorted(final) if n not in reextracted
    ]
    rng.shuffle(first_pass)
    shuffled = first_pass + [(n, *final[n]) for n in rng.sample(reextracted, len(reextracted))]

    def warehouse(name: str, settings, days):
        settings = replace(settings, data_dir=tmp_path / name, db_path=tmp_path / f"{name}.duckdb")
        return run(settings, days), settings

    in_order_days = [(n, *final[n]) for n in sorted(final)]
    everything_con, _ = warehouse(
        "everything", replace(wider_settings, raw_retention_days=30), in_order_days
    )
    everything = tables(everything_con)
    in_order_con, in_order_settings = warehouse("in_order", wider_settings, in_order_days)
    in_order = tables(in_order_con)
    dropped = in_between_profiles(everything) - {row[2:0:-1] for row in in_order["raw.users"]}
    assert dropped, "no short follow had a profile in between to drop: the oracle tests nothing"
    assert in_order["mart.churners"] == everything["mart.churners"]
    transform.transform_account(in_order_con, ACCOUNT_ID, in_order_settings, full_rebuild=True)
    assert tables(in_order_con)["mart.churners"] == everything["mart.churners"]
    assert tables(warehouse("shuffled", wider_settings, shuffled)[0]) == in_order
