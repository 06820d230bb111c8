import pytest

from tests.sql.scenario import day


def test_churn_between_complete_snapshots_across_a_gap(scenario):
    scenario.lists(0, {1, 2, 3, 4}, set())
    scenario.lists(1, {1, 2, 3, 4, 5}, set())
    scenario.lists(2, {1, 2, 3, 5}, set())
    # Day 3 has no snapshot at all: 3 and 5 leave and 6 and 7 arrive across the gap.
    scenario.lists(4, {1, 2, 6, 7}, set())
    # Day 5's followers list broke off after one page: nobody it misses is lost.
    scenario.lists(5, {1}, set(), incomplete=("followers",))
    scenario.lists(6, {1, 2, 6, 7, 8}, set())
    scenario.transform()

    rows = scenario.rows(
        "mart.churn_daily",
        "snapshot_date, previous_snapshot_date, gap_days, followers_start, followers_end, "
        "gained, lost, net, churn_rate, losses_since",
        "snapshot_date",
    )
    assert rows == [
        (day(1), day(0), 1, 4, 5, 1, 0, 1, 0.0, day(0)),
        (day(2), day(1), 1, 5, 4, 0, 1, -1, pytest.approx(0.2), day(1)),
        (day(4), day(2), 2, 4, 4, 2, 2, 0, pytest.approx(0.5), day(2)),
        (day(6), day(4), 2, 4, 5, 1, 0, 1, 0.0, day(4)),
    ]


def test_incremental_days_count_no_losses_and_the_next_full_scan_dates_them(scenario):
    # full_scan: incremental. Days 1 and 2 read only the newest pages: 5 and 6 are new, and the
    # followers who left (2 on day 1, 3 on day 2) are still listed until day 3 reads every page.
    scenario.lists(0, {1, 2, 3, 4}, set())
    scenario.lists(1, {1, 2, 3, 4, 5}, set(), incremental=("followers",))
    scenario.lists(2, {1, 2, 3, 4, 5, 6}, set(), incremental=("followers",))
    scenario.lists(3, {1, 4, 5, 6}, set())
    scenario.transform()

    rows = scenario.rows(
        "mart.churn_daily",
        "snapshot_date, gap_days, followers_start, gained, lost, losses_since",
        "snapshot_date",
    )
    assert rows == [
        (day(1), 1, 4, 1, 0, None),
        (day(2), 1, 5, 1, 0, None),
        (day(3), 1, 6, 0, 2, day(0)),
    ]
