"""Small builders for hand-made landing partitions."""

from datetime import date, datetime

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


def land_replies(
    settings: Settings,
    account: Account,
    account_id: int,
    snapshot_date: date,
    replies: list[tuple[int, int, int, datetime]],
) -> None:
    """Write the replies partition of one day: (reply_id, conversation_id, author_id, created_at),
    each answering the conversation's first tweet, fetched at the end of the day."""
    columns = list(zip(*replies, strict=True)) or [[], [], [], []]
    reply_ids, conversations, authors, created = columns
    as_strings = [[str(i) for i in column] for column in (reply_ids, conversations, authors)]
    landing.write_partition(
        settings.landing_dir,
        pa.table(
            {
                "reply_id": as_strings[0],
                "conversation_id": as_strings[1],
                "in_reply_to_tweet_id": as_strings[1],
                "author_id": as_strings[2],
                "created_at": pa.array(created, pa.timestamp("us")),
                "text": ["an answer"] * len(replies),
            },
            schema=landing.SCHEMAS["replies"],
        ),
        landing.Manifest(
            account=account.handle,
            account_id=str(account_id),
            snapshot_date=snapshot_date.isoformat(),
            kind="replies",
            source="simulated",
            row_count=len(replies),
            fetched_at=datetime.combine(snapshot_date, datetime.max.time()).isoformat(),
        ),
        landing.SCHEMAS["replies"],
    )
