"""A simulated X account world: deterministic for a seed, vectorised, no credentials.

Every relationship is drawn once, when it starts, as an interval [start_day, end_day) of days
since the epoch, so the snapshot of any day is a mask over arrays and any date can be generated
alone, in any order, with the same result. Batches are drawn per arrival day from a generator
seeded by (seed, account, day), never per user.

Populations (see ../shared/seeds): organic people follow out of interest, rarely unfollow and
sometimes answer questions; follow-back accounts follow back anyone; follow churners follow,
wait a few days and unfollow if not followed back (and may do it again); bots never reply;
inactive accounts never do anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import Account, Settings
from pipeline.landing import SCHEMAS
from pipeline.sources import (
    SNOWFLAKE_TIME_SHIFT,
    X_EPOCH_MS,
    GraphBatch,
    ListBatch,
    TimelineBatch,
)

POPULATIONS = ("organic", "followback", "churner", "bot", "inactive")
ORGANIC, FOLLOWBACK, CHURNER, BOT, INACTIVE = range(len(POPULATIONS))
NEVER = np.int32(1 << 30)
# Daily hazard of unfollowing A, by population (churners: once they were followed back).
UNFOLLOW_HAZARD = np.array([0.0007, 0.002, 0.001, 0.0005, 0.0], dtype=np.float64)
# Probability that a follower of each population answers a question within its thread.
ANSWER_PROB = np.array([0.05, 0.0002, 0.004, 0.0, 0.0])
X_DAILY_FOLLOW_LIMIT = 400
SELF_KEY = (1 << 40) - 1
TARGET_SPACE = 1 << 38
OUTSIDER_SPACE = 1 << 39
# An id's last 12 bits number the ids of one millisecond. The account's tweets take the first
# numbers of theirs and replies start above, so a reply never shares an id with a tweet.
SEQUENCE_MAX = 0xFFF
REPLY_SEQUENCE_START = 100


@dataclass(frozen=True)
class Persona:
    initial_followers: int
    initial_mix: tuple[float, ...]  # share of each population among the initial followers
    daily_arrivals: tuple[float, ...]  # mean new followers a day, by population
    follows_back: tuple[float, ...]  # chance A follows back a new follower, by population
    initial_mutual_share: float  # share of initial organic/follow-back followers A follows
    initial_one_way_following: int  # accounts A follows that never follow back
    own_follows_per_day: int = 0  # accounts A follows a day hoping for a follow-back
    tweets_per_day: float = 3.0
    question_every_days: float = 4.0
    # Scales every follower's chance of answering: a brand's audience rarely talks back.
    answer_scale: float = 1.0


PERSONAS = {
    "organic": Persona(
        initial_followers=300,
        initial_mix=(0.72, 0.08, 0.0, 0.1, 0.1),
        daily_arrivals=(1.5, 0.15, 0.8, 0.3, 0.1),
        follows_back=(0.9, 0.6, 0.25, 0.0, 0.05),
        initial_mutual_share=0.9,
        initial_one_way_following=60,
        tweets_per_day=3,
        question_every_days=4,
    ),
    "autofollower": Persona(
        initial_followers=6000,
        initial_mix=(0.005, 0.6, 0.0, 0.3, 0.095),
        daily_arrivals=(0.1, 2.0, 3.0, 8.0, 1.0),
        follows_back=(0.5, 0.9, 0.3, 0.6, 0.5),
        initial_mutual_share=0.95,
        initial_one_way_following=400,
        own_follows_per_day=120,
        tweets_per_day=10,
        question_every_days=5,
    ),
    "brand": Persona(
        initial_followers=30000,
        initial_mix=(0.55, 0.1, 0.0, 0.25, 0.1),
        daily_arrivals=(30.0, 4.0, 6.0, 15.0, 5.0),
        follows_back=(0.01, 0.01, 0.01, 0.0, 0.0),
        initial_mutual_share=0.005,
        initial_one_way_following=60,
        tweets_per_day=6,
        question_every_days=3,
        answer_scale=0.05,
    ),
}

QUESTIONS = (
    "What's one book that changed how you think?",
    "Coffee or tea while you work?",
    "Which tool could you not do without this year?",
    "What are you working on this week?",
    "Where do you find good long reads these days?",
)
STATEMENTS = (
    "Shipped a small thing today. Feels good.",
    "New post is up: https://example.com/blog/post?id=42&ref=tw",
    "Thanks @friend for the tip! #writing",
    "Morning walk, then deep work.",
    "Reading notes from the weekend, more soon.",
)
BIOS = ("Writer. Runner.", "Coffee, code, cats.", "Opinions my own.", "Building things.", "")


def _mix62(values: np.ndarray) -> np.ndarray:
    """A bijection on [0, 2**62): distinct keys always give distinct ids."""
    mask = np.uint64((1 << 62) - 1)
    x = values.astype(np.uint64) & mask
    with np.errstate(over="ignore"):
        x = (x * np.uint64(0x9E3779B97F4A7C15)) & mask
        x ^= x >> np.uint64(31)
        x = (x * np.uint64(0xBF58476D1CE4E5B9)) & mask
        x ^= x >> np.uint64(29)
        x = (x * np.uint64(0x94D049BB133111EB)) & mask
        x ^= x >> np.uint64(32)
    return x


def _uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """A per-user uniform in [0, 1), the same for a key whatever day asks for it."""
    return (_mix62(keys ^ np.int64(salt * 0x2545F491)) >> np.uint64(9)).astype(np.float64) / float(
        1 << 53
    )


def account_key(handle: str) -> int:
    return int.from_bytes(hashlib.blake2b(handle.lower().encode(), digest_size=3).digest()) & (
        (1 << 21) - 1
    )


def user_ids(account: int, keys: np.ndarray) -> np.ndarray:
    return (_mix62((np.int64(account) << np.int64(40)) | keys) + np.uint64(1)).astype(np.int64)


def _ids_as_strings(ids: np.ndarray) -> pa.Array:
    return pa.array(ids, type=pa.int64()).cast(pa.string())


def _geometric_end(rng: np.random.Generator, start: np.ndarray, hazard: np.ndarray) -> np.ndarray:
    """The day a relationship ends, given a daily hazard of ending (0 = never)."""
    safe = np.where(hazard > 0, hazard, 0.5)
    ends = start + rng.geometric(safe).astype(np.int64)
    return np.where(hazard > 0, np.minimum(ends, NEVER), NEVER).astype(np.int32)


@dataclass
class Edges:
    """Relationship intervals of one direction, plus who the users are."""

    keys: np.ndarray  # int64 user keys (ids are derived from them)
    population: np.ndarray  # int8
    start: np.ndarray  # int32 day index
    end: np.ndarray  # int32 day index, exclusive
    planted_churn: np.ndarray  # bool: a follow churner episode (never followed back)

    @staticmethod
    def concat(parts: list[Edges]) -> Edges:
        return Edges(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Edges.__dataclass_fields__)
        )

    @staticmethod
    def make(keys, population, start, end, planted=None) -> Edges:
        n = len(keys)
        return Edges(
            np.asarray(keys, dtype=np.int64),
            np.broadcast_to(np.asarray(population, dtype=np.int8), (n,)).copy(),
            np.broadcast_to(np.asarray(start, dtype=np.int32), (n,)).copy(),
            np.asarray(end, dtype=np.int32),
            np.zeros(n, bool) if planted is None else np.asarray(planted, dtype=bool),
        )

    def alive(self, day: int) -> np.ndarray:
        return (self.start <= day) & (self.end > day)


class World:
    """All relationships of one simulated tracked account, drawn day by day up to a horizon."""

    def __init__(self, handle: str, persona: Persona, seed: int, followers: int | None):
        self.handle = handle
        self.persona = persona
        self.seed = seed
        self.key = account_key(handle)
        self.scale = (followers / persona.initial_followers) if followers else 1.0
        self.drawn_through = -1
        self._followers: list[Edges] = []
        self._following: list[Edges] = []
        self._merged: tuple[int, Edges, Edges] | None = None

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.key, *parts])

    def _draw_initial(self) -> None:
        p, rng = self.persona, self._rng(0, 0)
        n = int(round(p.initial_followers * self.scale))
        population = rng.choice(len(POPULATIONS), size=n, p=np.array(p.initial_mix)).astype(np.int8)
        keys = np.arange(n, dtype=np.int64)
        start = np.zeros(n, np.int32)
        self._followers.append(
            Edges.make(
                keys, population, start, _geometric_end(rng, start, UNFOLLOW_HAZARD[population])
            )
        )
        follows = np.isin(population, (ORGANIC, FOLLOWBACK, CHURNER)) & (
            rng.random(n) < p.initial_mutual_share
        )
        mutual_keys = keys[follows]
        one_way = int(round(p.initial_one_way_following * min(self.scale, 10)))
        one_way_keys = TARGET_SPACE + np.arange(one_way, dtype=np.int64)
        self._following.append(
            Edges.make(
                np.concatenate([mutual_keys, one_way_keys]),
                np.concatenate([population[follows], np.full(one_way, ORGANIC, np.int8)]),
                0,
                np.full(len(mutual_keys) + one_way, NEVER, np.int32),
            )
        )

    def _draw_day(self, day: int) -> None:
        p, rng = self.persona, self._rng(day, 1)
        counts = rng.poisson(np.array(p.daily_arrivals) * self.scale)
        population = np.repeat(np.arange(len(POPULATIONS), dtype=np.int8), counts)
        n = len(population)
        keys = (np.int64(day) << np.int64(24)) | np.arange(n, dtype=np.int64)
        followed_back = rng.random(n) < np.array(p.follows_back)[population]
        back_delay = rng.integers(0, 3, n)
        # Churners wait a few days (rarely longer than a week) before dropping non-followers.
        wait = np.where(rng.random(n) < 0.04, rng.integers(8, 12, n), rng.integers(1, 8, n))
        is_churner = population == CHURNER
        kept = ~is_churner | (followed_back & (back_delay < wait))
        followed_back &= kept
        end = np.where(
            kept,
            _geometric_end(rng, np.full(n, day), UNFOLLOW_HAZARD[population]),
            day + wait,
        ).astype(np.int32)
        self._followers.append(Edges.make(keys, population, day, end, planted=~kept))
        # Some churners come back for another round 10-20 days later.
        again = ~kept & (rng.random(n) < 0.3)
        if again.any():
            restart = end[again] + rng.integers(10, 21, int(again.sum()))
            self._followers.append(
                Edges.make(
                    keys[again],
                    CHURNER,
                    restart,
                    restart + rng.integers(1, 8, int(again.sum())),
                    planted=np.ones(int(again.sum()), bool),
                )
            )
        self._following.append(
            Edges.make(
                keys[followed_back],
                population[followed_back],
                day + back_delay[followed_back],
                np.full(int(followed_back.sum()), NEVER, np.int32),
            )
        )
        if p.own_follows_per_day:
            self._draw_own_follows(day, rng)

    def _draw_own_follows(self, day: int, rng: np.random.Generator) -> None:
        """A follows strangers hoping for a follow-back and drops the ones who don't."""
        m = min(self.persona.own_follows_per_day, X_DAILY_FOLLOW_LIMIT)
        keys = TARGET_SPACE + (np.int64(day) << np.int64(16)) + np.arange(m, dtype=np.int64)
        population = rng.choice(
            len(POPULATIONS), size=m, p=np.array([0.2, 0.4, 0.0, 0.2, 0.2])
        ).astype(np.int8)
        follows_back = rng.random(m) < np.where(population == FOLLOWBACK, 0.9, 0.03)
        delay = rng.integers(0, 3, m)
        dropped_after = rng.integers(3, 6, m)
        self._following.append(
            Edges.make(keys, population, day, np.where(follows_back, NEVER, day + dropped_after))
        )
        back = follows_back
        start = day + delay[back]
        self._followers.append(
            Edges.make(
                keys[back],
                population[back],
                start,
                _geometric_end(rng, start, UNFOLLOW_HAZARD[population[back]]),
            )
        )

    def edges(self, day: int) -> tuple[Edges, Edges]:
        """Follower and following intervals of everything drawn through `day`."""
        if day < 0:
            raise ValueError(
                f"{self.handle}: the simulation starts at its epoch; day {day} is before it."
            )
        if self.drawn_through < 0:
            self._draw_initial()
            self.drawn_through = 0
        while self.drawn_through < day:
            self.drawn_through += 1
            self._draw_day(self.drawn_through)
        if self._merged is None or self._merged[0] != self.drawn_through:
            self._merged = (
                self.drawn_through,
                Edges.concat(self._followers),
                Edges.concat(self._following),
            )
        return self._merged[1], self._merged[2]

    def ids(self, keys: np.ndarray) -> np.ndarray:
        return user_ids(self.key, keys)

    @property
    def self_id(self) -> int:
        return int(self.ids(np.array([SELF_KEY]))[0])


@lru_cache(maxsize=8)
def world_for(handle: str, persona: str, seed: int, followers: int | None) -> World:
    return World(handle, PERSONAS[persona], seed, followers)


def _profiles(world: World, keys: np.ndarray, population: np.ndarray, day: int) -> pa.Table:
    """Profiles as observed on `day`: a function of the user's key, population and the day."""
    u = [_uniform(keys, salt) for salt in range(1, 7)]
    base_followers = np.select(
        [population == ORGANIC, population == FOLLOWBACK, population == CHURNER, population == BOT],
        [50 + 2000 * u[0] ** 2, 1000 + 4000 * u[0], 2000 + 18000 * u[0], 50 * u[0]],
        10 + 190 * u[0],
    )
    followers_growth = np.select(
        [population == ORGANIC, population == FOLLOWBACK, population == CHURNER],
        [0.3 * u[1], 5 + 10 * u[1], 20 + 60 * u[1]],
        0.0,
    )
    # Churners follow up to X's daily cap and keep those who follow back: their following count
    # climbs by tens a day, which mart.churners reports as a signal.
    base_following = np.select(
        [population == ORGANIC, population == FOLLOWBACK, population == CHURNER, population == BOT],
        [100 + 900 * u[2], base_followers * 1.1, 3000 + 1900 * u[2], 1000 + 4000 * u[2]],
        20 + 300 * u[2],
    )
    following_growth = np.select(
        [population == ORGANIC, population == FOLLOWBACK, population == CHURNER, population == BOT],
        [0.5 * u[3], 5 + 15 * u[3], 40 + 80 * u[3], 2 + 3 * u[3]],
        0.0,
    )
    tweets = np.select(
        [population == ORGANIC, population == BOT, population == INACTIVE],
        [500 + 20000 * u[4], 20 * u[4], 50 * u[4]],
        2000 + 5000 * u[4],
    )
    tweet_growth = np.select([population == ORGANIC, population == INACTIVE], [3.0, 0.0], 1.0)
    epoch = datetime(2026, 1, 1)
    account_age_days = np.where(
        population == BOT,
        30 + 330 * u[5],
        np.where(population == CHURNER, 365 + 1460 * u[5], 365 + 5000 * u[5]),
    )
    created_at = np.datetime64(epoch) - (account_age_days * 86400).astype("timedelta64[s]")
    default_avatar = np.where(
        population == BOT, u[1] < 0.8, np.where(population == INACTIVE, u[1] < 0.5, u[1] < 0.05)
    )
    # Indices into BIOS plus a trailing "", taken by Arrow: a numpy array of 10M Python strings
    # would take longer to build than the rest of the profiles.
    bio = np.where(
        (population == BOT) & (u[3] < 0.7), len(BIOS), (u[4] * len(BIOS)).astype(int) % len(BIOS)
    )
    ids = world.ids(keys)
    return pa.table(
        {
            "user_id": _ids_as_strings(ids),
            "username": pc.binary_join_element_wise(
                "u", pa.array(ids % 10**12).cast(pa.string()), ""
            ),
            "created_at": pa.array(created_at.astype("datetime64[us]")),
            "followers_count": pa.array((base_followers + followers_growth * day).astype(np.int64)),
            "following_count": pa.array(
                np.minimum(base_following + following_growth * day, 5000 + base_followers).astype(
                    np.int64
                )
            ),
            "tweet_count": pa.array((tweets + tweet_growth * day).astype(np.int64)),
            "default_avatar": pa.array(default_avatar),
            "description": pa.array([*BIOS, ""]).take(pa.array(bio)),
            "protected": pa.array(np.zeros(len(ids), bool)),
            "verified": pa.array(np.zeros(len(ids), bool)),
            "status": pa.repeat("active", len(ids)),
        },
        schema=SCHEMAS["users"],
    )


def _snowflake(moments: np.ndarray, account: int, sequence: np.ndarray) -> np.ndarray:
    """Ids shaped like X's: milliseconds since X's epoch, then a worker and a sequence number."""
    ms = moments.astype("datetime64[ms]").astype(np.int64) - X_EPOCH_MS
    return (
        (ms << SNOWFLAKE_TIME_SHIFT)
        | (np.int64(account & 0x3FF) << 12)
        | (sequence.astype(np.int64) & SEQUENCE_MAX)
    )


def _rank_within_millisecond(moments: np.ndarray) -> np.ndarray:
    """Each moment's rank among the moments of its millisecond (0 for the first listed)."""
    ms = moments.astype("datetime64[ms]").astype(np.int64)
    order = np.argsort(ms, kind="stable")
    in_order = ms[order]
    positions = np.arange(len(ms))
    starts = np.r_[True, in_order[1:] != in_order[:-1]] if len(ms) else np.array([], bool)
    rank = np.empty(len(ms), np.int64)
    rank[order] = positions - np.maximum.accumulate(np.where(starts, positions, 0))
    if len(rank) and REPLY_SEQUENCE_START + rank.max() > SEQUENCE_MAX:
        raise ValueError(
            f"{rank.max() + 1} simulated replies in one millisecond: more than an id can number"
        )
    return rank


@dataclass
class _Tweet:
    tweet_id: int
    posted_at: np.datetime64
    text: str
    is_question: bool
    kind: str  # 'original', 'retweet' or 'reply'


class SimulatedSource:
    def __init__(self, account: Account, settings: Settings):
        self.account = account
        self.epoch = date.fromisoformat(settings.sim_epoch)
        self.world = world_for(account.handle, account.persona, settings.seed, account.followers)

    def _day(self, snapshot_date: date) -> int:
        day = (snapshot_date - self.epoch).days
        if day < 0:
            raise ValueError(
                f"{self.account.handle}: the simulated world starts on {self.epoch}; "
                f"{snapshot_date} is before it."
            )
        return day

    def _end_of_day(self, day: int) -> datetime:
        return datetime.combine(self.epoch + timedelta(days=day + 1), datetime.min.time(), UTC)

    def extract_graph(self, snapshot_date: date) -> GraphBatch:
        day = self._day(snapshot_date)
        world = self.world
        followers, following = world.edges(day)
        f_alive, g_alive = followers.alive(day), following.alive(day)
        f_keys, g_keys = followers.keys[f_alive], following.keys[g_alive]
        seen_keys, first = np.unique(np.concatenate([f_keys, g_keys]), return_index=True)
        seen_population = np.concatenate(
            [followers.population[f_alive], following.population[g_alive]]
        )[first]
        users = _profiles(world, seen_keys, seen_population, day)
        users = pa.concat_tables([users, self._self_profile(day, len(f_keys), len(g_keys))])
        episodes = followers.planted_churn & (followers.end == day)
        truth_episodes = pa.table(
            {
                "user_id": _ids_as_strings(world.ids(followers.keys[episodes])),
                "followed_on": pa.array(
                    [self.epoch + timedelta(days=int(d)) for d in followers.start[episodes]],
                    pa.date32(),
                ),
                "unfollowed_on": pa.array([snapshot_date] * int(episodes.sum()), pa.date32()),
            },
            schema=SCHEMAS["truth_episodes"],
        )
        truth_users = pa.table(
            {
                "user_id": users.column("user_id").slice(0, len(seen_keys)),
                "population": pa.array(POPULATIONS).take(pa.array(seen_population)),
            },
            schema=SCHEMAS["truth_users"],
        )
        return GraphBatch(
            account_id=str(world.self_id),
            followers=ListBatch(_ids_as_strings(world.ids(f_keys)), expected_count=len(f_keys)),
            following=ListBatch(_ids_as_strings(world.ids(g_keys)), expected_count=len(g_keys)),
            users=users,
            fetched_at=self._end_of_day(day),
            truth_users=truth_users,
            truth_episodes=truth_episodes,
        )

    def _self_profile(self, day: int, followers: int, following: int) -> pa.Table:
        return pa.table(
            {
                "user_id": [str(self.world.self_id)],
                "username": [self.account.handle],
                "created_at": pa.array([np.datetime64("2015-03-01T00:00:00", "us")]),
                "followers_count": [followers],
                "following_count": [following],
                "tweet_count": [5000 + int(self.world.persona.tweets_per_day * day)],
                "default_avatar": [False],
                "description": ["Tracked by Followback (simulated)."],
                "protected": [False],
                "verified": [False],
                "status": ["active"],
            },
            schema=SCHEMAS["users"],
        )

    def _tweets_of_day(self, day: int) -> list[_Tweet]:
        p = self.world.persona
        rng = self.world._rng(day, 2)
        n = max(1, int(rng.poisson(p.tweets_per_day)))
        start = np.datetime64(self.epoch + timedelta(days=day), "ms")
        moments = np.sort(
            start + rng.integers(6 * 3600_000, 22 * 3600_000, n).astype("timedelta64[ms]")
        )
        ids = _snowflake(moments, self.world.key, np.arange(n))
        question_at = int(rng.integers(0, n)) if rng.random() < 1 / p.question_every_days else -1
        tweets = []
        for i in range(n):
            roll = rng.random()
            if i == question_at:
                text, kind = QUESTIONS[int(rng.integers(0, len(QUESTIONS)))], "original"
            elif roll < 0.1:
                text, kind = "RT @news: Is this the future of work?", "retweet"
            else:
                text, kind = STATEMENTS[int(rng.integers(0, len(STATEMENTS)))], "original"
            tweets.append(_Tweet(int(ids[i]), moments[i], text, i == question_at, kind))
        return tweets

    def _replies_to(self, tweet: _Tweet, tweet_day: int) -> dict[str, np.ndarray]:
        """Every reply a tweet will ever get, drawn from the tweet's own generator."""
        world = self.world
        rng = world._rng(tweet_day, 3, tweet.tweet_id & 0xFFFFFFF)
        followers, _ = world.edges(tweet_day)
        alive = followers.alive(tweet_day)
        if tweet.kind == "retweet":
            return {"keys": np.array([], np.int64), "latency_min": np.array([])}
        if tweet.is_question:
            answers = rng.random(int(alive.sum())) < (
                ANSWER_PROB[followers.population[alive]] * world.persona.answer_scale
            )
            repliers = followers.keys[alive][answers]
            outsiders = (
                OUTSIDER_SPACE
                + (np.int64(tweet_day) << np.int64(16))
                + np.arange(int(rng.poisson(1.5)), dtype=np.int64)
                + np.int64((tweet.tweet_id & 0xFF) << 8)
            )
        else:
            organic = followers.keys[alive & (followers.population == ORGANIC)]
            repliers = rng.choice(
                organic, size=min(len(organic), int(rng.poisson(0.4))), replace=False
            )
            outsiders = np.array([], np.int64)
        keys = np.concatenate([repliers, outsiders])
        # Most answers come within hours; a tail arrives after the 24-hour window.
        latency = np.where(
            rng.random(len(keys)) < 0.08,
            rng.uniform(24 * 60, 40 * 60, len(keys)),
            np.minimum(rng.lognormal(np.log(90), 1.0, len(keys)), 23.5 * 60),
        )
        # A talks back in the thread to some of them; those replies are A's, not the audience's.
        talk_back = rng.random(len(keys)) < 0.3
        keys = np.concatenate([keys, np.full(int(talk_back.sum()), SELF_KEY, np.int64)])
        latency = np.concatenate(
            [latency, latency[talk_back] + rng.uniform(5, 60, int(talk_back.sum()))]
        )
        return {"keys": keys, "latency_min": latency}

    def extract_timeline(self, snapshot_date: date) -> TimelineBatch:
        day = self._day(snapshot_date)
        world = self.world
        tweets = self._tweets_of_day(day)
        tweet_rows = {f.name: [] for f in SCHEMAS["tweets"]}
        for tweet in tweets:
            tweet_rows["tweet_id"].append(str(tweet.tweet_id))
            tweet_rows["author_id"].append(str(world.self_id))
            tweet_rows["created_at"].append(tweet.posted_at.astype("datetime64[us]"))
            tweet_rows["text"].append(tweet.text)
            tweet_rows["conversation_id"].append(str(tweet.tweet_id))
            tweet_rows["in_reply_to_user_id"].append(None)
            tweet_rows["referenced_type"].append("retweeted" if tweet.kind == "retweet" else None)
            tweet_rows["like_count"].append(0)
            tweet_rows["retweet_count"].append(0)
            tweet_rows["reply_count"].append(0)
        day_start = np.datetime64(self.epoch + timedelta(days=day), "us")
        day_end = day_start + np.timedelta64(1, "D")
        reply_parts = []
        # Replies arrive up to two days after their tweet; collect the ones created today.
        for tweet_day in range(max(0, day - 2), day + 1):
            for tweet in self._tweets_of_day(tweet_day):
                drawn = self._replies_to(tweet, tweet_day)
                created = tweet.posted_at.astype("datetime64[us]") + (
                    drawn["latency_min"] * 60e6
                ).astype("timedelta64[us]")
                today = (created >= day_start) & (created < day_end)
                if not today.any():
                    continue
                reply_parts.append(
                    {
                        "author_id": world.ids(drawn["keys"][today]),
                        "created_at": created[today],
                        "tweet_id": np.full(int(today.sum()), tweet.tweet_id, np.int64),
                    }
                )
        if reply_parts:
            merged = {k: np.concatenate([part[k] for part in reply_parts]) for k in reply_parts[0]}
        else:
            merged = {
                "author_id": np.array([], np.int64),
                "created_at": np.array([], "datetime64[us]"),
                "tweet_id": np.array([], np.int64),
            }
        # Numbered per millisecond over the whole day, as X numbers its ids: numbered per tweet,
        # two replies of one millisecond could get one id (seen at 10M followers).
        merged["reply_id"] = _snowflake(
            merged["created_at"],
            world.key,
            REPLY_SEQUENCE_START + _rank_within_millisecond(merged["created_at"]),
        )
        conversation = _ids_as_strings(merged["tweet_id"])
        replies = pa.table(
            {
                "reply_id": _ids_as_strings(merged["reply_id"]),
                "conversation_id": conversation,
                "in_reply_to_tweet_id": conversation,
                "author_id": _ids_as_strings(merged["author_id"]),
                "created_at": pa.array(merged["created_at"], pa.timestamp("us")),
                "text": pa.array(np.full(len(merged["reply_id"]), "Good question!"), pa.string()),
            },
            schema=SCHEMAS["replies"],
        )
        return TimelineBatch(
            account_id=str(world.self_id),
            tweets=pa.table(tweet_rows, schema=SCHEMAS["tweets"]),
            replies=replies,
            fetched_at=self._end_of_day(day),
        )
