import pytest

from pipeline import transform
from tests.sql.scenario import day

# Snapshots on a few days only; every other day is a gap, which defers a reading.
#  100: in the first snapshot: unknown first appearance, no cohort.
#  101, 102: in the first snapshot too, and back after leaving: still no cohort. 101 leaves
#  by day 3, is back on day 8, leaves again by day 31 and is back on day 33; 102 leaves by day 1
#  and is back on day 3 for good.
#  201, 202 (day 1) and 203 (day 3) form the first week's cohort, 204 (day 8) the second's.
#  207 follows exactly as 201 does: two members with the same dates count twice.
#  203 leaves by day 10 and follows again by day 31: it counts wherever a reading finds it.
#  206 (day 1, first week) leaves by day 3 and is back on day 8, its 7-day reading's day.
FOLLOWERS = {
    0: {100, 101, 102},
    1: {100, 101, 201, 202, 206, 207},
    3: {100, 102, 201, 202, 203, 207},
    8: {100, 101, 102, 201, 203, 204, 206, 207},
    10: {100, 101, 102, 201, 204, 206, 207},
    31: {100, 102, 201, 203, 204, 206, 207},
    33: {100, 101, 102, 201, 203, 204, 206, 207},
    95: {100, 101, 102, 204},
}


def test_weekly_cohorts(scenario):
    for n, followers in FOLLOWERS.items():
        scenario.lists(n, followers, set())
    scenario.transform()

    rows = scenario.rows(
        "mart.follower_retention",
        "cohort_week, cohort_size, retained_7d, retained_30d, retained_90d, evaluated_through",
        "cohort_week",
    )
    # Readings, first snapshot on or after first appearance + 7 / 30 / 90 days:
    #   201, 207: day 8 yes, day 31 yes, day 95 no.   202: day 8 no, day 31 no, day 95 no.
    #   203: day 10 no, day 33 yes, day 95 no.   204: day 31 yes, day 95 yes, not yet (day 98).
    #   206: day 8 yes (back that day), day 31 yes, day 95 no.
    assert rows == [
        (day(0), 5, 0.6, 0.8, 0.0, day(95)),
        (day(7), 1, 1.0, 1.0, None, day(95)),
    ]


def test_daily_runs_past_the_90_day_readings_equal_a_rebuild(scenario, con):
    # A member joins every day and leaves after 5 to 100 days; from day 89 one run a day.
    members = {1000 + n: (n, n + 5 + (n * 37) % 96) for n in range(1, 140)}
    for n in range(150):
        scenario.lists(n, {100} | {u for u, (a, b) in members.items() if a <= n < b}, set())
        if n >= 89:
            scenario.transform()
    columns = "cohort_week, cohort_size, retained_7d, retained_30d, retained_90d"
    daily = scenario.rows("mart.follower_retention", columns, "cohort_week")

    transform.rebuild(con, scenario.settings)
    assert scenario.rows("mart.follower_retention", columns, "cohort_week") == daily
    # The first cohort (members joining on days 1-6): all final, as written by hand.
    leave_after = {n: 5 + (n * 37) % 96 for n in range(1, 7)}
    assert daily[0] == (
        day(0),
        6,
        pytest.approx(sum(d > 7 for d in leave_after.values()) / 6),
        pytest.approx(sum(d > 30 for d in leave_after.values()) / 6),
        pytest.approx(sum(d > 90 for d in leave_after.values()) / 6),
    )
