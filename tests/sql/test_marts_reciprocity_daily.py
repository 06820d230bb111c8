from dataclasses import replace

import pytest

from tests.sql.scenario import day


def test_counts_rates_lopsided_and_self_churn(scenario):
    scenario.settings = replace(
        scenario.settings,
        churn_window_days=3,
        self_churn_min_episodes=2,
        lopsided_min_ratio=1.5,
        lopsided_min_following=5,
    )
    # The account follows 20 and drops it two days later (self-churn), follows 21 which follows
    # back on day 3 (not churn), keeps 22 for four days (longer than the window) and drops 23
    # after two days (self-churn).
    scenario.lists(0, {1, 2, 3}, {1, 2})
    scenario.lists(1, {1, 2, 3}, {1, 2, 20, 22})
    scenario.lists(2, {1, 2, 3}, {1, 2, 20, 21, 22})
    scenario.lists(3, {1, 2, 3, 21}, {1, 2, 21, 22, 23})
    scenario.lists(4, {1, 2, 3}, {1, 2, 22, 23})
    scenario.lists(5, {1, 2, 3}, {1, 2})
    # Day 6's following list is incomplete: without both lists the date has no row.
    scenario.lists(6, {1, 2, 3}, {1}, incomplete=("following",))
    scenario.transform()

    rows = scenario.rows(
        "mart.reciprocity_daily",
        "snapshot_date, followers, following, mutuals, followback_given_rate, "
        "followback_received_rate, reciprocity, following_to_followers_ratio, lopsided, "
        "self_churn_episodes, is_churning_own_following",
        "snapshot_date",
    )
    near = pytest.approx
    assert rows == [
        (day(0), 3, 2, 2, near(2 / 3), near(1.0), near(2 / 3), near(2 / 3), False, 0, False),
        (day(1), 3, 4, 2, near(2 / 3), near(0.5), near(0.4), near(4 / 3), False, 0, False),
        (day(2), 3, 5, 2, near(2 / 3), near(0.4), near(1 / 3), near(5 / 3), True, 0, False),
        (day(3), 4, 5, 3, near(3 / 4), near(0.6), near(0.5), near(5 / 4), False, 1, False),
        (day(4), 3, 4, 2, near(2 / 3), near(0.5), near(0.4), near(4 / 3), False, 1, False),
        (day(5), 3, 2, 2, near(2 / 3), near(1.0), near(2 / 3), near(2 / 3), False, 2, True),
    ]


def test_no_followers_gives_null_rates_and_lopsided_when_following_many(scenario):
    scenario.settings = replace(scenario.settings, lopsided_min_following=2)
    scenario.lists(0, set(), {5, 6})
    scenario.transform()
    assert scenario.rows(
        "mart.reciprocity_daily",
        "followers, following, followback_given_rate, followback_received_rate, reciprocity, "
        "following_to_followers_ratio, lopsided",
        "snapshot_date",
    ) == [(0, 2, None, 0.0, 0.0, None, True)]
