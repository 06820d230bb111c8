"""Small builders for hand-made landing partitions."""

from datetime import date

import pyarrow as pa

from pipeline import landing
from pipeline.config import Account, Settings


def land_lists(
    settings: Settings,
    account: Account,
    account_id: int,
    snapshot_date: date,
    followers: list[int],
    following: list[int],
    completed: bool = True,
) -> None:
    """Write the followers and following partitions of one day, as an extract would."""
    for kind, ids in (("followers", followers), ("following", following)):
        landing.write_partition(
            settings.landing_dir,
            pa.table({"user_id": pa.array([str(i) for i in ids], pa.string())}),
            landing.Manifest(
                account=account.handle,
                account_id=str(account_id),
                snapshot_date=snapshot_date.isoformat(),
                kind=kind,
                source="simulated",
                row_count=0,
                expected_count=len(ids),
                completed=completed,
            ),
            landing.SCHEMAS[kind],
        )
