"""The X API v2 through tweepy: followers, following, own tweets and replies to questions.

Reads are resumable: tweepy never sleeps on a rate limit (wait_on_rate_limit=False). On a 429 the
pages fetched so far and the cursor are written to a checkpoint inside the landing partition they
will become, and RateLimited(reset_at) is raised, so the orchestrator frees the worker until the
reset and the next attempt continues from the cursor (see pipeline/retry_policy.py). Every read
counts requests and resources and estimates its cost from the price settings.

The bearer token comes from the Airflow connection `x_api` or X_BEARER_TOKEN; it is never logged,
never written to a file or table, and redacted from every error message.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import requests
import tweepy

from pipeline import landing
from pipeline.config import Account, Settings
from pipeline.landing import SCHEMAS
from pipeline.sources import (
    GraphBatch,
    ListBatch,
    RateLimited,
    SourceAccessError,
    TimelineBatch,
    Usage,
)

CONNECTION_ID = "x_api"
TOKEN_ENV = "X_BEARER_TOKEN"
USER_FIELDS = [
    "created_at",
    "public_metrics",
    "protected",
    "verified",
    "description",
    "profile_image_url",
]
TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
]
LIST_PAGE_SIZE = 1000
TWEET_PAGE_SIZE = 100
# search_recent_tweets only reaches this far back; a question's answers are counted for 24 hours.
SEARCH_WINDOW = timedelta(days=7)
ANSWER_WINDOW = timedelta(hours=24)
# When X sends no x-rate-limit-reset, wait one full rate-limit window.
DEFAULT_RESET = timedelta(minutes=15)

_BEARER = re.compile(r"Bearer\s+[^\s'\",}]+")
# A URL ends before trailing '?'s: they ask ("thoughts on https://t.co/x?").
_NOT_QUESTION_TEXT = re.compile(r"https?://\S*[^\s?]|[@#]\w+")


class _RedactBearer(logging.Filter):
    """tweepy logs request headers at DEBUG, Authorization included: never let a token through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer" in message:
            record.msg, record.args = _BEARER.sub("Bearer ***", message), None
        return True


logging.getLogger("tweepy.client").addFilter(_RedactBearer())


class XApiError(RuntimeError):
    """The X API failed in a way that neither waiting for a reset nor new credentials fix."""


def bearer_token() -> str:
    """The password of the Airflow connection `x_api` in an Airflow task, else X_BEARER_TOKEN."""
    in_airflow = bool(os.environ.get("AIRFLOW_CTX_DAG_ID"))
    token = _connection_password() if in_airflow else None
    if not token:
        token = os.environ.get(TOKEN_ENV)
        if token and in_airflow:
            # Connection passwords are masked in task logs already; register this one too.
            from airflow.sdk.log import mask_secret

            mask_secret(token)
    if not token:
        raise SourceAccessError(
            f"No X API bearer token: set the password of the Airflow connection "
            f"'{CONNECTION_ID}' to the app's bearer token, or the environment variable "
            f"{TOKEN_ENV} outside Airflow."
        )
    return token


def _connection_password() -> str | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(CONNECTION_ID).password
    except AirflowNotFoundException:
        return None


def is_question(text: str) -> bool:
    """A '?' outside URLs, @mentions and hashtags (../shared/reference/metrics.md)."""
    return "?" in _NOT_QUESTION_TEXT.sub("", text)


def _timestamp(value: str | None) -> datetime | None:
    """X's ISO 8601 UTC time ('2026-02-20T09:10:58.000Z') as a naive UTC datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)


def _user_row(user: dict, status: str = "active") -> dict:
    metrics = user.get("public_metrics") or {}
    return {
        "user_id": user["id"],
        "username": user.get("username"),
        "created_at": _timestamp(user.get("created_at")),
        "followers_count": metrics.get("followers_count"),
        "following_count": metrics.get("following_count"),
        "tweet_count": metrics.get("tweet_count"),
        "default_avatar": "default_profile_images" in user["profile_image_url"]
        if user.get("profile_image_url")
        else None,
        "description": user.get("description"),
        "protected": user.get("protected"),
        "verified": user.get("verified"),
        "status": status,
    }


def _error_status(error: dict) -> str | None:
    """'suspended' or 'deleted' for a user the API could not return; None for other errors."""
    if error.get("resource_type") != "user" or not error.get("resource_id"):
        return None
    if "suspended" in error.get("detail", "").lower():
        return "suspended"
    if error.get("title") == "Not Found Error":
        return "deleted"
    return None


def _users_page(response: dict) -> pa.Table:
    rows = [_user_row(user) for user in response.get("data") or []]
    for error in response.get("errors") or []:
        if status := _error_status(error):
            rows.append(_user_row({"id": error["resource_id"]}, status))
    return pa.Table.from_pylist(rows, schema=SCHEMAS["users"])


def _tweet_row(tweet: dict) -> dict:
    metrics = tweet.get("public_metrics") or {}
    references = tweet.get("referenced_tweets") or []
    return {
        "tweet_id": tweet["id"],
        "author_id": tweet.get("author_id"),
        "created_at": _timestamp(tweet.get("created_at")),
        "text": tweet.get("text"),
        "conversation_id": tweet.get("conversation_id"),
        "in_reply_to_user_id": tweet.get("in_reply_to_user_id"),
        "referenced_type": references[0]["type"] if references else None,
        "like_count": metrics.get("like_count"),
        "retweet_count": metrics.get("retweet_count"),
        "reply_count": metrics.get("reply_count"),
    }


def _tweets_page(response: dict) -> pa.Table:
    rows = [_tweet_row(tweet) for tweet in response.get("data") or []]
    return pa.Table.from_pylist(rows, schema=SCHEMAS["tweets"])


def _replies_page(response: dict) -> pa.Table:
    rows = []
    for tweet in response.get("data") or []:
        # The search also matches the root tweet of the conversation; it is not a reply.
        if tweet["id"] == tweet.get("conversation_id"):
            continue
        replied_to = [
            r["id"] for r in tweet.get("referenced_tweets") or [] if r["type"] == "replied_to"
        ]
        rows.append(
            {
                "reply_id": tweet["id"],
                "conversation_id": tweet.get("conversation_id"),
                "in_reply_to_tweet_id": replied_to[0] if replied_to else None,
                "author_id": tweet.get("author_id"),
                "created_at": _timestamp(tweet.get("created_at")),
                "text": tweet.get("text"),
            }
        )
    return pa.Table.from_pylist(rows, schema=SCHEMAS["replies"])


def _first_per_key(table: pa.Table, column: str) -> pa.Table:
    """The table without repeated keys, keeping each key's first row (pages can overlap)."""
    rows = pa.table({"key": table.column(column), "row": pa.array(np.arange(table.num_rows))})
    first = rows.group_by("key", use_threads=False).aggregate([("row", "min")])
    return table.take(np.sort(first.column("row_min").to_numpy()))


class _Stream:
    """One paginated read (a list, the timeline, a conversation), resumable from its checkpoint.

    The checkpoint state holds the cursor, whether the read is done, its usage so far, and the
    query parameters the first attempt chose: a pagination token is only valid for the same query.
    """

    def __init__(self, directory):
        self.checkpoint = landing.Checkpoint(directory)
        self.state = self.checkpoint.state
        self.state.setdefault("next_token", None)
        self.state.setdefault("done", False)
        self.state.setdefault("pages", 0)
        self.state.setdefault("attempts", 0)
        self.usage = Usage(self.state.get("requests", 0), self.state.get("resources", 0))
        if not self.state["done"]:
            self.state["attempts"] += 1

    def add(self, page: pa.Table, resources: int, next_token: str | None) -> None:
        self.checkpoint.add(page)
        self.usage.resources += resources
        self.state["pages"] += 1
        self.state["next_token"] = next_token
        self.state["done"] = next_token is None

    def save(self) -> None:
        self.state["requests"], self.state["resources"] = self.usage.requests, self.usage.resources
        self.checkpoint.flush()

    def table(self, schema: pa.Schema) -> pa.Table:
        return pa.concat_tables([schema.empty_table(), *self.checkpoint.pages()])


class XApiSource:
    def __init__(
        self,
        account: Account,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.account = account
        self.settings = settings
        self.clock = clock
        self._token = bearer_token()
        self.client = tweepy.Client(
            bearer_token=self._token, return_type=dict, wait_on_rate_limit=False
        )

    # -- requests -------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return _BEARER.sub("Bearer ***", text.replace(self._token, "***"))

    def _call(self, method, usage: Usage, what: str, **params) -> dict:
        """One API request, with 5xx and dropped connections retried in place."""
        attempts, attempt = max(1, self.settings.x_server_error_attempts), 1
        while True:
            usage.requests += 1
            try:
                return method(**params)
            except tweepy.TooManyRequests as error:
                reset_at = (
                    datetime.fromtimestamp(error.reset_time, UTC)
                    if error.reset_time
                    else self.clock() + DEFAULT_RESET
                )
                raise RateLimited(
                    f"X API rate limit reached reading {what}; the pages read so far are "
                    f"checkpointed and the limit resets at {reset_at:%Y-%m-%d %H:%M:%S} UTC.",
                    reset_at,
                ) from None
            except tweepy.Unauthorized:
                raise SourceAccessError(
                    f"The X API refused the bearer token (401 Unauthorized) reading {what}. The "
                    "token is wrong, revoked or was regenerated: set the password of the Airflow "
                    f"connection '{CONNECTION_ID}' (or {TOKEN_ENV}) to the app's current bearer "
                    "token."
                ) from None
            except tweepy.Forbidden as error:
                detail = "; ".join(str(m) for m in error.api_messages) or str(error)
                raise SourceAccessError(
                    f"The X API forbade reading {what} (403 Forbidden): {self._redact(detail)} "
                    "The token's access tier may not include this endpoint (followers, following "
                    "and search need a paid tier or pay-per-use credits), the app may not be in a "
                    "Project, or the account is protected."
                ) from None
            except (tweepy.TwitterServerError, requests.ConnectionError, requests.Timeout) as error:
                if attempt == attempts:
                    raise XApiError(
                        f"The X API failed {attempts} times reading {what}: "
                        f"{self._redact(str(error))}"
                    ) from None
                time.sleep(self.settings.x_server_error_backoff_seconds * 2 ** (attempt - 1))
                attempt += 1

    def _read_pages(
        self,
        stream: _Stream,
        what: str,
        request: Callable[..., dict],
        parse: Callable[[dict], pa.Table],
        token_param: str,
        stop: Callable[[pa.Table], bool] | None = None,
    ) -> None:
        """Read pages from the stream's cursor until the last one, or until `stop` accepts one.

        Whatever ends the read (the last page, `stop`, a rate limit, any error), the pages read so
        far and the cursor are written to the checkpoint first.
        """
        try:
            while not stream.state["done"]:
                token = stream.state["next_token"]
                response = self._call(request, stream.usage, what, **{token_param: token})
                page = parse(response)
                returned = len(response.get("data") or [])
                stream.add(page, returned, (response.get("meta") or {}).get("next_token"))
                if stop is not None and stop(page):
                    stream.state["done"] = True
                if stream.checkpoint.pending_pages >= self.settings.x_checkpoint_every_pages:
                    stream.save()
        finally:
            stream.save()

    def _stream(self, kind: str, snapshot_date: date, *parts: str) -> _Stream:
        directory = landing.partition_dir(
            self.settings.landing_dir, kind, self.account.handle, snapshot_date
        )
        return _Stream(directory.joinpath(landing.CHECKPOINT, *parts))

    def _profile(self, usage: Usage) -> dict:
        what = f"the profile of @{self.account.handle}"
        response = self._call(
            self.client.get_user,
            usage,
            what,
            username=self.account.handle,
            user_fields=USER_FIELDS,
        )
        if not response.get("data"):
            errors = "; ".join(e.get("detail", str(e)) for e in response.get("errors") or [])
            raise XApiError(f"The X API returned no user for @{self.account.handle}: {errors}")
        usage.resources += 1
        return response["data"]

    def _price(self, kind: str) -> float:
        if self.account.owned and kind in ("followers", "following", "tweets"):
            return self.settings.x_price_owned_read
        if kind in ("tweets", "replies"):
            return self.settings.x_price_post_read
        return self.settings.x_price_user_read

    # -- the landing history this extract builds on (never the warehouse) ----------------------

    def _earlier_manifests(self, kind: str, snapshot_date: date) -> list[landing.Manifest]:
        landing_dir, handle = self.settings.landing_dir, self.account.handle
        return [
            landing.read_manifest(landing_dir, kind, handle, day)
            for day in landing.finished_dates(landing_dir, kind, handle)
            if day < snapshot_date
        ]

    def _scan_policy(self, kind: str, snapshot_date: date) -> tuple[str, str, str | None]:
        """'full' or 'incremental', why, and the date of the snapshot an incremental read extends.

        Decided once per (list, date) and kept in the checkpoint, so a resumed read keeps it.
        """
        if self.account.full_scan == "daily":
            return "full", "full_scan: daily", None
        complete = [m for m in self._earlier_manifests(kind, snapshot_date) if m.completed]
        if not complete:
            return "full", "no earlier complete snapshot to extend", None
        last_full = max(
            (m.snapshot_date for m in complete if m.details.get("scan", "full") == "full"),
            default=None,
        )
        every = self.settings.x_reconcile_every_days
        if last_full is None or (snapshot_date - date.fromisoformat(last_full)).days >= every:
            return "full", f"reconcile every {every} days; last full scan: {last_full}", None
        return "incremental", "newest pages until known users", complete[-1].snapshot_date

    def _known_ids(self, kind: str, snapshot_date: str) -> pa.Array:
        day = date.fromisoformat(snapshot_date)
        path = landing.data_path(self.settings.landing_dir, kind, self.account.handle, day)
        return pq.read_table(path).column("user_id").combine_chunks()

    # -- graph ----------------------------------------------------------------------------------

    def _read_list(
        self, kind: str, snapshot_date: date, account_id: str, stated_count: int, stream: _Stream
    ) -> tuple[ListBatch, pa.Table]:
        """One list under the account's full_scan policy, and the profiles that came with it."""
        state = stream.state
        if "scan" not in state:
            state["scan"], state["scan_reason"], state["extends"] = self._scan_policy(
                kind, snapshot_date
            )
        request = {
            "followers": self.client.get_users_followers,
            "following": self.client.get_users_following,
        }[kind]

        def read(stop=None):
            self._read_pages(
                stream,
                f"the {kind} of @{self.account.handle}",
                lambda **token: request(
                    account_id, max_results=LIST_PAGE_SIZE, user_fields=USER_FIELDS, **token
                ),
                _users_page,
                "pagination_token",
                stop,
            )

        known = pa.array([], pa.string())
        if state["scan"] == "incremental":
            known = self._known_ids(kind, state["extends"])
            # X lists the newest first: a page of known users means the rest is known too.
            read(stop=lambda page: pc.all(pc.is_in(_active_ids(page), known)).as_py())
        else:
            read()
        users = _first_per_key(stream.table(SCHEMAS["users"]), "user_id")
        if state["scan"] == "incremental":
            carried = known.filter(pc.invert(pc.is_in(known, _active_ids(users))))
            listed = len(_active_ids(users)) + len(carried)
            if state["next_token"] is None:
                state["scan"], state["scan_reason"] = "full", "the newest pages were all pages"
            elif listed - stated_count > self.settings.x_reconcile_min_lost_share * listed:
                # Someone left: only a full read can say who. Continue from the cursor.
                state["scan"] = "full"
                state["scan_reason"] = (
                    f"reconcile: the profile states {stated_count} {kind}, fewer than the "
                    f"{listed} known and new ones"
                )
                state["done"] = False
                read()
                users = _first_per_key(stream.table(SCHEMAS["users"]), "user_id")
        stream.save()
        fetched = _active_ids(users)
        ids = fetched
        statuses = users.column("status")
        details = {
            "scan": state["scan"],
            "scan_reason": state["scan_reason"],
            "pages": state["pages"],
            "attempts": state["attempts"],
            "suspended": _count(pc.equal(statuses, "suspended")),
            "deleted": _count(pc.equal(statuses, "deleted")),
        }
        if state["scan"] == "incremental":
            ids = pa.concat_arrays([fetched, carried])
            details["extends"] = state["extends"]
            details["new"] = _count(pc.invert(pc.is_in(fetched, known)))
        batch = ListBatch(
            ids,
            expected_count=stated_count,
            usage=stream.usage,
            details=details,
        )
        return batch, users

    def extract_graph(self, snapshot_date: date) -> GraphBatch:
        followers_stream = self._stream("followers", snapshot_date)
        me = self._profile(followers_stream.usage)
        metrics = me.get("public_metrics") or {}
        followers, follower_users = self._read_list(
            "followers", snapshot_date, me["id"], metrics.get("followers_count"), followers_stream
        )
        following, following_users = self._read_list(
            "following",
            snapshot_date,
            me["id"],
            metrics.get("following_count"),
            self._stream("following", snapshot_date),
        )
        # X charges a resource once a UTC day: mutuals are billed with the followers.
        followers_read = _active_ids(follower_users)
        following_only = _count(pc.invert(pc.is_in(_active_ids(following_users), followers_read)))
        followers.usage.cost_usd = (len(followers_read) + 1) * self._price("followers")
        following.usage.cost_usd = following_only * self._price("following")
        users = pa.concat_tables(
            [
                follower_users,
                following_users,
                pa.Table.from_pylist([_user_row(me)], schema=SCHEMAS["users"]),
            ]
        )
        return GraphBatch(
            account_id=me["id"],
            followers=followers,
            following=following,
            users=_first_per_key(users, "user_id"),
            fetched_at=self.clock(),
        )

    # -- timeline -------------------------------------------------------------------------------

    def _read_tweets(self, snapshot_date: date, account_id: str, stream: _Stream) -> pa.Table:
        """Own tweets since the newest one an earlier extract saw (since_id)."""
        state = stream.state
        if "since_id" not in state:
            earlier = self._earlier_manifests("tweets", snapshot_date)
            state["since_id"] = earlier[-1].details.get("newest_id") if earlier else None
            # A first run reads as far back as replies can still be searched.
            state["start_time"] = (
                None if state["since_id"] else (self.clock() - SEARCH_WINDOW).isoformat()
            )
        window = {"since_id": state["since_id"]} if state["since_id"] else {}
        if state["start_time"]:
            window["start_time"] = datetime.fromisoformat(state["start_time"])
        self._read_pages(
            stream,
            f"the tweets of @{self.account.handle}",
            lambda **token: self.client.get_users_tweets(
                account_id,
                max_results=TWEET_PAGE_SIZE,
                tweet_fields=TWEET_FIELDS,
                **window,
                **token,
            ),
            _tweets_page,
            "pagination_token",
        )
        return _first_per_key(stream.table(SCHEMAS["tweets"]), "tweet_id")

    def _open_questions(self, snapshot_date: date, tweets: pa.Table) -> dict[str, datetime]:
        """Question tweets still searchable whose 24-hour window no earlier fetch completed."""
        now = self.clock().replace(tzinfo=None)
        landing_dir, handle = self.settings.landing_dir, self.account.handle
        recent = [tweets] + [
            pq.read_table(landing.data_path(landing_dir, "tweets", handle, day))
            for day in landing.finished_dates(landing_dir, "tweets", handle)
            if snapshot_date - SEARCH_WINDOW - timedelta(days=1) <= day < snapshot_date
        ]
        final = set()
        for manifest in self._earlier_manifests("replies", snapshot_date):
            conversations = manifest.details.get("conversations", {})
            final |= {c for c, seen in conversations.items() if seen["final"]}
        questions = {}
        # The same rule as staging.stg_tweets and mart.question_response: the config wins.
        for tweet in pa.concat_tables(recent).to_pylist():
            tweet_id, posted_at, text = tweet["tweet_id"], tweet["created_at"], tweet["text"] or ""
            original = (
                tweet["referenced_type"] in (None, "quoted")
                and tweet["in_reply_to_user_id"] is None
                and not text.startswith("RT @")
            )
            asked = self.account.questions.get(tweet_id)
            if asked is None:
                asked = self.settings.detect_questions and original and is_question(text)
            if asked and posted_at > now - SEARCH_WINDOW and tweet_id not in final:
                questions[tweet_id] = posted_at
        return questions

    def _since_reply(self, snapshot_date: date, conversation_id: str) -> str | None:
        seen = [
            m.details["conversations"][conversation_id]["newest_id"]
            for m in self._earlier_manifests("replies", snapshot_date)
            if conversation_id in m.details.get("conversations", {})
        ]
        return max(filter(None, seen), key=int, default=None)

    def extract_timeline(self, snapshot_date: date) -> TimelineBatch:
        tweets_stream = self._stream("tweets", snapshot_date)
        me = self._profile(tweets_stream.usage)
        tweets = self._read_tweets(snapshot_date, me["id"], tweets_stream)
        ids = tweets.column("tweet_id").to_pylist()
        newest = max(ids, key=int) if ids else tweets_stream.state["since_id"]

        replies_usage, conversations, reply_pages = Usage(), {}, []
        for conversation_id, posted_at in self._open_questions(snapshot_date, tweets).items():
            stream = self._stream("replies", snapshot_date, f"conversation={conversation_id}")
            if "since_id" not in stream.state:
                stream.state["since_id"] = self._since_reply(snapshot_date, conversation_id)
            since = {"since_id": stream.state["since_id"]} if stream.state["since_id"] else {}
            self._read_pages(
                stream,
                f"the replies to tweet {conversation_id}",
                lambda conversation_id=conversation_id, since=since, **token: (
                    self.client.search_recent_tweets(
                        f"conversation_id:{conversation_id}",
                        max_results=TWEET_PAGE_SIZE,
                        tweet_fields=TWEET_FIELDS,
                        **since,
                        **token,
                    )
                ),
                _replies_page,
                "next_token",
            )
            page = stream.table(SCHEMAS["replies"])
            reply_pages.append(page)
            replies_usage.requests += stream.usage.requests
            replies_usage.resources += stream.usage.resources
            reply_ids = page.column("reply_id").to_pylist()
            conversations[conversation_id] = {
                "newest_id": max(reply_ids, key=int) if reply_ids else stream.state["since_id"],
                # Fetched after the window closed: no later reply can count, so stop asking.
                "final": self.clock().replace(tzinfo=None) >= posted_at + ANSWER_WINDOW,
            }
        replies = _first_per_key(
            pa.concat_tables([SCHEMAS["replies"].empty_table(), *reply_pages]), "reply_id"
        )
        tweets_usage = tweets_stream.usage
        tweets_usage.cost_usd = len(ids) * self._price("tweets") + self._price("users")
        replies_usage.cost_usd = replies.num_rows * self._price("replies")
        return TimelineBatch(
            account_id=me["id"],
            tweets=tweets,
            replies=replies,
            fetched_at=self.clock(),
            usage={"tweets": tweets_usage, "replies": replies_usage},
            details={
                "tweets": {"since_id": tweets_stream.state["since_id"], "newest_id": newest},
                "replies": {"conversations": conversations},
            },
        )


def _count(mask: pa.Array) -> int:
    return pc.sum(mask).as_py() or 0


def _active_ids(users: pa.Table) -> pa.Array:
    """The ids of the users a page returned (not the ones reported in its errors)."""
    active = users.filter(pc.equal(users.column("status"), "active"))
    return active.column("user_id").combine_chunks()
