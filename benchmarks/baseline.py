"""The baseline: what a user without a warehouse would write instead.

Every day it keeps the followers and following lists as Parquet files of sorted int64 ids, one per
list and date, and recomputes the day's outputs from them with numpy: gains, losses, mutuals,
follow-then-unfollow episodes within the churn window, and the 7/30-day retention of weekly
cohorts, as defined in ../shared/reference/metrics.md and implemented by the marts. The histories
are what cost: first appearances and cohort readings need every past snapshot, so the baseline
reads them all back every day.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

LISTS = ("followers", "following")
RETENTION_DAYS = (7, 30)


def snapshot_path(store: Path, kind: str, day: date) -> Path:
    return store / kind / f"{day.isoformat()}.parquet"


def ingest(store: Path, day: date, landed: dict[str, Path]) -> None:
    """Keep the day's lists (numeric strings, as landed) as sorted int64 ids."""
    for kind in LISTS:
        ids = pc.cast(
            pq.read_table(landed[kind], columns=["user_id"]).column("user_id"), pa.int64()
        )
        path = snapshot_path(store, kind, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"user_id": np.sort(ids.to_numpy())}), path, compression="zstd")


def _read(store: Path, kind: str, day: date) -> np.ndarray:
    return pq.read_table(snapshot_path(store, kind, day)).column("user_id").to_numpy()


def outputs(store: Path, day: date, churn_window_days: int = 7) -> dict:
    """The day's outputs from the snapshots kept through `day` (the bench keeps every day)."""
    days = sorted(
        d
        for d in (date.fromisoformat(p.stem) for p in (store / "followers").glob("*.parquet"))
        if d <= day
    )
    followers = _read(store, "followers", day)
    result = {
        "followers": len(followers),
        "mutuals": len(
            np.intersect1d(followers, _read(store, "following", day), assume_unique=True)
        ),
    }
    if len(days) > 1:
        previous = _read(store, "followers", days[-2])
        lost = np.setdiff1d(previous, followers, assume_unique=True)
        result["gained"] = len(np.setdiff1d(followers, previous, assume_unique=True))
        result["lost"] = len(lost)
        result["episodes"] = _episodes(store, days, lost, churn_window_days)
    result["retention"] = _retention(store, days, followers)
    return result


def _episodes(store: Path, days: list[date], lost: np.ndarray, churn_window_days: int) -> int:
    """Followers lost today whose follow had begun at most churn_window_days before, and after
    the first snapshot (before which nobody's start is known)."""
    today = days[-1]
    in_run = np.ones(len(lost), bool)
    began = np.full(len(lost), days[-2])
    for day in reversed(days[:-1]):
        in_run &= np.isin(lost, _read(store, "followers", day), assume_unique=True)
        # Whoever still follows on a day too early to count began too early.
        if today - day > timedelta(days=churn_window_days) or not in_run.any():
            break
        began[in_run] = day
    return int(((~in_run) & (began > days[0])).sum())


def _retention(store: Path, days: list[date], today_followers: np.ndarray) -> dict:
    """Cohort (ISO week of first appearance) -> size and 7/30-day retention; a share is None
    until every member's day has been read."""
    seen = np.array([], np.int64)
    newcomers: dict[date, np.ndarray] = {}
    still_following: dict[tuple[date, int], int] = {}
    for day in days:
        members = today_followers if day == days[-1] else _read(store, "followers", day)
        new = np.setdiff1d(members, seen, assume_unique=True)
        if day != days[0] and len(new):
            newcomers[day] = new
        seen = np.union1d(seen, members)
        for window in RETENTION_DAYS:
            first = day - timedelta(days=window)
            if first in newcomers:
                kept = np.isin(newcomers[first], members, assume_unique=True).sum()
                still_following[(first, window)] = int(kept)
    cohorts: dict[date, dict] = {}
    for first, members in newcomers.items():
        cohort = cohorts.setdefault(
            first - timedelta(days=first.weekday()), {"size": 0} | {w: 0 for w in RETENTION_DAYS}
        )
        cohort["size"] += len(members)
        for window in RETENTION_DAYS:
            kept = still_following.get((first, window))
            cohort[window] = (
                None if kept is None or cohort[window] is None else cohort[window] + kept
            )
    return {
        week.isoformat(): {"cohort_size": c["size"]}
        | {
            f"retained_{w}d": None if c[w] is None or not c["size"] else c[w] / c["size"]
            for w in RETENTION_DAYS
        }
        for week, c in sorted(cohorts.items())
    }
