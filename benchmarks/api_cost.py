"""What following an account costs on the X API, and what our code adds to each page read.

The cost model mirrors how pipeline/sources/x_api.py reads a list (../shared/reference/x-api.md
for pages, rate limits and prices):

- full scan: every page of 1,000 users, plus one profile lookup (which states the count);
- incremental: the newest pages until one holds only known users, on top of the previous list;
  a full scan instead when the last one is `x_reconcile_every_days` old, and whenever the stated
  count says more than `x_reconcile_min_lost_share` of the known and new users left.

With the share at 0 (any loss reconciles) and losses of `loss_rate` a day, a day with no loss at
all has probability exp(-loss_rate * N); the share of full-scan days follows from a chain over the
days since the last full scan. With a share s above 0, the losses accumulate to s after
floor(s / loss_rate) + 1 days, or the schedule comes first.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from pipeline import extract, landing
from pipeline.config import Account, default_settings
from pipeline.sources import x_api

PAGE = x_api.LIST_PAGE_SIZE
# The rate-limit ceiling of the followers endpoint: 300 pages per 15 minutes per token.
SECONDS_PER_PAGE_AT_CEILING = 15 * 60 / 300


@dataclass(frozen=True)
class DailyCost:
    requests: float
    resources: float
    full_scan_share: float

    def usd(self, price: float) -> float:
        return self.resources * price


def full_scan_share(
    followers: int, loss_rate: float, every_days: int, min_lost_share: float = 0.0
) -> float:
    """Long-run share of days that read every page."""
    if min_lost_share > 0:
        return 1 / min(every_days, math.floor(min_lost_share / loss_rate) + 1)
    quiet = math.exp(-loss_rate * followers)
    # P(k days since the last full scan) is proportional to quiet**k, for k < every_days.
    weights = [quiet**k for k in range(every_days)]
    return weights[0] / sum(weights)


def daily_cost(
    followers: int,
    policy: str,
    loss_rate: float = 0.001,
    gain_rate: float = 0.002,
    every_days: int = 7,
    min_lost_share: float = 0.0,
) -> DailyCost:
    """Expected requests and resources (users returned, the profile included) a day."""
    pages = max(1, math.ceil(followers / PAGE))
    full = DailyCost(pages + 1, followers + 1, 1.0)
    if policy == "daily":
        return full
    # The new users are on the first pages; the first page without any stops the read. Reading
    # them all is a full scan.
    newest = math.ceil(gain_rate * followers / PAGE) + 1
    if newest >= pages:
        return full
    share = full_scan_share(followers, loss_rate, every_days, min_lost_share)
    incremental = (newest + 1, min(followers, newest * PAGE) + 1)
    return DailyCost(
        share * full.requests + (1 - share) * incremental[0],
        share * full.resources + (1 - share) * incremental[1],
        share,
    )


class _FakeClient:
    """Serves the same page of 1,000 followers as JSON text, decoded per request as tweepy does."""

    def __init__(self, page_text: str, pages: int):
        self.page_text = page_text
        self.pages = pages

    def get_users_followers(self, account_id, max_results, user_fields, pagination_token=None):
        served = int(pagination_token or 0) + 1
        response = json.loads(self.page_text)
        offset = served * PAGE
        for i, user in enumerate(response["data"]):
            user["id"] = str(10**15 + offset + i)
        response["meta"]["next_token"] = str(served) if served < self.pages else None
        return response

    get_users_following = get_users_followers


def _page_text() -> str:
    """A page of 1,000 users with every field the source asks for (reference doc shapes)."""
    users = [
        {
            "id": str(10**15 + i),
            "name": f"User {i}",
            "username": f"user{i}",
            "created_at": "2019-05-01T08:00:00.000Z",
            "description": "Reads a lot. Opinions my own.",
            "protected": False,
            "verified": False,
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{i}/x_normal.jpg",
            "public_metrics": {
                "followers_count": 320 + i,
                "following_count": 280,
                "tweet_count": 5000,
                "listed_count": 2,
                "like_count": 900,
                "media_count": 40,
            },
        }
        for i in range(PAGE)
    ]
    return json.dumps({"data": users, "meta": {"result_count": PAGE, "next_token": "1"}})


def page_processing(pages: int = 300) -> dict:
    """Seconds our code spends per page of a full followers read (JSON decode, Arrow rows,
    checkpoints, the final de-duplication), against the rate limit's 3 seconds per page."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = default_settings(data_dir=Path(tmp), db_path=Path(tmp) / "unused.duckdb")
        os.environ.setdefault(x_api.TOKEN_ENV, "benchmark-no-requests")
        source = x_api.XApiSource(Account(handle="bench_pages", source="x_api"), settings)
        source.client = _FakeClient(_page_text(), pages)
        stream = source._stream("followers", date(2026, 1, 1))
        started = time.perf_counter()
        batch, _ = source._read_list("followers", date(2026, 1, 1), "1", pages * PAGE, stream)
        seconds = time.perf_counter() - started
    per_page = seconds / pages
    return {
        "pages": pages,
        "users": len(batch.user_ids),
        "seconds": seconds,
        "seconds_per_page": per_page,
        "share_of_rate_limit_budget": per_page / SECONDS_PER_PAGE_AT_CEILING,
    }


class _ChangingAccount:
    """A fake tweepy client for an account whose followers change daily: new ones on top (X
    lists the newest first), losses anywhere. Its profile states the true count."""

    def __init__(self, followers: int, gain_rate: float, loss_rate: float, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.gain_rate, self.loss_rate = gain_rate, loss_rate
        self.ids = np.arange(followers, 0, -1, dtype=np.int64) + 10**15
        self.newest = self.ids[0]

    def next_day(self) -> None:
        kept = self.rng.random(len(self.ids)) >= self.loss_rate
        gained = round(self.gain_rate * len(self.ids))
        new = self.newest + np.arange(gained, 0, -1, dtype=np.int64)
        self.newest += gained
        self.ids = np.concatenate([new, self.ids[kept]])

    def get_user(self, username, user_fields):
        counts = {"followers_count": len(self.ids), "following_count": 0, "tweet_count": 0}
        return {"data": {"id": "1", "username": username, "public_metrics": counts}}

    def get_users_followers(self, account_id, max_results, user_fields, pagination_token=None):
        start = int(pagination_token or 0)
        page = self.ids[start : start + max_results]
        following = start + max_results < len(self.ids)
        return {
            "data": [{"id": str(i), "username": f"u{i}"} for i in page],
            "meta": {"result_count": len(page), "next_token": str(start + max_results)}
            if following
            else {"result_count": len(page)},
        }

    def get_users_following(self, account_id, max_results, user_fields, pagination_token=None):
        return {"data": [], "meta": {"result_count": 0}}


# The policies compared: full_scan, and x_reconcile_min_lost_share for incremental reads.
POLICIES = (("daily", 0.0), ("incremental", 0.0), ("incremental", 0.01))


def policy_label(policy: str, min_lost_share: float) -> str:
    if policy == "daily":
        return policy
    return f"{policy}, x_reconcile_min_lost_share {min_lost_share:g}"


def replay(
    followers: int,
    days: int,
    policy: str,
    min_lost_share: float = 0.0,
    gain_rate=0.002,
    loss_rate=0.001,
) -> dict:
    """Requests, resources and full-scan days of the followers list as x_api.py reads it, day
    after day, from a fake API: the check on the model. The first (full) day is left out."""
    account = Account(handle="bench_replay", source="x_api", full_scan=policy)
    client = _ChangingAccount(followers, gain_rate, loss_rate)
    totals = {"requests": 0, "resources": 0, "full": 0}
    with tempfile.TemporaryDirectory() as tmp:
        settings = default_settings(
            data_dir=Path(tmp),
            db_path=Path(tmp) / "unused.duckdb",
            x_reconcile_min_lost_share=min_lost_share,
        )
        os.environ.setdefault(x_api.TOKEN_ENV, "benchmark-no-requests")
        for number in range(days + 1):
            day = date(2026, 1, 1) + timedelta(days=number)
            if number:
                client.next_day()
            source = x_api.XApiSource(account, settings)
            source.client = client
            extract.extract_graph(account, day, settings, source)
            manifest = landing.read_manifest(settings.landing_dir, "followers", account.handle, day)
            if number:
                totals["requests"] += manifest.requests
                totals["resources"] += manifest.resources
                totals["full"] += manifest.details["scan"] == "full"
    return {
        "followers": followers,
        "policy": policy_label(policy, min_lost_share),
        "days": days,
        "requests": totals["requests"] / days,
        "resources": totals["resources"] / days,
        "full_scan_share": totals["full"] / days,
    }


def cost_table(accounts: dict[str, int], settings=None) -> list[dict]:
    """Per account and policy: requests, resources and USD a day (user and owned prices)."""
    settings = settings or default_settings()
    rows = []
    for name, followers in accounts.items():
        for policy, min_lost_share in POLICIES:
            cost = daily_cost(
                followers,
                policy,
                every_days=settings.x_reconcile_every_days,
                min_lost_share=min_lost_share,
            )
            rows.append(
                {
                    "account": name,
                    "followers": followers,
                    "policy": policy_label(policy, min_lost_share),
                    "full_scan_share": cost.full_scan_share,
                    "requests": cost.requests,
                    "resources": cost.resources,
                    "usd": cost.usd(settings.x_price_user_read),
                    "usd_owned": cost.usd(settings.x_price_owned_read),
                }
            )
    return rows
