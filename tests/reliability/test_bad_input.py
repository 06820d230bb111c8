"""Damaged and hostile input: corrupt landing files, hostile handles, text, ids and archives."""

from __future__ import annotations

import os
import zipfile
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipeline import landing, run, validate
from pipeline.config import Account, Config, ConfigError, load_config
from pipeline.sources import archive as archive_module
from pipeline.sources.archive import ArchiveError, import_archive
from pipeline.warehouse import connect
from tests.helpers import land_lists
from tests.reliability.helpers import row_counts
from tests.sources.test_archive import _symlink_archive, build_archive

SMALL = Account(handle="maya_writes", persona="organic")
DAY = date(2026, 1, 5)
INT64_MAX = 9223372036854775807


@pytest.fixture
def small_config(settings) -> Config:
    config = Config(settings=settings, accounts=(SMALL,))
    run.extract_graph(SMALL.handle, DAY.isoformat(), config)
    run.extract_timeline(SMALL.handle, DAY.isoformat(), config)
    return config


def _truncate(settings, kind="followers") -> Path:
    path = landing.data_path(settings.landing_dir, kind, SMALL.handle, DAY)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _loaded_rows(settings) -> int:
    if not settings.db_path.exists():
        return 0
    counts = row_counts(settings.db_path)
    return sum(n for name, n in counts.items() if name.startswith(("raw.", "truth.")))


def test_a_truncated_landing_file_fails_validation_with_a_data_quality_error(small_config):
    path = _truncate(small_config.settings)
    with pytest.raises(validate.DataQualityError, match=str(path)):
        run.validate_snapshot(SMALL.handle, DAY.isoformat(), small_config)


def test_a_truncated_landing_file_is_never_loaded(small_config, record):
    settings = small_config.settings
    path = _truncate(settings)
    with pytest.raises(validate.UnreadableBatchError, match="re-extract the date"):
        run.validate_snapshot(SMALL.handle, DAY.isoformat(), small_config)
    with pytest.raises(validate.NotValidatedError, match="followers extract of .* not been"):
        run.load_snapshot(SMALL.handle, DAY.isoformat(), small_config)
    assert path.exists()
    assert _loaded_rows(settings) == 0


def test_a_landing_file_corrupted_after_validation_loads_nothing(small_config):
    settings = small_config.settings
    run.validate_snapshot(SMALL.handle, DAY.isoformat(), small_config)
    # Garbage of the same length: the manifest and validation outcome still look current.
    path = landing.data_path(settings.landing_dir, "users", SMALL.handle, DAY)
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(duckdb.Error, match="data.parquet"):
        run.load_snapshot(SMALL.handle, DAY.isoformat(), small_config)
    assert _loaded_rows(settings) == 0


HOSTILE_HANDLES = [
    "maya'; DROP TABLE raw.users; --",
    'a"b',
    "x;y",
    "../../etc",
    "maya writes",
    "",
    "a" * 16,
]


@pytest.mark.parametrize("handle", HOSTILE_HANDLES)
def test_hostile_handles_are_refused_by_the_config(tmp_path, handle):
    path = tmp_path / "accounts.yml"
    handle_yaml = handle.replace("'", "''")
    path.write_text(f"accounts:\n  - {{handle: '{handle_yaml}', persona: organic}}\n")
    with pytest.raises(ConfigError, match="is not a valid X handle"):
        load_config(path)


def test_a_handle_that_is_a_sql_keyword_is_only_ever_a_value(config_file):
    # "SELECT" and "DROP" match X's handle rules, so they must work as plain data.
    config_file.write_text(
        "accounts:\n  - {handle: SELECT, persona: organic}\n  - {handle: DROP, persona: brand}\n"
    )
    config = load_config()
    assert [a.handle for a in config.accounts] == ["SELECT", "DROP"]


HOSTILE_TEXTS = {
    "1001": "héllo wörld — ünïcödé ✓ 日本語 עברית",
    "1002": "emoji 👩‍👩‍👧‍👦🏳️‍🌈🔥 and a ZWJ",
    "1003": "NUL\x00inside\x00text",
    "1004": "x" * 100_000,
    "1005": "'; DROP TABLE raw.tweets; --",
}


def _land_tweets(settings, account: Account, account_id: int, texts: dict[str, str]) -> None:
    rows = [
        {
            "tweet_id": tweet_id,
            "author_id": str(account_id),
            "created_at": datetime(2026, 1, 5, 12, 0),
            "text": text,
            "conversation_id": tweet_id,
            "in_reply_to_user_id": None,
            "referenced_type": None,
            "like_count": 1,
            "retweet_count": 0,
            "reply_count": 0,
        }
        for tweet_id, text in texts.items()
    ]
    landing.write_partition(
        settings.landing_dir,
        pa.Table.from_pylist(rows, schema=landing.SCHEMAS["tweets"]),
        landing.Manifest(
            account=account.handle,
            account_id=str(account_id),
            snapshot_date=DAY.isoformat(),
            kind="tweets",
            source="simulated",
            row_count=0,
        ),
        landing.SCHEMAS["tweets"],
    )


def _validate_and_load(settings, account):
    results = validate.validate_day(account, DAY, settings)
    assert {r.kind: r.failed for r in results if not r.success} == {}
    con = connect(settings)
    try:
        validate.load_validated(con, account, DAY, settings)
    finally:
        con.close()


@pytest.mark.parametrize("tweet_id", HOSTILE_TEXTS)
def test_hostile_tweet_text_round_trips_exactly(settings, tweet_id, record):
    account = Account(handle="maya_writes", persona="organic")
    text = HOSTILE_TEXTS[tweet_id]
    land_lists(settings, account, 42, DAY, [101, 102], [101])
    _land_tweets(settings, account, 42, {tweet_id: text})
    _validate_and_load(settings, account)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        stored = con.execute("SELECT tweet_id, text FROM raw.tweets").fetchall()
    finally:
        con.close()
    record(rows_lost=1 - len(stored))
    assert stored == [(int(tweet_id), text)]


def test_user_ids_at_the_top_of_int64_load_exactly(settings, record):
    account = Account(handle="maya_writes", persona="organic")
    followers = [INT64_MAX, INT64_MAX - 1, 1]
    land_lists(settings, account, INT64_MAX, DAY, followers, [INT64_MAX])
    _validate_and_load(settings, account)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        stored = con.execute(
            "SELECT account_id, user_id FROM raw.follower_snapshot ORDER BY user_id"
        ).fetchall()
        account_ids = con.execute("SELECT account_id FROM meta.accounts").fetchall()
    finally:
        con.close()
    record(rows_lost=len(followers) - len(stored))
    assert stored == [(INT64_MAX, uid) for uid in sorted(followers)]
    assert account_ids == [(INT64_MAX,)]


def _bomb(path: Path) -> Path:
    # 64 MB of zeros deflates to about 64 KB; the limits are lowered so it trips them.
    build_archive(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data/bomb.js", b"\0" * (64 << 20))
    return path


ARCHIVES = {
    "parent path": (
        lambda p: build_archive(p, members={"../../evil.js": "pwned"}),
        "unsafe path '../../evil.js'",
    ),
    "absolute path": (
        lambda p: build_archive(p, members={"/tmp/followback-evil.js": "pwned"}),
        "unsafe path '/tmp/followback-evil.js'",
    ),
    "symlink": (_symlink_archive, "'data/link.js' is a symbolic link"),
    "decompression bomb": (_bomb, "would expand to"),
    "script instead of the wrapper": (
        lambda p: build_archive(
            p, members={"data/follower.js": "require('child_process').exec('rm -rf ~')"}
        ),
        "does not start with 'window.YTD.follower.part0 ='",
    ),
}


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize("case", ARCHIVES)
def test_hostile_archives_are_refused_and_write_nothing(tmp_path, settings, monkeypatch, case):
    monkeypatch.setattr(archive_module, "MAX_TOTAL_BYTES", 16 << 20)
    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 16 << 20)
    make, message = ARCHIVES[case]
    path = make(tmp_path / "archive.zip")
    # Run from deep inside tmp_path, so a ../ path that escaped would land where we look.
    workdir = tmp_path / "a" / "b"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    before = _files(tmp_path)
    config = Config(settings=settings, accounts=(Account(handle="maya_x", source="archive"),))
    with pytest.raises(ArchiveError) as refused:
        import_archive(path, "maya_x", config)
    assert message in str(refused.value)
    assert _files(tmp_path) == before
    assert not settings.data_dir.exists()
    assert not Path("/tmp/followback-evil.js").exists()
    assert not any("evil" in name for name in os.listdir(tmp_path.parent))
