"""The landing area: one Parquet file and one manifest per (kind, account, date).

Extract tasks write here without touching the database. Writes are atomic (temporary name, then
rename) and the manifest is written last, so a partition without a manifest was never finished.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

KINDS = ("followers", "following", "users", "tweets", "replies", "truth_users", "truth_episodes")
# Inside a partition directory: the progress of an extract that has not finished yet.
CHECKPOINT = "_checkpoint"
# DuckDB's row group size. Landing row groups are a whole number of them: the load reads Parquet
# row groups in parallel, and each ends in a partial DuckDB row group that the next checkpoint
# rewrites. With pyarrow's default (2^20 rows, 8.5 DuckDB row groups) that was 0.4 s a day for
# raw.users at 1M followers, once an account passed 2^20. Aligned, a day leaves one partial.
DUCKDB_ROW_GROUP_ROWS = 122_880
PARQUET_ROW_GROUP_ROWS = 8 * DUCKDB_ROW_GROUP_ROWS


@dataclass
class Manifest:
    account: str
    account_id: str
    snapshot_date: str
    kind: str
    source: str
    row_count: int
    expected_count: int | None = None
    completed: bool = True
    extracted_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # When the source's data was read (for the simulated source: the end of the simulated day).
    fetched_at: str | None = None
    requests: int = 0
    resources: int = 0
    cost_usd: float = 0.0
    details: dict = field(default_factory=dict)


def partition_dir(landing_dir: Path, kind: str, account: str, snapshot_date: date) -> Path:
    if kind not in KINDS:
        raise ValueError(f"Unknown landing kind {kind!r}; expected one of {KINDS}.")
    return Path(landing_dir) / kind / f"account={account}" / f"date={snapshot_date.isoformat()}"


def data_path(landing_dir: Path, kind: str, account: str, snapshot_date: date) -> Path:
    return partition_dir(landing_dir, kind, account, snapshot_date) / "data.parquet"


def manifest_path(landing_dir: Path, kind: str, account: str, snapshot_date: date) -> Path:
    return partition_dir(landing_dir, kind, account, snapshot_date) / "manifest.json"


@contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on `path` (created if missing) against other processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_partition(
    landing_dir: Path,
    frame: pd.DataFrame | pa.Table,
    manifest: Manifest,
    schema: pa.Schema | None = None,
) -> Path:
    """Replace one partition: the data first, then its manifest (which marks it finished)."""
    snapshot_date = date.fromisoformat(manifest.snapshot_date)
    target = data_path(landing_dir, manifest.kind, manifest.account, snapshot_date)
    manifest_file = manifest_path(landing_dir, manifest.kind, manifest.account, snapshot_date)
    # A rerun starts by withdrawing the old manifest, so a crash between the two writes leaves an
    # unfinished partition rather than a new file described by an old manifest.
    manifest_file.unlink(missing_ok=True)
    if isinstance(frame, pa.Table):
        table = frame.cast(schema) if schema is not None else frame
    else:
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    _atomic_write(
        target,
        lambda tmp: pq.write_table(
            table, tmp, compression="zstd", row_group_size=PARQUET_ROW_GROUP_ROWS
        ),
    )
    manifest.row_count = table.num_rows
    _atomic_write(manifest_file, lambda tmp: Path(tmp).write_text(json.dumps(asdict(manifest))))
    shutil.rmtree(target.parent / CHECKPOINT, ignore_errors=True)
    return target


def read_manifest(
    landing_dir: Path, kind: str, account: str, snapshot_date: date
) -> Manifest | None:
    path = manifest_path(landing_dir, kind, account, snapshot_date)
    if not path.exists():
        return None
    return Manifest(**json.loads(path.read_text()))


def read_partition(
    landing_dir: Path,
    kind: str,
    account: str,
    snapshot_date: date,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    return pd.read_parquet(data_path(landing_dir, kind, account, snapshot_date), columns=columns)


def finished_dates(landing_dir: Path, kind: str, account: str) -> list[date]:
    """The dates of an account's finished partitions of one kind, oldest first."""
    root = Path(landing_dir) / kind / f"account={account}"
    return sorted(
        date.fromisoformat(path.parent.name.removeprefix("date="))
        for path in root.glob("date=*/manifest.json")
    )


class Checkpoint:
    """The pages of one unfinished paginated read, and the state to continue it from.

    Pages are buffered and written as numbered Parquet chunks; `state.json` is written after the
    chunks it counts, so a chunk left by an attempt that died before recording it is overwritten
    by the next attempt, never read twice. Write nothing secret into the state.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        state_file = self.directory / "state.json"
        self.state: dict = json.loads(state_file.read_text()) if state_file.exists() else {}
        self._pending: list[pa.Table] = []

    @property
    def pending_pages(self) -> int:
        return len(self._pending)

    def add(self, page: pa.Table) -> None:
        self._pending.append(page)

    def flush(self) -> None:
        """Write the buffered pages, then the state that makes them part of the checkpoint."""
        chunks = self.state.get("chunks", 0)
        if self._pending:
            pages = pa.concat_tables(self._pending)
            _atomic_write(
                self.directory / f"chunk-{chunks:06d}.parquet",
                lambda tmp: pq.write_table(pages, tmp, compression="zstd"),
            )
            chunks += 1
            self._pending = []
        self.state["chunks"] = chunks
        state = json.dumps(self.state)
        _atomic_write(self.directory / "state.json", lambda tmp: Path(tmp).write_text(state))

    def pages(self) -> list[pa.Table]:
        """Every page fetched so far, in fetch order: the checkpointed ones, then the buffer."""
        stored = [
            pq.read_table(self.directory / f"chunk-{i:06d}.parquet")
            for i in range(self.state.get("chunks", 0))
        ]
        return stored + self._pending


# Column types of every landing kind. Ids are numeric strings, as the X API sends them;
# timestamps are naive UTC.
SCHEMAS: dict[str, pa.Schema] = {
    "followers": pa.schema([("user_id", pa.string())]),
    "following": pa.schema([("user_id", pa.string())]),
    "users": pa.schema(
        [
            ("user_id", pa.string()),
            ("username", pa.string()),
            ("created_at", pa.timestamp("us")),
            ("followers_count", pa.int64()),
            ("following_count", pa.int64()),
            ("tweet_count", pa.int64()),
            ("default_avatar", pa.bool_()),
            ("description", pa.string()),
            ("protected", pa.bool_()),
            ("verified", pa.bool_()),
            # 'active', or 'suspended' / 'deleted' when the source reported the user in `errors`.
            ("status", pa.string()),
        ]
    ),
    "tweets": pa.schema(
        [
            ("tweet_id", pa.string()),
            ("author_id", pa.string()),
            ("created_at", pa.timestamp("us")),
            ("text", pa.string()),
            ("conversation_id", pa.string()),
            ("in_reply_to_user_id", pa.string()),
            # 'retweeted', 'quoted' or 'replied_to' when the tweet references another; else null.
            ("referenced_type", pa.string()),
            ("like_count", pa.int64()),
            ("retweet_count", pa.int64()),
            ("reply_count", pa.int64()),
        ]
    ),
    "replies": pa.schema(
        [
            ("reply_id", pa.string()),
            ("conversation_id", pa.string()),
            ("in_reply_to_tweet_id", pa.string()),
            ("author_id", pa.string()),
            ("created_at", pa.timestamp("us")),
            ("text", pa.string()),
        ]
    ),
    "truth_users": pa.schema([("user_id", pa.string()), ("population", pa.string())]),
    "truth_episodes": pa.schema(
        [("user_id", pa.string()), ("followed_on", pa.date32()), ("unfollowed_on", pa.date32())]
    ),
}
