"""Benchmark: validate a follower batch of 1,000,000 rows (the target is under 10 s).

Extracts one simulated day of an account with a million followers into a temporary landing area,
then times `validate_day` on its followers partition: reading the Parquet, running the GX suite
(not null, unique, numeric id, row count against the stated count), writing validation.json and
rendering the Data Docs page. The first run also creates the month's GX project; GX's import is
timed apart, since a worker process pays it once whatever it validates.

    .venv/bin/python benchmarks/validate_1m.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from pipeline import extract, landing, validate
from pipeline.config import Account, default_settings

FOLLOWERS = 1_000_000
RUNS = 3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = default_settings(data_dir=data, db_path=data / "followback.duckdb")
        account = Account(handle="bench_1m", persona="brand", followers=FOLLOWERS)
        day = date.fromisoformat(settings.sim_epoch)
        extract.extract_graph(account, day, settings)

        started = time.perf_counter()
        import great_expectations  # noqa: F401

        print(f"import great_expectations: {time.perf_counter() - started:.2f} s (once a process)")
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            [result] = validate.validate_day(account, day, settings, kinds=("followers",))
            timings.append(time.perf_counter() - started)
        rows = landing.read_manifest(
            settings.landing_dir, "followers", account.handle, day
        ).row_count
        assert result.success and rows >= FOLLOWERS, result
        print(f"followers batch of {rows:,} rows, {result.evaluated} expectations, all passed")
        print(f"first run (creates the GX project): {timings[0]:.2f} s")
        later = ", ".join(f"{t:.2f}" for t in timings[1:])
        print(f"later runs: median {statistics.median(timings[1:]):.2f} s ({later})")


if __name__ == "__main__":
    main()
