"""Benchmarks of issue 9: the daily run of accounts from 300 to 10M followers, its storage, a
warehouse-less baseline, and the X API's cost.

    python -m benchmarks.bench [--sizes 300,100k,1m,10m] [--days 90] [--measure 2,30,90]
                               [--work DIR] [--resume] [--budget-minutes M] [--quick]

For each size, a simulated brand account (persona `brand`, scaled to the size: about 0.2% new
followers and 0.07% lost a day) runs `days` days. The days listed in --measure run as the DAG runs
them, each task in a process of its own (validate, load, transform; the extract apart), with wall
and CPU seconds and peak RSS per task, and the baseline's day beside them (benchmarks/baseline.py),
whose outputs are checked against the marts'. The other days are a setup phase: extract, load and
transform without the validation suites, unmeasured. Results go to benchmarks/results/<size>.json
as days complete (so --resume can continue a run stopped by --budget-minutes), and the report,
the issue's targets against what was measured first, to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

import duckdb

from benchmarks import api_cost
from benchmarks.run_step import config_for, label, prune_landing

RESULTS = Path(__file__).parent / "results"
REPORT = Path(__file__).parent / "RESULTS.md"
EPOCH = date(2026, 1, 1)
HISTORY_CHUNK_DAYS = 10
DAILY_RUN = ("validate", "load", "transform")
LONG_BASELINE_SECONDS = 60


def parse_size(text: str) -> int:
    units = {"k": 1_000, "m": 1_000_000}
    text = text.strip().lower()
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def describe_machine(m: dict) -> str:
    return (
        f"{m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Linux {m['kernel']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']}, numpy {m['numpy']}, pandas {m['pandas']}, "
        f"pyarrow {m['pyarrow']}, Great Expectations {m['great_expectations']}"
    )


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    packages = ("duckdb", "numpy", "pandas", "pyarrow", "great_expectations", "tweepy")
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(memory_kb / 2**20, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        **{package: version(package.replace("_", "-")) for package in packages},
    }


def commit() -> str:
    """The commit of the code measured (the day's tasks import pipeline/ from this tree)."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()


def run_child(step: str, data_dir: Path, followers: int, day: date, **extra) -> dict:
    """Run one step in a fresh process; its JSON report plus peak RSS and the load average."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.run_step",
        step,
        "--data-dir",
        str(data_dir),
        "--followers",
        str(followers),
        "--date",
        day.isoformat(),
    ]
    for name, value in extra.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, cwd=Path(__file__).parents[1])
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        text = out.read()
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({status}):\n{text}")
    report = json.loads(text.strip().splitlines()[-1])
    report["rss_mb"] = usage.ru_maxrss / 1024
    report["loadavg"] = [load_before, os.getloadavg()[0]]
    return report


def copy_flushed(source: Path, target: Path) -> None:
    """Copy a warehouse, and write the copy to disk before a timed step opens it.

    A daily run opens the file that the day before's run closed hours ago. A fresh copy is still
    in the page cache, dirty for up to 30 s (vm.dirty_expire_centisecs), and the kernel writes
    it out during the timed steps, at the latest when the load's checkpoint fsyncs the file. An
    old warehouse is bigger (1.5 GB at 10M after 90 days, against 0.55 GB on day 1), so that
    cost of the copy would read as one of history (docs/performance.md, "2026-12-07, afternoon").
    """
    shutil.copy(source, target)
    with open(target, "rb") as copy:
        os.fsync(copy.fileno())


def bytes_under(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def storage(data_dir: Path, followers: int, day: date) -> dict:
    config = config_for(data_dir, followers)
    handle = config.accounts[0].handle
    landing = config.settings.landing_dir
    with duckdb.connect(str(config.settings.db_path), read_only=True) as con:
        used = con.execute(
            "SELECT block_size * used_blocks FROM pragma_database_size()"
        ).fetchone()[0]
    return {
        "db_file_bytes": config.settings.db_path.stat().st_size,
        "db_used_bytes": used,
        "day_landing_bytes": sum(
            bytes_under(landing / kind / f"account={handle}" / f"date={day.isoformat()}")
            for kind in ("followers", "following", "users")
        ),
        "baseline_bytes": bytes_under(data_dir / "baseline"),
        "baseline_day_bytes": sum(
            p.stat().st_size for p in (data_dir / "baseline").rglob(f"{day.isoformat()}.parquet")
        ),
    }


def compare(data_dir: Path, followers: int, day: date, expected: dict) -> dict:
    """The marts' outputs for the day against the baseline's: the same numbers or not."""
    config = config_for(data_dir, followers)
    with duckdb.connect(str(config.settings.db_path), read_only=True) as con:

        def one(sql: str):
            row = con.execute(sql, [day]).fetchone()
            return row[0] if row else None

        ours = {
            "followers": one(
                "SELECT followers FROM mart.reciprocity_daily WHERE snapshot_date = ?"
            ),
            "mutuals": one("SELECT mutuals FROM mart.reciprocity_daily WHERE snapshot_date = ?"),
            "gained": one("SELECT gained FROM mart.churn_daily WHERE snapshot_date = ?"),
            "lost": one("SELECT lost FROM mart.churn_daily WHERE snapshot_date = ?"),
            "episodes": one("SELECT count(*) FROM mart.churners WHERE unfollowed_on = ?"),
            "retention": {
                week.isoformat(): {
                    "cohort_size": size,
                    "retained_7d": r7,
                    "retained_30d": r30,
                }
                for week, size, r7, r30 in con.execute(
                    "SELECT cohort_week, cohort_size, retained_7d, retained_30d "
                    "FROM mart.follower_retention ORDER BY cohort_week"
                ).fetchall()
            },
        }
    differences = []
    for key, value in expected.items():
        if key == "retention":
            for week, cohort in value.items():
                for name, number in cohort.items():
                    got = ours["retention"].get(week, {}).get(name)
                    same = (got is None and number is None) or (
                        got is not None and number is not None and abs(got - number) < 1e-9
                    )
                    if not same:
                        differences.append(
                            f"retention {week} {name}: ours {got}, baseline {number}"
                        )
        elif ours[key] != value:
            differences.append(f"{key}: ours {ours[key]}, baseline {value}")
    return {"same_outputs": not differences, "differences": differences[:10]}


def measure_day(data_dir: Path, followers: int, day: date, repeat: int) -> dict:
    """The day's extract, then its daily run and the baseline's, `repeat` times from the same
    state (a baseline over LONG_BASELINE_SECONDS once); the fastest run of each step counts (the
    machine may be shared)."""
    config = config_for(data_dir, followers)
    extracted = run_child("extract", data_dir, followers, day)
    state = config.settings.db_path.with_name("before-measured-day.duckdb")
    copy_flushed(config.settings.db_path, state)
    runs, baselines = [], []
    for attempt in range(repeat):
        if attempt:
            copy_flushed(state, config.settings.db_path)
        steps = {}
        for step in DAILY_RUN:
            extra = (
                {"account_id": steps["load"]["output"]["account_id"]} if step == "transform" else {}
            )
            steps[step] = run_child(step, data_dir, followers, day, **extra)
        runs.append(steps)
        # A baseline day of minutes (10M followers, long histories) varies by a few percent at
        # most, and repeating it would take the better part of an hour.
        if not baselines or baselines[0]["wall"] < LONG_BASELINE_SECONDS:
            baselines.append(run_child("baseline", data_dir, followers, day))
    state.unlink()
    fastest = {step: min((r[step] for r in runs), key=lambda s: s["wall"]) for step in DAILY_RUN}
    baseline = min(baselines, key=lambda b: b["wall"])
    result = {
        "daily_run": {
            "wall": sum(fastest[s]["wall"] for s in DAILY_RUN),
            "cpu": sum(fastest[s]["cpu"] for s in DAILY_RUN),
            "peak_rss_mb": max(r[s]["rss_mb"] for r in runs for s in DAILY_RUN),
            "imports": sum(fastest[s]["imports"] for s in DAILY_RUN),
            "walls": [sum(r[s]["wall"] for s in DAILY_RUN) for r in runs],
        },
        "steps": {
            s: {k: v for k, v in r.items() if k != "output"}
            for s, r in {"extract": extracted, **fastest}.items()
        },
        "baseline": {k: v for k, v in baseline.items() if k != "output"}
        | {"walls": [b["wall"] for b in baselines]},
        "storage": storage(data_dir, followers, day),
        "outputs": compare(data_dir, followers, day, baseline["output"]),
        "commit": commit(),
    }
    prune_landing(config, day)
    return result


def bench_size(followers: int, args, deadline: float) -> dict:
    name = label(followers)
    data_dir = args.work / name
    state_file = RESULTS / f"{name}.json"
    if args.resume and state_file.exists():
        state = json.loads(state_file.read_text())
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        state = {
            "followers": followers,
            "days_done": 0,
            "history": {},
            "measured": {},
            "machine": machine(),
        }
    measured = sorted(d for d in args.measure if d <= args.days)
    while state["days_done"] < args.days:
        if time.monotonic() > deadline:
            print(
                f"{name}: stopped by the time budget after day {state['days_done']}; "
                "run again with --resume to continue."
            )
            break
        number = state["days_done"] + 1
        day = EPOCH + timedelta(days=number - 1)
        if number in measured:
            started = time.monotonic()
            state["measured"][str(number)] = measure_day(data_dir, followers, day, args.repeat)
            print(
                f"{name} day {number}: measured in {time.monotonic() - started:.0f} s", flush=True
            )
            state["days_done"] = number
        else:
            following = min([m for m in measured if m > number], default=args.days + 1)
            last = min(following - 1, number + HISTORY_CHUNK_DAYS - 1)
            if number == 1:
                # Day 1 alone: the size of a warehouse holding one day.
                last = 1
            report = run_child(
                "history",
                data_dir,
                followers,
                day,
                until=(EPOCH + timedelta(days=last - 1)).isoformat(),
            )
            state["history"].update(report["output"]["days"])
            state["days_done"] = last
            print(f"{name} days {number}-{last}: set up in {report['wall']:.0f} s", flush=True)
        state_file.write_text(json.dumps(state, indent=1))
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,100k,1m,10m", help="empty: only the report")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--measure", default="2,30,90")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "followback-bench"
    )
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--budget-minutes", type=float, default=0, help="0: no limit")
    parser.add_argument("--pages", type=int, default=300, help="pages timed through the X source")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measured day")
    parser.add_argument(
        "--quick", action="store_true", help="a sanity run: 300 and 100k followers, 5 days"
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.days, args.measure = "300,100k", 5, "2,5"
    args.measure = [int(d) for d in args.measure.split(",")]
    deadline = time.monotonic() + (args.budget_minutes * 60 if args.budget_minutes else 1e12)
    RESULTS.mkdir(exist_ok=True)
    for followers in (parse_size(s) for s in args.sizes.split(",") if s):
        bench_size(followers, args, deadline)
    # Every size benched so far, this run or an earlier one: its file is named for the size
    # (1m.json); other benchmarks write their results next to them.
    states = sorted(
        (
            json.loads(p.read_text())
            for p in RESULTS.glob("*.json")
            if re.fullmatch(r"\d+[km]?", p.stem)
        ),
        key=lambda state: state["followers"],
    )
    states = {label(state["followers"]): state for state in states}
    summary = {
        "machine": machine(),
        "args": {"days": args.days, "measure": args.measure},
        "api_cost": api_cost.cost_table({name: s["followers"] for name, s in states.items()}),
        "page_processing": api_cost.page_processing(args.pages),
        # The model against x_api.py itself, on a fake API that gains and loses followers.
        "api_replay": [
            api_cost.replay(followers, days, policy, min_lost_share)
            for followers, days in ((100_000, 14), (1_000_000, 7))
            for policy, min_lost_share in api_cost.POLICIES
        ],
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=1))
    REPORT.write_text(render(states, summary))
    print(REPORT.read_text())


def _day_number(growth: dict, age: str) -> int:
    """The day number (EPOCH is day 1) of a back-to-back run's young or old day."""
    return (date.fromisoformat(growth["days"][age]) - EPOCH).days + 1


def _compared_to(growth: dict) -> str:
    """How the history target names a back-to-back run's young day."""
    young = _day_number(growth, "young")
    return f"day-{young} run" + (" (the first that compacts raw)" if young == 3 else "")


def _history_growth() -> list[dict]:
    """The back-to-back runs of benchmarks/history_growth.py, smallest account first."""
    growth = [json.loads(p.read_text()) for p in RESULTS.glob("history_growth-*.json")]
    return sorted(
        growth, key=lambda g: (g["followers"], _day_number(g, "old"), _young_followers(g))
    )


def _young_followers(growth: dict) -> int:
    """The young account's size: the old one's on its last day for a --same-size run."""
    return growth.get("young_followers", growth["followers"])


def _followers_cell(growth: dict, age: str) -> str:
    """The account's followers on the day before a back-to-back run's young or old day."""
    if age == "young":
        return f"{_young_followers(growth):,}"
    if "old_followers" in growth:
        return f"{growth['old_followers']:,}"
    if _young_followers(growth) != growth["followers"]:
        return f"{_young_followers(growth):,}"
    # Runs before 2026-12-06 night did not record it.
    return f"{growth['followers']:,} on day 1"


def _paired_spread(growth: dict) -> str:
    """The range and median of a back-to-back run's per-repeat ratios, when it recorded them."""
    pairs = sorted(growth.get("paired_ratios", []))
    if not pairs:
        return ""
    return f"; repeats {pairs[0]:.3f}-{pairs[-1]:.3f}x, median {statistics.median(pairs):.3f}x"


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**missed**")


def targets(states: dict, summary: dict) -> list[str]:
    """The issue's targets, each with the figures that decide it."""

    def run(name: str, day: int) -> dict | None:
        return states.get(name, {}).get("measured", {}).get(str(day))

    rows = []
    growth_runs = _history_growth()
    for name, seconds, rss_gb in (("10m", 30, 4), ("1m", 5, None)):
        measured = [(d, run(name, d)) for d in (2, 30, 90) if run(name, d)]
        figures = ", ".join(
            f"day {d}: {r['daily_run']['wall']:.1f} s"
            + (f", {r['daily_run']['peak_rss_mb'] / 1024:.1f} GB" if rss_gb else "")
            for d, r in measured
        )
        ok = (
            all(
                r["daily_run"]["wall"] <= seconds
                and (rss_gb is None or r["daily_run"]["peak_rss_mb"] <= rss_gb * 1024)
                for _, r in measured
            )
            if measured
            else None
        )
        limit = f"<= {seconds} s" + (f" and <= {rss_gb} GB peak RSS" if rss_gb else "")
        rows.append((f"{name} followers: daily run {limit}", figures or "-", _met(ok)))
        for growth in growth_runs:
            if (
                label(growth["followers"]) != name
                or "peak_rss_mb" not in growth
                or _young_followers(growth) != growth["followers"]
            ):
                continue
            wall = {age: growth["fastest_seconds"][age]["daily_run"] for age in ("young", "old")}
            rss = growth["peak_rss_mb"]
            rows.append(
                (
                    f"{name} followers: daily run {limit}, measured back to back",
                    ", ".join(
                        f"day {_day_number(growth, age)}: {wall[age]:.1f} s"
                        + (f", {rss[age] / 1024:.1f} GB" if rss_gb else "")
                        for age in ("young", "old")
                    )
                    + f" ({growth['commit']})",
                    _met(
                        all(
                            wall[age] <= seconds and (rss_gb is None or rss[age] <= rss_gb * 1024)
                            for age in wall
                        )
                    ),
                )
            )
    for name in states:
        first, last = run(name, 2), run(name, 90)
        if first and last:
            ratio = last["daily_run"]["wall"] / first["daily_run"]["wall"]
            rows.append(
                (
                    f"{name}: day-90 run <= 1.25x the day-2 run",
                    f"{last['daily_run']['wall']:.2f} / {first['daily_run']['wall']:.2f} s "
                    f"= {ratio:.2f}x",
                    _met(ratio <= 1.25),
                )
            )
    for growth in growth_runs:
        young, old = _day_number(growth, "young"), _day_number(growth, "old")
        fastest = growth["fastest_seconds"]
        ratio = growth["old_over_young"]["daily_run"]
        same_size = _young_followers(growth) != growth["followers"]
        rows.append(
            (
                f"{label(growth['followers'])}: day-{old} run <= 1.25x the {_compared_to(growth)}, "
                "measured back to back"
                + (
                    f" (day {young} of an account as big as day {old}'s: "
                    f"{_young_followers(growth):,} followers)"
                    if same_size
                    else ""
                ),
                f"{fastest['old']['daily_run']:.2f} / {fastest['young']['daily_run']:.2f} s "
                f"= {ratio:.3f}x{_paired_spread(growth)} ({growth['commit']})",
                # Met when the repeats' median agrees: a fastest-of-N ratio alone can come from
                # one lucky run of either side.
                _met(
                    ratio <= 1.25
                    and statistics.median(growth.get("paired_ratios", [ratio])) <= 1.25
                ),
            )
        )
    for name in states:
        first, last = run(name, 2), run(name, 90)
        if first and last:
            grown = last["storage"]["db_used_bytes"] - first["storage"]["db_used_bytes"]
            day = last["storage"]["baseline_day_bytes"]
            rows.append(
                (
                    f"{name}: storage grows with changes, not followers x days",
                    f"DuckDB grew {grown / 1e6:.1f} MB from day 2 to day 90 "
                    f"({grown / 88 / 1e6:.2f} MB a day); one day's snapshot as Parquet is "
                    f"{day / 1e6:.1f} MB",
                    _met(grown / 88 < day),
                )
            )
    for name in states:
        r = run(name, 30)
        if r:
            ratio = r["baseline"]["wall"] / r["daily_run"]["wall"]
            rows.append(
                (
                    f"{name}: >= 5x faster than the baseline at day 30, same outputs",
                    f"baseline {r['baseline']['wall']:.2f} s / ours "
                    f"{r['daily_run']['wall']:.2f} s = {ratio:.1f}x; outputs "
                    + ("equal" if r["outputs"]["same_outputs"] else "DIFFER"),
                    _met(ratio >= 5 and r["outputs"]["same_outputs"]),
                )
            )
    costs = {(c["followers"], c["policy"]): c for c in summary["api_cost"]}
    daily = costs.get((1_000_000, api_cost.policy_label("daily", 0)))
    if daily:
        for policy, share in api_cost.POLICIES[1:]:
            policy_name = api_cost.policy_label(policy, share)
            resources = costs[(1_000_000, policy_name)]["resources"]
            ratio = daily["resources"] / resources
            rows.append(
                (
                    f"1m: {policy_name} reads >= 5x fewer resources than daily full scans",
                    f"{daily['resources']:,.0f} / {resources:,.0f} a day = {ratio:.1f}x",
                    _met(ratio >= 5),
                )
            )
    pages = summary["page_processing"]
    rows.append(
        (
            "X source overhead negligible against the rate limit",
            f"{pages['seconds_per_page'] * 1000:.1f} ms a page = "
            f"{pages['share_of_rate_limit_budget']:.2%} of the 3 s a page the limit allows",
            _met(pages["share_of_rate_limit_budget"] < 0.01),
        )
    )
    return [
        "| target | measured | |",
        "|---|---|---|",
        *(f"| {target} | {figures} | {verdict} |" for target, figures, verdict in rows),
    ]


def render(states: dict, summary: dict) -> str:
    m = summary["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (benchmarks/bench.py); raw figures in benchmarks/results/*.json. "
        "What each column means and why the warehouse stays flat: docs/performance.md.",
        "",
        "## Targets",
        "",
        *targets(states, summary),
        "",
        "## Figures",
        "",
        f"Machine of this report: {describe_machine(m)}.",
        "",
        "The machine of each size's runs: "
        + "; ".join(
            f"{name}: "
            + (describe_machine(state["machine"]) if "machine" in state else "not recorded")
            for name, state in states.items()
        )
        + ". (Before 2026-12-02 the runs did not record it, and these VMs change hardware "
        "between sessions.)",
        "",
        "Seconds are the fastest of the repeated runs of each task; peak RSS the largest task's.",
        "",
        "| followers | day | daily run s | validate | load | transform | load + transform "
        "| CPU s | peak RSS MB | extract s | baseline s | baseline / daily run "
        "| baseline / (load + transform) | same outputs | load avg | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, state in states.items():
        for day, r in sorted(state["measured"].items(), key=lambda kv: int(kv[0])):
            run, steps = r["daily_run"], r["steps"]
            warehouse = steps["load"]["wall"] + steps["transform"]["wall"]
            lines.append(
                f"| {name} | {day} | {run['wall']:.2f} | {steps['validate']['wall']:.2f} "
                f"| {steps['load']['wall']:.2f} | {steps['transform']['wall']:.2f} "
                f"| {warehouse:.2f} | {run['cpu']:.1f} | {run['peak_rss_mb']:.0f} "
                f"| {steps['extract']['wall']:.1f} | {r['baseline']['wall']:.2f} "
                f"| {r['baseline']['wall'] / run['wall']:.1f} "
                f"| {r['baseline']['wall'] / warehouse:.1f} "
                f"| {'yes' if r['outputs']['same_outputs'] else 'NO'} "
                f"| {max(max(s['loadavg']) for s in steps.values()):.1f} "
                f"| {r.get('commit', '-')} |"
            )
    lines += [
        "",
        "| followers | day | DuckDB file MB | DuckDB used MB | one day's landing MB "
        "| baseline store MB | baseline's day MB | DuckDB used / baseline store |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, state in states.items():
        first = state["history"].get(EPOCH.isoformat())
        if first:
            lines.append(f"| {name} | 1 | {first['db_bytes'] / 1e6:.1f} | | | | | |")
        for day, r in sorted(state["measured"].items(), key=lambda kv: int(kv[0])):
            size = r["storage"]
            lines.append(
                f"| {name} | {day} | {size['db_file_bytes'] / 1e6:.1f} "
                f"| {size['db_used_bytes'] / 1e6:.1f} | {size['day_landing_bytes'] / 1e6:.1f} "
                f"| {size['baseline_bytes'] / 1e6:.1f} | {size['baseline_day_bytes'] / 1e6:.1f} "
                f"| {size['db_used_bytes'] / max(size['baseline_bytes'], 1):.2f} |"
            )
    lines += [
        "",
        "| followers | policy | full-scan days | requests/day | resources/day | USD/day "
        "| USD/day (owned) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary["api_cost"]:
        lines.append(
            f"| {row['account']} | {row['policy']} | {row['full_scan_share']:.0%} "
            f"| {row['requests']:,.0f} | {row['resources']:,.0f} | {row['usd']:,.2f} "
            f"| {row['usd_owned']:,.2f} |"
        )
    lines += [
        "",
        "Checked against x_api.py itself (a fake API; the first, full day left out):",
        "",
        "| followers | policy | days | full-scan days | requests/day | resources/day |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["api_replay"]:
        lines.append(
            f"| {row['followers']:,} | {row['policy']} | {row['days']} "
            f"| {row['full_scan_share']:.0%} | {row['requests']:,.0f} | {row['resources']:,.0f} |"
        )
    growth = _history_growth()
    if growth:
        lines += [
            "",
            "An early day (day 2, or day 3: the first whose transform compacts raw) against the "
            "day after a long history, measured back to back "
            "(`python -m benchmarks.history_growth`), the fastest of its repeats each "
            "(followers: the account's size on the day before):",
            "",
            "| followers | day | daily run s | its CPU s | validate | load | transform "
            "| peak RSS MB | commit |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for g in growth:
            for name in ("young", "old"):
                f = g["fastest_seconds"][name]
                cpu = (
                    g["fastest_cpu_seconds"][name]["daily_run"]
                    if "fastest_cpu_seconds" in g
                    else None
                )
                rss = g["peak_rss_mb"][name] if "peak_rss_mb" in g else None
                lines.append(
                    f"| {_followers_cell(g, name)} | {g['days'][name]} | {f['daily_run']:.2f} "
                    f"| {'' if cpu is None else f'{cpu:.2f}'} "
                    f"| {f['validate']:.2f} | {f['load']:.2f} | {f['transform']:.2f} "
                    f"| {'' if rss is None else f'{rss:.0f}'} | {g['commit']} |"
                )
            r = g["old_over_young"]
            cpu_ratio = g.get("cpu_old_over_young", {}).get("daily_run")
            lines.append(
                f"| | ratio | {r['daily_run']:.2f}x "
                f"| {'' if cpu_ratio is None else f'{cpu_ratio:.2f}x'} "
                f"| {r['validate']:.2f}x | {r['load']:.2f}x | {r['transform']:.2f}x | | |"
            )
        lines += [
            "",
            *(
                f"- {g['followers']:,}, {g['commit']}, fastest of {g.get('repeat', 3)}: "
                + (describe_machine(g["machine"]) if "machine" in g else "machine not recorded")
                for g in growth
            ),
        ]
    pages = summary["page_processing"]
    lines += [
        "",
        f"X source page processing: {pages['seconds_per_page'] * 1000:.1f} ms per page of 1,000 "
        f"users over {pages['pages']} pages, {pages['share_of_rate_limit_budget']:.2%} of the "
        f"{api_cost.SECONDS_PER_PAGE_AT_CEILING:.0f} s a page the rate limit allows.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
