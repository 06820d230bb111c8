from dataclasses import replace

from tests.sql.scenario import day

# Day by day: who follows the account (F) and whom it follows (G).
#  10: mutual from the first snapshot: unknown start, no row.
#  11: follows on day 1, followed back on day 4 (three days later).
#  12: followed by the account on day 2, follows back on day 3.
#  13: both follow on day 2.
#  14: follows on day 1, leaves on day 3, follows again on day 6, followed back on day 7.
#  15: followed by the account on day 1, never follows back.
#  16: follows on days 5-6 only; the account follows it on day 8, after it left.
#  17: followed by the account from the first snapshot, follows back on day 3: the follow-back
#      of a relationship of unknown start, no row.
FOLLOWERS = {
    10: range(0, 11),
    11: range(1, 11),
    12: range(3, 11),
    13: range(2, 11),
    14: [1, 2, *range(6, 11)],
    16: [5, 6],
    17: range(3, 11),
}
FOLLOWING = {
    10: range(0, 11),
    11: range(4, 11),
    12: range(2, 11),
    13: range(2, 11),
    14: range(7, 11),
    15: range(1, 11),
    16: range(8, 11),
    17: range(0, 11),
}


def test_follow_back_events(scenario):
    scenario.settings = replace(scenario.settings, followback_window_days=5)
    for n in range(11):
        scenario.lists(
            n,
            {user for user, days in FOLLOWERS.items() if n in days},
            {user for user, days in FOLLOWING.items() if n in days},
        )
    scenario.transform()

    rows = scenario.rows(
        "mart.follow_back_events",
        "user_id, initiated_by, initiated_on, reciprocated_on, latency_days, window_closed",
        "user_id, initiated_on",
    )
    # The last snapshot is day 10, so windows of relationships started by day 5 have closed.
    assert rows == [
        (11, "them", day(1), day(4), 3, True),
        (12, "us", day(2), day(3), 1, True),
        (13, "same_day", day(2), day(2), 0, True),
        (14, "them", day(1), None, None, True),
        (14, "them", day(6), day(7), 1, False),
        (15, "us", day(1), None, None, True),
        (16, "them", day(5), None, None, True),
        (16, "us", day(8), None, None, False),
    ]


def test_a_gap_in_the_reverse_list_leaves_the_order_unknown(scenario):
    # 2 follows on day 2 while the following list broke off; the account follows 2 by day 3.
    # 3 follows on day 2 too, but the account follows it only on day 4, after day 3's complete
    # following list showed it absent: 3 moved first.
    scenario.lists(0, {1}, {1})
    scenario.lists(1, {1}, {1})
    scenario.lists(2, {1, 2, 3}, {1}, incomplete=("following",))
    scenario.lists(3, {1, 2, 3}, {1, 2})
    scenario.lists(4, {1, 2, 3}, {1, 2, 3})
    scenario.transform()

    rows = scenario.rows(
        "mart.follow_back_events",
        "user_id, initiated_by, initiated_on, reciprocated_on, latency_days",
        "user_id",
    )
    assert rows == [(2, "unknown", day(2), day(3), 1), (3, "them", day(2), day(4), 2)]


def test_no_events_until_both_lists_have_a_complete_snapshot(scenario):
    for n in range(3):
        scenario.lists(n, {1} if n == 0 else {1, 2}, None)
    scenario.transform()
    assert scenario.rows("mart.follow_back_events", "user_id", "user_id") == []
