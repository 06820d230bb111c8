"""Twitter/X data archives ("Download an archive of your data") as dated snapshots.

An archive is a zip of data/*.js files, each a JavaScript assignment wrapping JSON, such as
`window.YTD.follower.part0 = [...]`. data/manifest.js (`window.__THAR_CONFIG = {...}`) names the
owner, the generation date and the record count of every file. One archive is one snapshot of
followers and following, dated by its generationDate, plus the owner's own tweets.

The whole archive is read and checked before anything is written, and the zip is never
extracted to disk: a refused archive leaves no trace in the landing area or the warehouse.
"""

from __future__ import annotations

import json
import stat
import zipfile
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import pyarrow as pa

from pipeline import extract, landing, transform, validate
from pipeline.config import HANDLE_PATTERN, Account, Config
from pipeline.landing import SCHEMAS
from pipeline.sources import GraphBatch, ListBatch, TimelineBatch
from pipeline.warehouse import open_warehouse

MANIFEST = "data/manifest.js"
MANIFEST_GLOBAL = "window.__THAR_CONFIG"
TWEET_TIME = "%a %b %d %H:%M:%S %z %Y"
# Against decompression bombs: what one member, and the whole zip, may expand to.
MAX_MEMBER_BYTES = 2 << 30
MAX_TOTAL_BYTES = 16 << 30


class ArchiveError(ValueError):
    """Not a complete, safe archive of the expected account. Nothing was written."""


@dataclass(frozen=True)
class Archive:
    account_id: str
    username: str
    generated_at: datetime
    followers: list[str]
    following: list[str]
    # The record counts data/manifest.js states, which the parsed lists match.
    follower_count: int
    following_count: int
    tweets: pa.Table

    @property
    def snapshot_date(self) -> date:
        return self.generated_at.date()


def _check_members(zf: zipfile.ZipFile, path: Path) -> None:
    total = 0
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
            raise ArchiveError(f"{path}: unsafe path {info.filename!r} inside the zip.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(f"{path}: {info.filename!r} is a symbolic link.")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ArchiveError(
            f"{path} would expand to {total:,} bytes, more than the {MAX_TOTAL_BYTES:,} allowed."
        )


def _read(zf: zipfile.ZipFile, name: str, path: Path) -> str:
    info = zf.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ArchiveError(f"{path}: {name} would expand to {info.file_size:,} bytes.")
    try:
        with zf.open(info) as member:
            # Read one byte past the limit: a header can understate what a member expands to.
            raw = member.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ArchiveError(f"{path}: {name} is damaged ({error}).") from None
    if len(raw) > MAX_MEMBER_BYTES:
        raise ArchiveError(f"{path}: {name} expands past {MAX_MEMBER_BYTES:,} bytes.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArchiveError(f"{path}: {name} is not UTF-8 text.") from None


def parse_assignment(text: str, global_name: str, name: str):
    """The JSON value of `<global_name> = <JSON>`: the only JavaScript an archive file holds."""
    head, equals, value = text.partition("=")
    if not equals or head.strip() != global_name:
        raise ArchiveError(
            f"{name} does not start with '{global_name} =': not a file of an X archive."
        )
    try:
        return json.loads(value.strip().removesuffix(";"))
    except json.JSONDecodeError as error:
        raise ArchiveError(f"{name} is not valid JSON after '{global_name} =' ({error}).") from None


def _records(zf: zipfile.ZipFile, path: Path, data_types: dict, data_type: str) -> list:
    """Every record of one data type, each file's count checked against the manifest."""
    files = (data_types.get(data_type) or {}).get("files") or []
    records = []
    for entry in files:
        name = entry.get("fileName", "")
        if name not in zf.namelist():
            raise ArchiveError(f"{path}: the manifest lists {name!r}, which the zip lacks.")
        parsed = parse_assignment(_read(zf, name, path), f"window.{entry.get('globalName')}", name)
        if not isinstance(parsed, list):
            raise ArchiveError(f"{path}: {name} holds no list of records.")
        try:
            expected = int(entry["count"])
        except (KeyError, TypeError, ValueError):
            raise ArchiveError(f"{path}: the manifest gives no record count for {name}.") from None
        if len(parsed) != expected:
            raise ArchiveError(
                f"{path}: {name} holds {len(parsed)} records but the manifest says {expected}."
            )
        records.extend(parsed)
    return records


def _account_ids(records: list, key: str, name: str) -> list[str]:
    try:
        ids = [str(record[key]["accountId"]) for record in records]
    except (KeyError, TypeError):
        raise ArchiveError(f"A {key} record has no accountId: {name} is malformed.") from None
    if not all(i.isdigit() for i in ids):
        raise ArchiveError(f"{name} holds an accountId that is not a number.")
    return list(dict.fromkeys(ids))


def _tweet_row(record: dict, account_id: str) -> dict:
    tweet = record["tweet"]
    text = tweet.get("full_text") or tweet.get("text") or ""
    replied_to = tweet.get("in_reply_to_status_id_str")
    if text.startswith("RT @"):
        referenced_type = "retweeted"
    else:
        referenced_type = "replied_to" if replied_to else None
    created_at = datetime.strptime(tweet["created_at"], TWEET_TIME)
    return {
        "tweet_id": str(tweet["id_str"]),
        "author_id": account_id,
        "created_at": created_at.astimezone(UTC).replace(tzinfo=None),
        "text": text,
        # Archives carry no conversation ids: an original tweet starts its own conversation,
        # and a reply is filed under the tweet it answers (the archive does not name the root).
        "conversation_id": str(replied_to or tweet["id_str"]),
        "in_reply_to_user_id": tweet.get("in_reply_to_user_id_str"),
        "referenced_type": referenced_type,
        "like_count": int(tweet.get("favorite_count", 0)),
        "retweet_count": int(tweet.get("retweet_count", 0)),
        "reply_count": None,
    }


def read_archive(path: Path) -> Archive:
    """Parse and check an archive completely, or raise ArchiveError saying what is wrong."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{path} is not a readable zip file ({error}).") from None
    with zf:
        _check_members(zf, path)
        if MANIFEST not in zf.namelist():
            raise ArchiveError(f"{path} has no {MANIFEST}: it is not an X data archive.")
        manifest = parse_assignment(_read(zf, MANIFEST, path), MANIFEST_GLOBAL, MANIFEST)
        try:
            user, info = manifest["userInfo"], manifest["archiveInfo"]
            data_types = manifest["dataTypes"]
            account_id, username = str(user["accountId"]), str(user["userName"])
            generated = datetime.fromisoformat(info["generationDate"].replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ArchiveError(f"{path}: {MANIFEST} lacks or garbles {error}.") from None
        if info.get("isPartialArchive"):
            raise ArchiveError(
                f"{path} is a partial archive: it cannot tell who stopped following. Request "
                "the full archive."
            )
        for required in ("follower", "following"):
            if not (data_types.get(required) or {}).get("files"):
                raise ArchiveError(f"{path}: {MANIFEST} lists no {required} file.")
        followers = _records(zf, path, data_types, "follower")
        following = _records(zf, path, data_types, "following")
        # Older archives name the tweets 'tweet' (tweet.js), newer ones 'tweets' (tweets.js,
        # then tweets-part1.js, ... for large ones).
        tweets = _records(zf, path, data_types, "tweets" if "tweets" in data_types else "tweet")
    try:
        tweet_rows = [_tweet_row(record, account_id) for record in tweets]
    except (KeyError, TypeError, ValueError) as error:
        raise ArchiveError(f"{path}: a tweet record is malformed ({error}).") from None
    return Archive(
        account_id=account_id,
        username=username,
        generated_at=generated.astimezone(UTC),
        followers=_account_ids(followers, "follower", "follower.js"),
        following=_account_ids(following, "following", "following.js"),
        follower_count=len(followers),
        following_count=len(following),
        tweets=pa.Table.from_pylist(tweet_rows, schema=SCHEMAS["tweets"]),
    )


class ArchiveSource:
    """One parsed archive, served through the same batches as the daily sources."""

    def __init__(self, archive: Archive):
        self.archive = archive

    def _check_date(self, snapshot_date: date) -> None:
        if snapshot_date != self.archive.snapshot_date:
            raise ValueError(
                f"The archive is a snapshot of {self.archive.snapshot_date}, not {snapshot_date}."
            )

    def extract_graph(self, snapshot_date: date) -> GraphBatch:
        self._check_date(snapshot_date)
        archive = self.archive
        known = dict.fromkeys(archive.followers + archive.following)
        # The archive names followers by id only: nothing is known of their profiles or status.
        users = pa.Table.from_pylist(
            [{"user_id": archive.account_id, "username": archive.username, "status": "active"}]
            + [{"user_id": user_id} for user_id in known if user_id != archive.account_id],
            schema=SCHEMAS["users"],
        )
        details = {"scan": "full", "archive_generated_at": archive.generated_at.isoformat()}
        return GraphBatch(
            account_id=archive.account_id,
            followers=ListBatch(
                pa.array(archive.followers, pa.string()), archive.follower_count, details=details
            ),
            following=ListBatch(
                pa.array(archive.following, pa.string()), archive.following_count, details=details
            ),
            users=users,
            fetched_at=archive.generated_at,
        )

    def extract_timeline(self, snapshot_date: date) -> TimelineBatch:
        self._check_date(snapshot_date)
        # Replies by others are not in an archive: the replies partition stays empty.
        return TimelineBatch(
            account_id=self.archive.account_id,
            tweets=self.archive.tweets,
            replies=SCHEMAS["replies"].empty_table(),
            fetched_at=self.archive.generated_at,
        )


def _account_for(config: Config, handle: str | None, archive: Archive, path: Path) -> Account:
    """The account the archive is imported as, refusing an archive of anyone else."""
    handle = handle or archive.username
    configured = [a for a in config.accounts if a.handle.lower() == handle.lower()]
    if configured:
        account = configured[0]
    elif HANDLE_PATTERN.match(handle):
        account = Account(handle=handle, source="archive")
    else:
        raise ArchiveError(f"{handle!r} is not a valid X handle.")
    # Handles change; ids do not. Once the landing area knows the account's id, it decides.
    landing_dir = config.settings.landing_dir
    known_ids = {
        landing.read_manifest(landing_dir, "followers", account.handle, day).account_id
        for day in landing.finished_dates(landing_dir, "followers", account.handle)
    }
    if known_ids and archive.account_id not in known_ids:
        raise ArchiveError(
            f"{path} is the archive of account {archive.account_id} (@{archive.username}), but "
            f"@{account.handle} is account {', '.join(sorted(known_ids))}."
        )
    if not known_ids and archive.username.lower() != account.handle.lower():
        raise ArchiveError(f"{path} is the archive of @{archive.username}, not @{account.handle}.")
    return account


def import_archive(path: Path, handle: str | None, config: Config) -> dict:
    """Load one archive as the snapshot of its generation date, then rebuild from that date.

    The snapshot is validated like a daily extract; a batch that fails is quarantined and
    QuarantinedSnapshotError raised after the rest is loaded, as for any source.
    """
    archive = read_archive(path)
    account = _account_for(config, handle, archive, Path(path))
    settings, day = config.settings, archive.snapshot_date
    existing = landing.read_manifest(settings.landing_dir, "followers", account.handle, day)
    if existing is not None and existing.source != "archive":
        raise ArchiveError(
            f"@{account.handle} already has a {existing.source} snapshot on {day}; the archive "
            "would replace it."
        )
    source = ArchiveSource(archive)
    # Opened first: a locked warehouse refuses the import before anything is written.
    with open_warehouse(settings) as con:
        for step in (extract.extract_graph, extract.extract_timeline):
            step(replace(account, source="archive"), day, settings, source)
        validate.validate_day(account, day, settings)
        loaded = validate.load_validated(con, account, day, settings)
        transform.transform_account(con, loaded.account_id, settings)
    return {
        "handle": account.handle,
        "account_id": archive.account_id,
        "snapshot_date": day.isoformat(),
        "followers": len(archive.followers),
        "following": len(archive.following),
        "tweets": archive.tweets.num_rows,
    }
