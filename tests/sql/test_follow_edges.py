"""core.follow_edges on tiny hand-built snapshots; expected intervals are written by hand."""

from dataclasses import replace
from datetime import date

import pytest

from pipeline import load, transform
from pipeline.config import Account
from pipeline.warehouse import connect
from tests.helpers import land_lists

ACCOUNT = Account(handle="tiny", persona="organic")
ACCOUNT_ID = 1
D = {n: date(2026, 3, n) for n in range(1, 8)}

# Day 3 is a gap: its extract broke off half way (not complete) and must change nothing.
SNAPSHOTS = {
    D[1]: ([10, 11], [10]),
    D[2]: ([10, 11, 12], [10]),
    D[3]: ([10], [10]),
    D[4]: ([10, 12], [10, 12]),
    D[5]: ([10, 11, 12], [10, 12]),
    D[6]: ([10, 11], [10]),
}
COMPLETE = {day: day != D[3] for day in SNAPSHOTS}

EXPECTED = [
    # user 10 follows throughout, and the account follows 10 throughout.
    (10, "follower", D[1], None),
    (10, "following", D[1], None),
    # 11 unfollows during the gap: the unfollow is dated by the snapshot after it (day 4).
    (11, "follower", D[1], D[4]),
    # ... and re-follows on day 5: a new interval.
    (11, "follower", D[5], None),
    # 12 follows on day 2 and unfollows on day 6; the account follows 12 on days 4-5.
    (12, "follower", D[2], D[6]),
    (12, "following", D[4], D[6]),
]


def edges(con):
    return con.execute(
        "SELECT user_id, direction, valid_from, valid_to FROM core.follow_edges "
        "WHERE account_id = ? ORDER BY user_id, direction, valid_from",
        [ACCOUNT_ID],
    ).fetchall()


def load_days(con, settings, days, transform_each=True):
    for day in days:
        followers, following = SNAPSHOTS[day]
        land_lists(settings, ACCOUNT, ACCOUNT_ID, day, followers, following, COMPLETE[day])
        load.load_day(con, ACCOUNT, day, settings)
        if transform_each:
            transform.transform_account(con, ACCOUNT_ID, settings)


@pytest.mark.parametrize(
    "order",
    [
        [D[1], D[2], D[3], D[4], D[5], D[6]],
        [D[6], D[2], D[4], D[1], D[5], D[3]],
        [D[4], D[4], D[1], D[6], D[3], D[5], D[2], D[6]],
    ],
    ids=["in-order", "shuffled", "shuffled-with-reruns"],
)
def test_intervals_from_snapshots(settings, order):
    con = connect(settings)
    load_days(con, settings, order)
    assert edges(con) == EXPECTED


@pytest.mark.parametrize(
    ("raw_retention_days", "lists_in_raw"),
    [(0, []), (2, [D[5], D[6]])],
    ids=["anchor-from-core", "anchor-from-raw"],
)
def test_the_anchor_reads_the_same_from_raw_as_from_core(
    settings, raw_retention_days, lists_in_raw
):
    """A daily run's anchor, the day before, is read from raw while raw keeps its list, else back
    from core; a run from the anchor keeps the start its interval has in core either way (12's
    follow from day 2, read on day 6 from day 5's list)."""
    settings = replace(settings, raw_retention_days=raw_retention_days)
    con = connect(settings)
    load_days(con, settings, [D[1], D[2], D[3], D[4], D[5], D[6]])
    assert edges(con) == EXPECTED
    raw_dates = con.execute(
        "SELECT DISTINCT snapshot_date FROM raw.follower_snapshot ORDER BY 1"
    ).fetchall()
    assert [day for (day,) in raw_dates] == lists_in_raw


def test_gap_day_closes_nothing(settings):
    con = connect(settings)
    load_days(con, settings, [D[1], D[2], D[3]])
    # The partial day 3 lost 11 and 12, but only complete snapshots count: all still current.
    assert edges(con) == [
        (10, "follower", D[1], None),
        (10, "following", D[1], None),
        (11, "follower", D[1], None),
        (12, "follower", D[2], None),
    ]


def test_re_extracted_gap_day_is_then_used(settings):
    con = connect(settings)
    load_days(con, settings, [D[1], D[2], D[3], D[4]])
    # Day 3 is fetched again, completely this time: 11 was already gone on day 3.
    land_lists(settings, ACCOUNT, ACCOUNT_ID, D[3], [10, 12], [10], completed=True)
    load.load_day(con, ACCOUNT, D[3], settings)
    transform.transform_account(con, ACCOUNT_ID, settings)
    assert (11, "follower", D[1], D[3]) in edges(con)


def test_one_transform_after_many_loads_equals_rebuild(settings):
    con = connect(settings)
    load_days(con, settings, [D[5], D[1], D[6], D[2], D[4], D[3]], transform_each=False)
    transform.transform_account(con, ACCOUNT_ID, settings)
    incremental = edges(con)
    transform.rebuild(con, settings)
    assert incremental == edges(con) == EXPECTED


def test_a_first_snapshot_re_extracted_incomplete_moves_the_start(settings):
    con = connect(settings)
    # Retention has dropped day 1's raw lists by day 5: later lists are read back from core.
    load_days(con, settings, [D[1], D[2], D[4], D[5]])
    land_lists(settings, ACCOUNT, ACCOUNT_ID, D[1], [10], [10], completed=False)
    load.load_day(con, ACCOUNT, D[1], settings)
    transform.transform_account(con, ACCOUNT_ID, settings)
    # Day 2 is now the first complete snapshot: nothing can be known to start before it.
    assert edges(con) == [
        (10, "follower", D[2], None),
        (10, "following", D[2], None),
        (11, "follower", D[2], D[4]),
        (11, "follower", D[5], None),
        (12, "follower", D[2], None),
        (12, "following", D[4], None),
    ]


def test_a_date_re_extracted_takes_back_the_changes_it_first_showed(settings):
    con = connect(settings)
    for day, followers in ((D[1], [10, 11]), (D[2], [10, 12])):
        land_lists(settings, ACCOUNT, ACCOUNT_ID, day, followers, [10], completed=True)
        load.load_day(con, ACCOUNT, day, settings)
        transform.transform_account(con, ACCOUNT_ID, settings)
    assert (11, "follower", D[1], D[2]) in edges(con)
    # The first extract of day 2 missed 11 and listed 12 by mistake; the second is right. Day 2
    # then matches day 1 exactly, so only core itself still shows who changed.
    land_lists(settings, ACCOUNT, ACCOUNT_ID, D[2], [10, 11], [10], completed=True)
    load.load_day(con, ACCOUNT, D[2], settings)
    transform.transform_account(con, ACCOUNT_ID, settings)
    assert edges(con) == [
        (10, "follower", D[1], None),
        (10, "following", D[1], None),
        (11, "follower", D[1], None),
    ]
