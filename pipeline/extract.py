"""Extract: run an account's source for one date and write its batches to the landing area."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pyarrow as pa

from pipeline import landing
from pipeline.config import Account, Settings
from pipeline.sources import ListBatch, Source, Usage, get_source

GRAPH_KINDS = ("followers", "following", "users")
TIMELINE_KINDS = ("tweets", "replies")


def _manifest(account: Account, account_id: str, snapshot_date: date, kind: str, **fields):
    return landing.Manifest(
        account=account.handle,
        account_id=account_id,
        snapshot_date=snapshot_date.isoformat(),
        kind=kind,
        source=account.source,
        row_count=0,
        **fields,
    )


def _write(settings: Settings, table: pa.Table, manifest: landing.Manifest) -> None:
    landing.write_partition(settings.landing_dir, table, manifest, landing.SCHEMAS[manifest.kind])


def extract_graph(
    account: Account, snapshot_date: date, settings: Settings, source: Source | None = None
) -> list[str]:
    """Followers, following and the profiles that came with them. Returns the kinds written."""
    batch = (source or get_source(account, settings)).extract_graph(snapshot_date)
    fetched_at = batch.fetched_at.isoformat()
    lists: dict[str, ListBatch] = {"followers": batch.followers, "following": batch.following}
    for kind, fetched in lists.items():
        _write(
            settings,
            pa.table({"user_id": fetched.user_ids}),
            _manifest(
                account,
                batch.account_id,
                snapshot_date,
                kind,
                expected_count=fetched.expected_count,
                completed=fetched.completed,
                fetched_at=fetched_at,
                details=fetched.details,
                **asdict(fetched.usage),
            ),
        )
    _write(
        settings,
        batch.users,
        _manifest(account, batch.account_id, snapshot_date, "users", fetched_at=fetched_at),
    )
    written = list(GRAPH_KINDS)
    for kind, table in (
        ("truth_users", batch.truth_users),
        ("truth_episodes", batch.truth_episodes),
    ):
        if table is not None:
            _write(
                settings,
                table,
                _manifest(account, batch.account_id, snapshot_date, kind, fetched_at=fetched_at),
            )
            written.append(kind)
    return written


def extract_timeline(
    account: Account, snapshot_date: date, settings: Settings, source: Source | None = None
) -> list[str]:
    """The account's own tweets and the replies in their conversations."""
    batch = (source or get_source(account, settings)).extract_timeline(snapshot_date)
    fetched_at = batch.fetched_at.isoformat()
    for kind, table in (("tweets", batch.tweets), ("replies", batch.replies)):
        _write(
            settings,
            table,
            _manifest(
                account,
                batch.account_id,
                snapshot_date,
                kind,
                fetched_at=fetched_at,
                details=batch.details.get(kind, {}),
                **asdict(batch.usage.get(kind, Usage())),
            ),
        )
    return list(TIMELINE_KINDS)
