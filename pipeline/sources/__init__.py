"""Sources of account data. Each returns the same batches, so everything downstream is shared."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

import pyarrow as pa

from pipeline.config import Account, ConfigError, Settings

# X's ids are snowflakes: the bits from SNOWFLAKE_TIME_SHIFT up count the milliseconds since
# X_EPOCH_MS at which the id was made, so a post's id holds when it was posted.
X_EPOCH_MS = 1288834974657
SNOWFLAKE_TIME_SHIFT = 22


@dataclass
class Usage:
    """What one read cost: requests made, resources (users or posts) returned, estimated USD."""

    requests: int = 0
    resources: int = 0
    cost_usd: float = 0.0


@dataclass
class ListBatch:
    """One list (followers or following) as fetched for a date, with the count the source claims."""

    user_ids: pa.Array
    expected_count: int | None
    completed: bool = True
    usage: Usage = field(default_factory=Usage)
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
    # By landing kind ('tweets', 'replies').
    usage: dict[str, Usage] = field(default_factory=dict)
    details: dict[str, dict] = field(default_factory=dict)


class Source(Protocol):
    def extract_graph(self, snapshot_date: date) -> GraphBatch: ...

    def extract_timeline(self, snapshot_date: date) -> TimelineBatch: ...


class SourceAccessError(RuntimeError):
    """The source refused the credentials or the access tier: retrying cannot help."""


class RateLimited(RuntimeError):
    """The source's rate limit is spent until `reset_at`; progress so far is checkpointed."""

    def __init__(self, message: str, reset_at: datetime):
        super().__init__(message)
        self.reset_at = reset_at


def get_source(account: Account, settings: Settings) -> Source:
    if account.source == "simulated":
        from pipeline.sources.simulated import SimulatedSource

        return SimulatedSource(account, settings)
    if account.source == "x_api":
        from pipeline.sources.x_api import XApiSource

        return XApiSource(account, settings)
    raise ConfigError(
        f"Account {account.handle}: source {account.source!r} has no daily extract; "
        "load its archives with `followback import-archive PATH.zip`."
    )
