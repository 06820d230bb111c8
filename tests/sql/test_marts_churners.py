import pytest

from tests.sql.scenario import day

#  30: already following in the first snapshot, leaves on day 2: unknown start, no row.
#  31: a churner: follows on day 1, leaves on day 4; again on days 10-16 (seven days, still inside
#      the window), when its day-12 profile came without counts; a third time for eight days
#      (outside the window).
#  32: follows on day 2, followed back on day 3, leaves on day 6: short, but not churn.
#  33: follows on day 1 and leaves after 30 days: not a churner.
#  34: follows on day 5, leaves on day 7, its following count climbing by 100 a day.
#  99: a steady mutual.
FOLLOWERS = {
    30: [0, 1],
    31: [*range(1, 4), *range(10, 17), *range(20, 28)],
    32: range(2, 6),
    33: range(1, 31),
    34: [5, 6],
    99: range(0, 33),
}
FOLLOWING = {32: range(3, 33), 99: range(0, 33)}


def test_churn_episodes_with_profile_signals(scenario):
    for n in range(33):
        scenario.lists(
            n,
            {user for user, days in FOLLOWERS.items() if n in days},
            {user for user, days in FOLLOWING.items() if n in days},
        )
    for n, following_count in ((1, 3000), (2, 3040), (3, 3080)):
        scenario.profile(n, 31, following_count, 2000)
    scenario.profile(10, 31, 3100, 2000)
    scenario.profile(11, 31, 3150, 2000)
    scenario.profile(12, 31, None, None)
    scenario.profile(5, 34, 1000, 500)
    scenario.profile(6, 34, 1100, 520)
    scenario.transform()

    rows = scenario.rows(
        "mart.churners",
        "user_id, followed_on, unfollowed_on, days_followed, followed_back, is_churn, episodes, "
        "following_count_growth_per_day, following_to_followers_ratio",
        "user_id, followed_on",
    )
    assert rows == [
        (31, day(1), day(4), 3, False, True, 1, 40.0, pytest.approx(3080 / 2000)),
        (31, day(10), day(17), 7, False, True, 2, 50.0, pytest.approx(3150 / 2000)),
        (32, day(2), day(6), 4, True, False, 0, None, None),
        (34, day(5), day(7), 2, False, True, 1, 100.0, pytest.approx(1100 / 520)),
    ]


def test_an_episode_the_following_list_never_saw_is_not_judged(scenario):
    # 40 follows on day 1 and leaves on day 3; the following list broke off on days 1 and 2.
    for n in range(4):
        scenario.lists(
            n,
            {40} if n in (1, 2) else set(),
            set(),
            incomplete=("following",) if n in (1, 2) else (),
        )
    scenario.transform()
    assert scenario.rows(
        "mart.churners", "user_id, followed_back, is_churn, episodes", "user_id"
    ) == [(40, False, None, 0)]
