import dataclasses
import json
import stat
import zipfile
from datetime import date, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline import landing
from pipeline.cli import app
from pipeline.config import Account, Config
from pipeline.sources import archive as archive_module
from pipeline.sources.archive import ArchiveError, import_archive
from tests.helpers import land_lists

MAYA_ID = "1500000000000000001"
GENERATED = "2021-03-22T15:32:53.698Z"
DAY = date(2021, 3, 22)
TWEETS = [
    {
        "id_str": "1373000000000000001",
        "full_text": "What's one book that changed how you think?",
        "created_at": "Fri Mar 19 09:10:58 +0000 2021",
        "favorite_count": "15",
        "retweet_count": "2",
    },
    {
        "id_str": "1373000000000000002",
        "full_text": "@alice Thanks, adding it to the list!",
        "created_at": "Sat Mar 20 18:00:00 +0100 2021",
        "in_reply_to_status_id_str": "1372900000000000000",
        "in_reply_to_user_id_str": "101",
        "favorite_count": "1",
        "retweet_count": "0",
    },
    {
        "id_str": "1373000000000000003",
        "full_text": "RT @news: Is this the future of work?",
        "created_at": "Sun Mar 21 07:30:00 +0000 2021",
        "favorite_count": "0",
        "retweet_count": "12",
    },
]
# Where the tweets are, by archive generation: (data type, {file: (global name, slice)}).
LAYOUTS = {
    "old": ("tweet", {"data/tweet.js": ("YTD.tweet.part0", slice(None))}),
    "new": ("tweets", {"data/tweets.js": ("YTD.tweets.part0", slice(None))}),
    "split": (
        "tweets",
        {
            "data/tweets.js": ("YTD.tweets.part0", slice(0, 2)),
            "data/tweets-part1.js": ("YTD.tweets.part1", slice(2, None)),
        },
    ),
}


def build_archive(
    path,
    followers=("101", "102", "103"),
    following=("101", "201"),
    tweets=TWEETS,
    layout="new",
    generated=GENERATED,
    username="maya_x",
    partial=False,
    counts=None,
    members=None,
    omit=(),
):
    """A zip shaped like X's 'Download an archive'; `members` replaces or adds files."""
    tweet_type, tweet_files = LAYOUTS[layout]
    files = {
        f"data/{kind}.js": (f"YTD.{kind}.part0", kind, [{kind: {"accountId": i}} for i in ids])
        for kind, ids in (("follower", followers), ("following", following))
    }
    for name, (global_name, part) in tweet_files.items():
        files[name] = (global_name, tweet_type, [{"tweet": t} for t in tweets[part]])
    data_types = {}
    for name, (global_name, data_type, records) in files.items():
        count = (counts or {}).get(name, len(records))
        data_types.setdefault(data_type, {"files": []})["files"].append(
            {"fileName": name, "globalName": global_name, "count": str(count)}
        )
    manifest = {
        "userInfo": {"accountId": MAYA_ID, "userName": username, "displayName": "Maya"},
        "archiveInfo": {
            "sizeBytes": "4096",
            "generationDate": generated,
            "isPartialArchive": partial,
        },
        "dataTypes": data_types,
    }
    texts = {"data/manifest.js": f"window.__THAR_CONFIG = {json.dumps(manifest, indent=2)}"}
    for name, (global_name, _, records) in files.items():
        texts[name] = f"window.{global_name} = {json.dumps(records, indent=2)}"
    texts["Your archive.html"] = "<html>Your archive</html>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (texts | (members or {})).items():
            if name not in omit:
                zf.writestr(name, text)
    return path


@pytest.fixture
def archive_config(settings):
    return Config(settings=settings, accounts=(Account(handle="acme_brand", persona="brand"),))


def query(settings, sql):
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_an_archive_loads_as_the_snapshot_of_its_generation_date(tmp_path, archive_config):
    settings = archive_config.settings
    imported = import_archive(build_archive(tmp_path / "a.zip"), None, archive_config)

    assert imported == {
        "handle": "maya_x",
        "account_id": MAYA_ID,
        "snapshot_date": "2021-03-22",
        "followers": 3,
        "following": 2,
        "tweets": 3,
    }
    followers = landing.read_manifest(settings.landing_dir, "followers", "maya_x", DAY)
    assert (followers.source, followers.expected_count, followers.row_count) == ("archive", 3, 3)
    assert followers.details["scan"] == "full"
    tweets = landing.read_partition(settings.landing_dir, "tweets", "maya_x", DAY)
    assert tweets["created_at"].tolist() == [
        datetime(2021, 3, 19, 9, 10, 58),
        datetime(2021, 3, 20, 17, 0),  # +0100 converted to UTC
        datetime(2021, 3, 21, 7, 30),
    ]
    assert tweets["referenced_type"].fillna("-").tolist() == ["-", "replied_to", "retweeted"]
    assert tweets["conversation_id"].tolist() == [
        "1373000000000000001", "1372900000000000000", "1373000000000000003",
    ]  # fmt: skip
    assert tweets["like_count"].tolist() == [15, 1, 0]
    assert landing.read_partition(settings.landing_dir, "replies", "maya_x", DAY).empty

    assert query(settings, "SELECT handle, source FROM meta.accounts") == [("maya_x", "archive")]
    assert query(
        settings,
        "SELECT kind, source, row_count, expected_count, scan FROM meta.snapshots ORDER BY kind",
    ) == [
        ("followers", "archive", 3, 3, "full"),
        ("following", "archive", 2, 2, "full"),
        ("replies", "archive", 0, None, None),
        ("tweets", "archive", 3, None, None),
        ("users", "archive", 5, None, None),
    ]
    assert query(
        settings,
        "SELECT direction, count(*), min(valid_from) FROM core.follow_edges GROUP BY 1 ORDER BY 1",
    ) == [("follower", 3, DAY), ("following", 2, DAY)]


@pytest.mark.parametrize("layout", ["old", "split"])
def test_old_and_split_tweet_files_are_read(tmp_path, archive_config, layout):
    import_archive(build_archive(tmp_path / "a.zip", layout=layout), "maya_x", archive_config)
    tweets = landing.read_partition(archive_config.settings.landing_dir, "tweets", "maya_x", DAY)
    assert tweets["tweet_id"].tolist() == [t["id_str"] for t in TWEETS]


def _symlink_archive(path):
    build_archive(path)
    with zipfile.ZipFile(path, "a") as zf:
        link = zipfile.ZipInfo("data/link.js")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    return path


FOLLOWERS_JS = 'window.YTD.follower.part0 = [{"follower": {"accountId": "101"}}]'
REFUSED = {
    "broken wrapper": (
        lambda p: build_archive(p, members={"data/follower.js": FOLLOWERS_JS.replace(" =", "")}),
        "does not start with 'window.YTD.follower.part0 ='",
    ),
    "code instead of data": (
        lambda p: build_archive(p, members={"data/follower.js": "fetch('x'); " + FOLLOWERS_JS}),
        "does not start with 'window.YTD.follower.part0 ='",
    ),
    "truncated json": (
        lambda p: build_archive(p, members={"data/follower.js": FOLLOWERS_JS[:-12]}),
        "data/follower.js is not valid JSON",
    ),
    "missing manifest": (
        lambda p: build_archive(p, omit={"data/manifest.js"}),
        "has no data/manifest.js: it is not an X data archive",
    ),
    "count mismatch": (
        lambda p: build_archive(p, counts={"data/follower.js": 4}),
        "data/follower.js holds 3 records but the manifest says 4",
    ),
    "missing part": (
        lambda p: build_archive(p, layout="split", omit={"data/tweets-part1.js"}),
        "the manifest lists 'data/tweets-part1.js', which the zip lacks",
    ),
    "partial archive": (
        lambda p: build_archive(p, partial=True),
        "is a partial archive",
    ),
    "not a zip": (
        lambda p: p.write_bytes(b"PK\x03\x04 this is not really a zip") and p,
        "is not a readable zip file",
    ),
    "parent path": (
        lambda p: build_archive(p, members={"../../evil.js": "x"}),
        "unsafe path '../../evil.js'",
    ),
    "absolute path": (
        lambda p: build_archive(p, members={"/etc/cron.d/evil": "x"}),
        "unsafe path '/etc/cron.d/evil'",
    ),
    "symlink": (_symlink_archive, "'data/link.js' is a symbolic link"),
    "another account": (
        lambda p: build_archive(p, username="someone_else"),
        "is the archive of @someone_else, not @maya_x",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_bad_archives_are_refused_and_leave_nothing(tmp_path, archive_config, case):
    make, message = REFUSED[case]
    path = make(tmp_path / "archive.zip")
    with pytest.raises(ArchiveError, match=message.replace("(", r"\(").replace("?", r"\?")):
        import_archive(path, "maya_x", archive_config)
    assert not archive_config.settings.data_dir.exists()


def test_a_decompression_bomb_is_refused_before_reading(tmp_path, archive_config, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_TOTAL_BYTES", 2000)
    with pytest.raises(ArchiveError, match="would expand to"):
        import_archive(build_archive(tmp_path / "a.zip"), None, archive_config)


def test_an_archive_of_another_account_id_is_refused(tmp_path, archive_config):
    settings = archive_config.settings
    maya = Account(handle="maya_x", source="x_api")
    land_lists(settings, maya, 42, date(2021, 3, 1), [101], [201])
    with pytest.raises(ArchiveError, match=f"account {MAYA_ID} \\(@maya_x\\), but @maya_x is"):
        import_archive(build_archive(tmp_path / "a.zip"), "maya_x", archive_config)
    assert landing.finished_dates(settings.landing_dir, "followers", "maya_x") == [date(2021, 3, 1)]


NEW_YEAR = {
    "id_str": "1345000000000000001",
    "full_text": "Happy new year!",
    "created_at": "Fri Jan 01 10:00:00 +0000 2021",
}
ARCHIVES = {
    "2021-01-10": (["1", "2", "3"], ["1"]),
    "2021-04-05": (["2", "3", "4", "5"], ["1", "4"]),
    "2021-05-02": (["2", "5", "6"], ["4", "6"]),
    "2021-08-30": (["3", "5", "6", "7"], ["4", "6", "7"]),
}


def _tables(settings) -> dict[str, list]:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('core', 'mart') ORDER BY 1"
        ).fetchall()
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for (n,) in names}
    finally:
        con.close()


def test_archives_in_any_order_give_the_tables_of_date_order(tmp_path, settings):
    tables = []
    for order in (sorted(ARCHIVES), ["2021-08-30", "2021-01-10", "2021-05-02", "2021-04-05"]):
        run_settings = dataclasses.replace(
            settings, data_dir=tmp_path / order[0], db_path=tmp_path / order[0] / "fb.duckdb"
        )
        config = Config(settings=run_settings, accounts=())
        for day in order:
            followers, following = ARCHIVES[day]
            path = build_archive(
                tmp_path / f"{day}.zip",
                followers=followers,
                following=following,
                generated=f"{day}T10:00:00.000Z",
                # An archive holds only what was posted before it was generated.
                tweets=[NEW_YEAR, *TWEETS] if day > "2021-03-21" else [NEW_YEAR],
            )
            import_archive(path, "maya_x", config)
        tables.append(_tables(run_settings))

    in_date_order, shuffled = tables
    assert in_date_order["core.follow_edges"]
    assert "mart.churn_daily" in in_date_order
    assert shuffled == in_date_order
    # Each archive is one snapshot: '1' left at some point between January and April, and '3'
    # came back after leaving.
    intervals = [(r[1], r[2], r[3], r[4]) for r in in_date_order["core.follow_edges"]]
    assert (1, "follower", date(2021, 1, 10), date(2021, 4, 5)) in intervals
    assert [i for i in intervals if i[:2] == (3, "follower")] == [
        (3, "follower", date(2021, 1, 10), date(2021, 5, 2)),
        (3, "follower", date(2021, 8, 30), None),
    ]


def test_cli_import_archive(tmp_path, config_file):
    runner = CliRunner()
    done = runner.invoke(app, ["import-archive", str(build_archive(tmp_path / "a.zip"))])
    assert done.exit_code == 0, done.output
    assert "Imported the archive of @maya_x as its snapshot of 2021-03-22: 3 followers" in (
        done.output.replace("\n", " ")
    )
    refused = runner.invoke(
        app, ["import-archive", str(tmp_path / "a.zip"), "--account", "acme_brand"]
    )
    assert refused.exit_code == 2
    assert "not @acme_brand" in refused.output and "Nothing was imported" in refused.output
