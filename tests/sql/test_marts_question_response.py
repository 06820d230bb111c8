from dataclasses import replace
from datetime import date, timedelta

import pytest

from pipeline import load, run
from pipeline.config import Account, Config
from pipeline.warehouse import open_warehouse
from tests.helpers import land_replies
from tests.sql.scenario import ACCOUNT_ID, at, day

QUESTION, CONFIGURED, QUOTE = 500, 505, 506


def _day_zero(scenario):
    """Followers 1-3; a question at 10:00 answered by followers, a non-follower, the account
    itself and user 4 (who follows only from day 1, so is not in the audience)."""
    scenario.lists(0, {1, 2, 3}, set())
    posted = at(0, 10)
    scenario.tweet(0, QUESTION, posted, "Coffee or tea while you work?")
    scenario.tweet(0, 501, at(0, 11), "New post is up: https://example.com/blog/post?id=42&ref=tw")
    scenario.tweet(0, 502, at(0, 12), "RT @news: Is this the future of work?", "retweeted")
    scenario.tweet(0, 503, at(0, 13), "@bob did you see it?", "replied_to", 42)
    scenario.tweet(0, 504, at(0, 14), "Anyone else up early?")
    scenario.tweet(0, QUOTE, at(0, 9), "Would you read this?", "quoted")
    scenario.con.executemany(
        "INSERT INTO meta.question_overrides VALUES (?, ?, ?)",
        [[ACCOUNT_ID, "504", False], [ACCOUNT_ID, str(CONFIGURED), True]],
    )
    for reply_id, author, minutes in (
        (1001, 1, 10),
        (1002, 1, 50),
        (1003, 9, 30),
        (1004, ACCOUNT_ID, 20),
        (1005, 4, 120),
    ):
        scenario.reply(0, reply_id, QUESTION, author, posted + timedelta(minutes=minutes))
    scenario.reply(0, 1008, QUOTE, 3, at(0, 9) + timedelta(minutes=5))
    scenario.reply(0, 1009, 501, 1, at(0, 12))
    scenario.replies_fetched(0, at(1))


def _day_one(scenario):
    scenario.lists(1, {1, 2, 3, 4}, set())
    posted = at(0, 10)
    # Both extracts return the question and the first reply: they count once.
    scenario.tweet(1, QUESTION, posted, "Coffee or tea while you work?")
    scenario.tweet(1, CONFIGURED, at(1, 12), "Big news today.")
    scenario.reply(1, 1001, QUESTION, 1, posted + timedelta(minutes=10))
    scenario.reply(1, 1006, QUESTION, 2, posted + timedelta(hours=23, minutes=59))
    scenario.reply(1, 1007, QUESTION, 3, posted + timedelta(hours=24, minutes=1))
    scenario.replies_fetched(1, at(2))


COLUMNS = (
    "tweet_id, posted_at, detected_by, audience_snapshot_date, audience, repliers_24h, "
    "follower_repliers_24h, response_rate, replies_24h, median_reply_latency_minutes, status"
)


def test_question_response_open_then_final(scenario):
    _day_zero(scenario)
    scenario.transform()
    # Replies fetched so far end at midnight, before the question's 24 hours are up.
    assert scenario.rows("mart.question_response", COLUMNS, "tweet_id") == [
        (QUESTION, at(0, 10), "auto", day(0), 3, 3, 1, pytest.approx(1 / 3), 4, 40.0, "open"),
        (QUOTE, at(0, 9), "auto", day(0), 3, 1, 1, pytest.approx(1 / 3), 1, 5.0, "open"),
    ]

    _day_one(scenario)
    scenario.transform()
    # The 23h59 reply counts, the 24h01 one does not; latencies 10, 30, 50, 120, 1439 minutes.
    assert scenario.rows("mart.question_response", COLUMNS, "tweet_id") == [
        (QUESTION, at(0, 10), "auto", day(0), 3, 4, 2, pytest.approx(2 / 3), 5, 50.0, "final"),
        (CONFIGURED, at(1, 12), "config", day(1), 4, 0, 0, 0.0, 0, None, "open"),
        (QUOTE, at(0, 9), "auto", day(0), 3, 1, 1, pytest.approx(1 / 3), 1, 5.0, "final"),
    ]


def test_the_latest_extract_of_a_reply_wins(scenario):
    # As in staging.stg_replies: a reply returned again with other values counts as the later
    # extract has it. Day 0 says user 9 (no follower) answered; day 1 says follower 2 did.
    posted = at(0, 10)
    for n, author, minutes in ((0, 9, 10), (1, 2, 20)):
        scenario.lists(n, {1, 2, 3}, set())
        scenario.tweet(n, QUESTION, posted, "Coffee or tea while you work?")
        scenario.reply(n, 1001, QUESTION, author, posted + timedelta(minutes=minutes))
        scenario.replies_fetched(n, at(n + 1))
    scenario.transform()

    assert scenario.rows(
        "mart.question_response",
        "repliers_24h, follower_repliers_24h, replies_24h, median_reply_latency_minutes",
        "tweet_id",
    ) == [(1, 1, 1, 20.0)]
    curve = scenario.rows("mart.question_response_curve", "hour, follower_repliers", "hour")
    assert curve == [(hour, 1) for hour in range(1, 25)]


def test_detection_off_leaves_only_configured_questions(scenario):
    scenario.settings = replace(scenario.settings, detect_questions=False)
    _day_zero(scenario)
    _day_one(scenario)
    scenario.transform()
    assert scenario.rows("mart.question_response", "tweet_id, detected_by", "tweet_id") == [
        (CONFIGURED, "config")
    ]


def test_question_response_curve(scenario):
    _day_zero(scenario)
    _day_one(scenario)
    scenario.transform()
    rows = scenario.rows(
        "mart.question_response_curve",
        "tweet_id, hour, follower_repliers, response_rate, status",
        "tweet_id, hour",
    )
    # Follower 1 first answers after 10 minutes, follower 2 at 23h59: in hour 24.
    expected = (
        [(QUESTION, hour, 1, pytest.approx(1 / 3), "final") for hour in range(1, 24)]
        + [(QUESTION, 24, 2, pytest.approx(2 / 3), "final")]
        + [(CONFIGURED, hour, 0, 0.0, "open") for hour in range(1, 25)]
        + [(QUOTE, hour, 1, pytest.approx(1 / 3), "final") for hour in range(1, 25)]
    )
    assert rows == expected


def test_questions_named_in_config_reach_the_marts(config):
    """The accounts file's `questions:` travel through the load into the question marts."""
    organic = Account(handle="maya_writes", persona="organic")
    config = Config(settings=config.settings, accounts=(organic,))
    first_day = date.fromisoformat(config.settings.sim_epoch)
    run.run_day("maya_writes", first_day, config)
    with open_warehouse(config.settings) as con:
        statement = con.execute(
            "SELECT tweet_id FROM staging.stg_tweets WHERE is_original AND NOT has_question_mark "
            "ORDER BY tweet_id LIMIT 1"
        ).fetchall()[0][0]

    named = replace(organic, questions={str(statement): True})
    run.run_day("maya_writes", first_day, replace(config, accounts=(named,)))
    with open_warehouse(config.settings) as con:
        assert con.execute(
            "SELECT detected_by FROM mart.question_response WHERE tweet_id = ?", [statement]
        ).fetchall() == [("config",)]

    # Dropped from the file again: the override is withdrawn and the marts forget the tweet.
    run.run_day("maya_writes", first_day, config)
    with open_warehouse(config.settings) as con:
        assert con.execute(
            "SELECT tweet_id, is_question FROM meta.question_overrides"
        ).fetchall() == [(str(statement), None)]
        assert con.execute(
            "SELECT count(*) FROM mart.question_response WHERE tweet_id = ?", [statement]
        ).fetchall() == [(0,)]


def test_question_marks_inside_links_mentions_and_hashtags_do_not_ask(scenario):
    texts = {
        601: "New post is up: https://example.com/blog/post?id=42&ref=tw",
        602: "Thoughts on this https://t.co/abc?",
        603: "Is it just me, or #why?",
        604: "Via @maya_x: https://x.com/i?q=1 #tips",
    }
    scenario.lists(0, {1}, set())
    for tweet_id, text in texts.items():
        scenario.tweet(0, tweet_id, at(0, 9), text)
    scenario.transform()
    assert scenario.rows("staging.stg_tweets", "tweet_id, has_question_mark", "tweet_id") == [
        (601, False),
        (602, True),
        (603, True),
        (604, False),
    ]


def test_a_re_extract_that_drops_a_reply_recomputes_its_question(scenario):
    for n in range(4):
        scenario.lists(n, {1, 2}, set())
    scenario.tweet(0, QUESTION, at(0, 20), "Coffee or tea?")
    for n in range(3):
        scenario.replies_fetched(n, at(n + 1))
    # Only day 3's extract returns follower 1's answer; the question was final by day 2.
    account = Account(handle="hand_built", persona="organic")
    land_replies(scenario.settings, account, ACCOUNT_ID, day(3), [(9001, QUESTION, 1, at(1, 1))])
    load.load_day(scenario.con, account, day(3), scenario.settings, kinds=("replies",))
    scenario.transform()
    counts = "repliers_24h, follower_repliers_24h, replies_24h, status"
    assert scenario.rows("mart.question_response", counts, "tweet_id") == [(1, 1, 1, "final")]
    # Loading the same batch again replaces nothing: no question needs recomputing.
    load.load_day(scenario.con, account, day(3), scenario.settings, kinds=("replies",))
    replaced = "SELECT count(*) FROM meta.replaced_conversations"
    assert scenario.con.execute(replaced).fetchone() == (0,)

    # Day 3 is extracted again and the reply is gone (deleted on X), as a rebuild would say.
    land_replies(scenario.settings, account, ACCOUNT_ID, day(3), [])
    load.load_day(scenario.con, account, day(3), scenario.settings, kinds=("replies",))
    scenario.transform()
    assert scenario.rows("mart.question_response", counts, "tweet_id") == [(0, 0, 0, "final")]
    assert scenario.rows("mart.question_response_curve", "max(follower_repliers)", "1") == [(0,)]
