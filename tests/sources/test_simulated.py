from datetime import date, timedelta

import numpy as np
import pyarrow.compute as pc
import pytest

from pipeline.config import Account
from pipeline.sources.simulated import (
    QUESTIONS,
    REPLY_SEQUENCE_START,
    SEQUENCE_MAX,
    SimulatedSource,
    _rank_within_millisecond,
    _snowflake,
    world_for,
)

DAY = date(2026, 1, 20)


def source(settings, persona, handle=None, followers=None):
    account = Account(handle=handle or f"sim_{persona}", persona=persona, followers=followers)
    return SimulatedSource(account, settings)


def test_same_seed_same_world_whatever_the_order(settings):
    world_for.cache_clear()
    later_first = source(settings, "organic")
    later_first.extract_graph(date(2026, 2, 1))
    graph_a = later_first.extract_graph(DAY)
    world_for.cache_clear()
    graph_b = source(settings, "organic").extract_graph(DAY)
    assert graph_a.followers.user_ids.equals(graph_b.followers.user_ids)
    assert graph_a.users.equals(graph_b.users)


@pytest.mark.parametrize(
    "persona, followers, following",
    [
        ("organic", (250, 400), (250, 400)),
        ("autofollower", (5500, 8000), (3000, 7000)),
        ("brand", (20_000, 60_000), (50, 500)),
    ],
)
def test_personas_have_their_shape(settings, persona, followers, following):
    graph = source(settings, persona).extract_graph(DAY)
    assert followers[0] <= len(graph.followers.user_ids) <= followers[1]
    assert following[0] <= len(graph.following.user_ids) <= following[1]
    assert graph.followers.expected_count == len(graph.followers.user_ids)
    # Ids are unique numeric strings, and every listed user has a profile.
    ids = graph.followers.user_ids.to_numpy(zero_copy_only=False)
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids[:100])
    profiled = set(graph.users.column("user_id").to_pylist())
    assert set(ids) <= profiled


def test_truth_marks_populations_and_planted_episodes(settings):
    sim = source(settings, "organic")
    populations = set()
    episodes = 0
    for day in range(1, 29):
        graph = sim.extract_graph(date(2026, 1, day))
        populations |= set(graph.truth_users.column("population").to_pylist())
        episodes += graph.truth_episodes.num_rows
        assert pc.all(
            pc.less(
                graph.truth_episodes.column("followed_on"),
                graph.truth_episodes.column("unfollowed_on"),
            )
        ).as_py() in (True, None)
    assert populations == {"organic", "followback", "churner", "bot", "inactive"}
    assert episodes >= 10


def follower_answers_per_question(sim, days=40):
    """Distinct followers answering each question within 24 hours, as the seed test counts."""
    tweets, replies, followers_on = [], [], {}
    for n in range(days):
        day = date(2026, 1, 1) + timedelta(days=n)
        timeline = sim.extract_timeline(day)
        tweets += timeline.tweets.to_pylist()
        replies += timeline.replies.to_pylist()
        followers_on[day] = set(sim.extract_graph(day).followers.user_ids.to_pylist())
    answers = []
    for tweet in tweets:
        if tweet["text"] not in QUESTIONS or tweet["created_at"].date() > date(
            2026, 1, 1
        ) + timedelta(days=days - 3):
            continue
        audience = followers_on[tweet["created_at"].date()]
        answers.append(
            len(
                {
                    r["author_id"]
                    for r in replies
                    if r["conversation_id"] == tweet["tweet_id"]
                    and r["author_id"] in audience
                    and r["created_at"] - tweet["created_at"] < timedelta(hours=24)
                }
            )
        )
    return answers


def test_seed_experiment_is_planted(settings):
    """~300 followers: about 10 answers; ~6,000 auto-followed followers: about 2."""
    organic = follower_answers_per_question(source(settings, "organic"))
    autofollower = follower_answers_per_question(source(settings, "autofollower"))
    assert len(organic) >= 5 and len(autofollower) >= 5
    assert 8 <= np.mean(organic) <= 12
    assert np.mean(autofollower) <= 4


def test_replies_of_one_millisecond_get_ids_of_their_own():
    """X numbers the ids of each millisecond. Numbered per tweet instead, two replies to a 10M
    brand's question once got one id, and validation quarantined the day."""
    moments = np.array(
        ["2026-01-30T08:18:33.728", "2026-01-30T08:18:33.7285", "2026-01-30T08:18:33.729"]
        + ["2026-01-30T08:18:33.728"],
        "datetime64[us]",
    )
    ranks = _rank_within_millisecond(moments)
    assert ranks.tolist() == [0, 1, 0, 2]
    ids = _snowflake(moments, 7, REPLY_SEQUENCE_START + ranks)
    assert (ids & SEQUENCE_MAX).tolist() == [100, 101, 100, 102]
    assert len(set(ids.tolist())) == 4


def test_reply_ids_are_unique_and_never_a_tweets(settings):
    sim = source(settings, "organic")
    batches = [sim.extract_timeline(DAY + timedelta(days=n)) for n in range(10)]
    replies = [i for b in batches for i in b.replies.column("reply_id").to_pylist()]
    tweets = {i for b in batches for i in b.tweets.column("tweet_id").to_pylist()}
    assert len(replies) > 20
    assert len(set(replies)) == len(replies)
    assert tweets.isdisjoint(replies)


def test_one_million_followers_generate_vectorised(settings):
    graph = source(settings, "brand", handle="big_brand", followers=1_000_000).extract_graph(
        date(2026, 1, 3)
    )
    assert 990_000 <= len(graph.followers.user_ids) <= 1_020_000
    assert graph.users.num_rows >= len(graph.followers.user_ids)
