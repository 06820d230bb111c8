"""One step of a benchmarked day, in a process of its own as Airflow runs each task in its own.

    python -m benchmarks.run_step STEP --data-dir DIR --followers N --date YYYY-MM-DD

STEP is a task of the daily DAG (extract, validate, load, transform), `baseline` (the day of a
user without a warehouse, benchmarks/baseline.py) or `history` (setup: the days from --date to
--until, unmeasured and without the validation suites, to reach a long history quickly). Prints
one JSON line with the step's own wall and CPU seconds; imports are timed apart, as they cost the
same at any size. The parent reads the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks import baseline
from pipeline import extract, landing, load, run, transform
from pipeline.config import Account, Config, default_settings
from pipeline.warehouse import open_warehouse

# The landing kinds as big as the account; the bench keeps only the last days of them on disk.
BULKY_KINDS = ("followers", "following", "users", "truth_users")
KEPT_LANDING_DAYS = 2


def config_for(data_dir: Path, followers: int) -> Config:
    settings = default_settings(data_dir=data_dir, db_path=data_dir / "followback.duckdb")
    account = Account(
        handle=f"bench_{label(followers)}", source="simulated", persona="brand", followers=followers
    )
    return Config(settings=settings, accounts=(account,))


def label(followers: int) -> str:
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if followers >= size and followers % size == 0:
            return f"{followers // size}{unit}"
    return str(followers)


def prune_landing(config: Config, today: date) -> None:
    """Drop bulky landing partitions older than the last days: a long bench of a 10M account
    would otherwise keep over 1 GB a day. Nothing reads them back (no rerun or backfill)."""
    settings, account = config.settings, config.accounts[0]
    for kind in BULKY_KINDS:
        for day in landing.finished_dates(settings.landing_dir, kind, account.handle):
            if day <= today - timedelta(days=KEPT_LANDING_DAYS):
                shutil.rmtree(
                    landing.partition_dir(settings.landing_dir, kind, account.handle, day)
                )


def landed_lists(config: Config, day: date) -> dict[str, Path]:
    handle = config.accounts[0].handle
    return {
        kind: landing.data_path(config.settings.landing_dir, kind, handle, day)
        for kind in baseline.LISTS
    }


def history(config: Config, first: date, last: date) -> dict:
    """Extract, load and transform each day (no GX suites), and keep the baseline's snapshots."""
    settings, account = config.settings, config.accounts[0]
    days = {}
    day = first
    while day <= last:
        started = time.perf_counter()
        extract.extract_graph(account, day, settings)
        extract.extract_timeline(account, day, settings)
        extracted = time.perf_counter()
        with open_warehouse(settings) as con:
            result = load.load_day(con, account, day, settings)
            loaded = time.perf_counter()
            transform.transform_account(con, result.account_id, settings)
        transformed = time.perf_counter()
        baseline.ingest(settings.data_dir / "baseline", day, landed_lists(config, day))
        prune_landing(config, day)
        days[day.isoformat()] = {
            "extract": extracted - started,
            "load": loaded - extracted,
            "transform": transformed - loaded,
            "db_bytes": settings.db_path.stat().st_size,
        }
        day += timedelta(days=1)
    return {"days": days}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "step", choices=("extract", "validate", "load", "transform", "baseline", "history")
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--followers", type=int, required=True)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--until", type=date.fromisoformat)
    parser.add_argument("--account-id", type=int)
    args = parser.parse_args()
    config = config_for(args.data_dir, args.followers)
    handle, day = config.accounts[0].handle, args.date.isoformat()

    imports = time.perf_counter()
    if args.step in ("validate", "transform"):
        # GX takes seconds to import, in any task that validates; counted apart.
        import great_expectations  # noqa: F401
    imports = time.perf_counter() - imports

    wall, cpu = time.perf_counter(), time.process_time()
    output: dict = {}
    if args.step == "extract":
        run.extract_graph(handle, day, config)
        run.extract_timeline(handle, day, config)
    elif args.step == "validate":
        output = run.validate_snapshot(handle, day, config)
    elif args.step == "load":
        output = run.load_snapshot(handle, day, config)
    elif args.step == "transform":
        run.transform_account(args.account_id, config)
    elif args.step == "baseline":
        store = config.settings.data_dir / "baseline"
        baseline.ingest(store, args.date, landed_lists(config, args.date))
        output = baseline.outputs(store, args.date, config.settings.churn_window_days)
    else:
        output = history(config, args.date, args.until or args.date)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "imports": imports, "output": output}, default=str))


if __name__ == "__main__":
    main()
