"""Where a daily transform spends its time: each model, the compaction, and the rows recomputed.

    python -m benchmarks.model_timings --followers 1m --data-dir DIR [--repeat 3]

DIR holds a warehouse built by `make bench` or by
`python -m benchmarks.run_step history --data-dir DIR --followers 1000000 --date 2026-01-01
--until 2026-03-31`. The account's last date is transformed again, as its daily run left it to
the transform, in a transaction rolled back after each repeat, on a copy of the warehouse. Prints
one line a step: the fastest repeat's seconds, and the rows an incremental model wrote.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from benchmarks.bench import copy_flushed, parse_size
from benchmarks.run_step import config_for
from pipeline import retention, transform
from pipeline.warehouse import open_warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=parse_size, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = config_for(args.data_dir, args.followers).settings
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(source, db_path=Path(tmp) / "warehouse.duckdb")
        copy_flushed(source.db_path, settings.db_path)
        with open_warehouse(settings) as con:
            account_id, last = con.execute(
                "SELECT account_id, max(snapshot_date) FROM meta.snapshots GROUP BY 1"
            ).fetchone()
            parameters = {
                **transform._settings_parameters(settings),
                "account_id": account_id,
                "cutoff": last - timedelta(days=1),
            }
            seconds: dict[str, float] = {}
            rows: dict[str, int] = {}

            def timed(step: str, run) -> None:
                started = time.perf_counter()
                result = run()
                elapsed = time.perf_counter() - started
                seconds[step] = min(seconds.get(step, elapsed), elapsed)
                if result is not None:
                    rows[step] = result

            for _ in range(args.repeat):
                con.execute("BEGIN TRANSACTION")
                for model in transform.models():
                    if model.materialized != "incremental":
                        continue
                    timed(
                        model.name,
                        lambda model=model: transform.run_incremental(con, model, parameters),
                    )
                timed(
                    "retention.compact",
                    lambda: retention.compact(con, account_id, settings, parameters["cutoff"]),
                )
                con.execute("ROLLBACK")
    print(f"transform of {last}, fastest of {args.repeat}")
    for step, fastest in seconds.items():
        count = f"{rows[step]:10,} rows" if step in rows else ""
        print(f"{step:32} {fastest:6.3f} s {count}")
    print(f"{'total':32} {sum(seconds.values()):6.3f} s")


if __name__ == "__main__":
    main()
