"""Does the daily run cost more after a long history? An early day and day N+1, back to back.

    python -m benchmarks.history_growth --followers 10m --old DIR [--repeat 3] [--same-size]
        [--young-day 3]

`make bench` measures day 2, 30 and 90 over an hour or more, and on a shared machine its speed
can drift in that time; comparing those days then mixes history with the machine. This runs the
same two daily runs in alternation, minutes apart: day 2 of a fresh warehouse, and the day
after the last day of a bench's work directory (DIR, e.g. /tmp/followback-bench/10m after a
90-day `make bench`). Each run starts from a copy of its warehouse, written to disk first
(`bench.copy_flushed`), so every repeat does the same work. Writes
benchmarks/results/history_growth-<size>-day<N>.json, N the old day's number (per step, the
fastest wall seconds of each, and their ratio; the same for CPU seconds; the largest peak RSS
of any step), which benchmarks/RESULTS.md shows at the next `make bench`. The targets
are wall times; the CPU seconds show how much of a gap is the work itself, on a VM whose wall
times drift with its neighbours.

The simulated accounts grow (the brand by about 10% in 90 days), so the old day also runs a
bigger account. `--same-size` makes the young account as big as the old one on its last day
(history_growth-<size>-day<N>-same-size.json): what history alone adds.

`--young-day 3` measures day 3 instead of day 2 (history_growth-<size>-day<N>-from-day3.json).
Day 3 is the first day whose transform compacts raw (the window of raw_retention_days is full),
which it then does every day at the same cost: against day 3, the old day shows what history
adds beyond it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb

from benchmarks.bench import (
    DAILY_RUN,
    EPOCH,
    RESULTS,
    commit,
    copy_flushed,
    machine,
    parse_size,
    run_child,
)
from benchmarks.run_step import config_for, label
from pipeline.warehouse import connect


def last_loaded_day(data_dir: Path, followers: int) -> date:
    # A writing connection of the pipeline's own, so that a warehouse built by older code is
    # moved to the current layout here, once, and not inside every timed load of its copies.
    with connect(config_for(data_dir, followers).settings) as con:
        # Into the file what a stopped run left in the write-ahead log: the runs copy the file.
        con.execute("CHECKPOINT")
        return con.execute("SELECT max(snapshot_date) FROM meta.snapshots").fetchone()[0]


def last_followers_count(data_dir: Path, followers: int) -> int:
    db = config_for(data_dir, followers).settings.db_path
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT row_count FROM meta.snapshots WHERE kind = 'followers' "
            "AND status = 'complete' ORDER BY snapshot_date DESC LIMIT 1"
        ).fetchone()[0]


def daily_run(data_dir: Path, followers: int, day: date, state: Path) -> dict[str, float]:
    """Each step's wall seconds and CPU seconds (<step>_cpu), and the largest step's peak RSS
    (rss_mb)."""
    db = config_for(data_dir, followers).settings.db_path
    copy_flushed(state, db)
    walls, account_id = {"rss_mb": 0.0}, None
    for step in DAILY_RUN:
        extra = {"account_id": account_id} if step == "transform" else {}
        report = run_child(step, data_dir, followers, day, **extra)
        walls[step] = report["wall"]
        walls[f"{step}_cpu"] = report["cpu"]
        walls["rss_mb"] = max(walls["rss_mb"], report["rss_mb"])
        if step == "load":
            account_id = report["output"]["account_id"]
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=parse_size, required=True)
    parser.add_argument("--old", type=Path, required=True, help="a bench work directory")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--young-day",
        type=int,
        default=2,
        help="the young warehouse's measured day (day 1 is the epoch), after days 1 to N-1",
    )
    parser.add_argument(
        "--same-size",
        action="store_true",
        help="start the young account with the old one's latest followers count",
    )
    args = parser.parse_args()

    old_day = last_loaded_day(args.old, args.followers) + timedelta(days=1)
    # The old account has grown since day 1: its size on the last day of its history.
    old_followers = last_followers_count(args.old, args.followers)
    sizes = {
        "young": old_followers if args.same_size else args.followers,
        "old": args.followers,
    }
    with tempfile.TemporaryDirectory() as tmp:
        young = Path(tmp) / "young"
        young_day = EPOCH + timedelta(days=args.young_day - 1)
        run_child("history", young, sizes["young"], EPOCH, until=young_day - timedelta(days=1))
        days = {"young": (young, young_day), "old": (args.old, old_day)}
        states = {}
        for name, (data_dir, day) in days.items():
            run_child("extract", data_dir, sizes[name], day)
            db = config_for(data_dir, sizes[name]).settings.db_path
            states[name] = Path(tmp) / f"{name}.duckdb"
            copy_flushed(db, states[name])
        runs = {name: [] for name in days}
        for _ in range(args.repeat):
            for name, (data_dir, day) in days.items():
                runs[name].append(daily_run(data_dir, sizes[name], day, states[name]))
        for name, (data_dir, _) in days.items():
            shutil.copy(states[name], config_for(data_dir, sizes[name]).settings.db_path)

    fastest = {
        name: {step: min(r[step] for r in rs) for step in DAILY_RUN} for name, rs in runs.items()
    }
    fastest_cpu = {
        name: {step: min(r[f"{step}_cpu"] for r in rs) for step in DAILY_RUN}
        for name, rs in runs.items()
    }
    for seconds in (*fastest.values(), *fastest_cpu.values()):
        seconds["daily_run"] = sum(seconds[step] for step in DAILY_RUN)
    result = {
        "followers": args.followers,
        "young_followers": sizes["young"],
        "old_followers": old_followers,
        "days": {name: day.isoformat() for name, (_, day) in days.items()},
        "fastest_seconds": fastest,
        "old_over_young": {
            step: fastest["old"][step] / fastest["young"][step] for step in fastest["old"]
        },
        "fastest_cpu_seconds": fastest_cpu,
        "cpu_old_over_young": {
            step: fastest_cpu["old"][step] / fastest_cpu["young"][step]
            for step in fastest_cpu["old"]
        },
        "peak_rss_mb": {name: max(r["rss_mb"] for r in rs) for name, rs in runs.items()},
        # Each repeat's old run over the young run just before it: their spread is the noise
        # that the fastest-of-N ratio above cannot show.
        "paired_ratios": [
            sum(old[step] for step in DAILY_RUN) / sum(young[step] for step in DAILY_RUN)
            for young, old in zip(runs["young"], runs["old"], strict=True)
        ],
        "repeat": args.repeat,
        "commit": commit(),
        "machine": machine(),
    }
    text = json.dumps(result, indent=1)
    # One file per old day: runs after 99 and after 365 days of history are kept side by side.
    suffix = (
        f"-day{(old_day - EPOCH).days + 1}"
        + ("-same-size" if args.same_size else "")
        + (f"-from-day{args.young_day}" if args.young_day != 2 else "")
    )
    (RESULTS / f"history_growth-{label(args.followers)}{suffix}.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
