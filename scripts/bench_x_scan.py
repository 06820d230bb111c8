"""Measure a long X API follower scan across rate-limit windows, offline.

A fake X API (the `responses` library) serves N followers in pages of 1,000 and answers 429 after
every 300 pages, as the real followers endpoint does per 15-minute window. The extract is retried
until it finishes, as the DAG's retry policy would after each reset, and the result is checked:
every follower exactly once, in order.

    .venv/bin/python scripts/bench_x_scan.py --followers 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import responses

from pipeline import extract, landing
from pipeline.config import Account, default_settings
from pipeline.sources import RateLimited
from pipeline.sources.x_api import XApiSource

API = "https://api.twitter.com/2"
ACCOUNT_ID = "1500000000000000001"
PAGE, WINDOW = 1000, 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("X_BEARER_TOKEN", "benchmark-token")
    account = Account(handle="big_account", source="x_api")
    day = date(2026, 2, 20)
    served = {"left": WINDOW}

    def followers(request):
        token = request.params.get("pagination_token")
        page = int(token) if token else 0
        if served["left"] == 0:
            served["left"] = WINDOW
            return 429, {"x-rate-limit-reset": str(int(time.time()))}, "{}"
        served["left"] -= 1
        first = page * PAGE
        users = [
            {"id": str(10**12 + i), "username": f"user{i}", "description": "Reads a lot."}
            for i in range(first, min(first + PAGE, args.followers))
        ]
        meta = {"result_count": len(users)}
        if first + PAGE < args.followers:
            meta["next_token"] = str(page + 1)
        return 200, {}, json.dumps({"data": users, "meta": meta})

    profile = {
        "data": {
            "id": ACCOUNT_ID,
            "username": account.handle,
            "public_metrics": {"followers_count": args.followers, "following_count": 0},
        }
    }
    with tempfile.TemporaryDirectory() as tmp, responses.RequestsMock() as api:
        settings = replace(default_settings(), data_dir=Path(tmp), db_path=Path(tmp) / "x.duckdb")
        api.get(f"{API}/users/by/username/{account.handle}", json=profile)
        api.add_callback("GET", f"{API}/users/{ACCOUNT_ID}/followers", callback=followers)
        api.get(f"{API}/users/{ACCOUNT_ID}/following", json={"meta": {"result_count": 0}})
        started, attempts = time.perf_counter(), 0
        while True:
            attempts += 1
            try:
                extract.extract_graph(account, day, settings, XApiSource(account, settings))
                break
            except RateLimited:
                continue
        elapsed = time.perf_counter() - started
        path = landing.data_path(settings.landing_dir, "followers", account.handle, day)
        ids = pq.read_table(path).column("user_id").to_pylist()
        assert ids == [str(10**12 + i) for i in range(args.followers)], "lost or repeated users"
        manifest = landing.read_manifest(settings.landing_dir, "followers", account.handle, day)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.followers:,} followers, {manifest.details['pages']:,} pages, {attempts} attempts "
        f"({attempts - 1} rate-limit windows): {elapsed:.1f} s, peak RSS {peak_mb:.0f} MB, "
        f"{manifest.requests:,} requests, estimated ${manifest.cost_usd:,.2f}. Every follower "
        "landed exactly once."
    )


if __name__ == "__main__":
    main()
