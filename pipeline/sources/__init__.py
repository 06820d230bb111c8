"""Sources of account data. Each returns the same batches, so everything downstream is shared."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

import pyarrow as pa

from pipeline.config import Account, Settings


@dataclass
class ListBatch:
    """One list (followers or following) as fetched for a date, with the count the source claims."""

    user_ids: pa.Array
    expected_count: int | None
    completed: bool = True
    requests: int = 0
    resources: int = 0
    details: dict = field(default_factory=dict)


@dataclass
class GraphBatch:
    account_id: str
    followers: ListBatch
    following: ListBatch
    users: pa.Table
    fetched_at: datetime
    # Planted ground truth; only the simulated source knows it.
    truth_users: pa.Table | None = None
    truth_episodes: pa.Table | None = None


@dataclass
class TimelineBatch:
    account_id: str
    tweets: pa.Table
    replies: pa.Table
    fetched_at: datetime
    requests: int = 0
    resources: int = 0


class Source(Protocol):
    def extract_graph(self, snapshot_date: date) -> GraphBatch: ...

    def extract_timeline(self, snapshot_date: date) -> TimelineBatch: ...


def get_source(account: Account, settings: Settings) -> Source:
    if account.source == "simulated":
        from pipeline.sources.simulated import SimulatedSource

        return SimulatedSource(account, settings)
    raise NotImplementedError(
        f"Account {account.handle}: source {account.source!r} is not available yet; "
        "use source: simulated."
    )
