import os
import struct
import threading
from dataclasses import replace

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline import publish
from pipeline.cli import app
from pipeline.warehouse import open_warehouse
from tests.analysts.test_catalog import MARTS

runner = CliRunner()
HANDLES = ("acme_brand", "growth_hacker", "maya_writes")


def _storage_version(path) -> int:
    """The storage version number in a DuckDB file's header (after the checksum and 'DUCK')."""
    header = path.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    return struct.unpack("<Q", header[12:20])[0]


def _counts(con, relation: str) -> dict[str, int]:
    return dict(
        con.execute(
            f"SELECT handle, count(*) FROM {relation} JOIN meta.accounts USING (account_id) "
            "GROUP BY handle"
        ).fetchall()
    )


def test_published_copy_holds_the_marts_with_their_comments(demo):
    db = publish.published_db(demo.settings)
    published = duckdb.connect(str(db), read_only=True)
    with open_warehouse(demo.settings, read_only=True) as warehouse:
        for mart in sorted(MARTS) + ["core.follow_edges", "staging.stg_tweets"]:
            expected = warehouse.execute(f"SELECT count(*) FROM {mart}").fetchall()
            assert expected[0][0] > 0, mart
            assert published.execute(f"SELECT count(*) FROM {mart}").fetchall() == expected
        comments = (
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE schema_name = 'mart' AND database_name = current_database() ORDER BY ALL"
        )
        assert published.execute(comments).fetchall() == warehouse.execute(comments).fetchall()
        churners_comment = (
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'mart' "
            "AND table_name = 'churners'"
        )
        assert published.execute(churners_comment).fetchall() == (
            warehouse.execute(churners_comment).fetchall()
        )
    assert db.resolve().stat().st_mode & 0o777 == 0o444
    # Only what analysts need: no raw tables.
    schemas = {
        s
        for (s,) in published.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()
    }
    assert schemas == {"core", "mart", "meta", "staging"}


def test_marts_are_parquet_partitioned_by_account(demo):
    marts_dir = publish.published_dir(demo.settings) / "marts"
    assert {p.name for p in marts_dir.iterdir()} == {m.removeprefix("mart.") for m in MARTS}
    for mart in MARTS:
        name = mart.removeprefix("mart.")
        assert sorted(p.name for p in (marts_dir / name).iterdir()) == [
            f"account={h}" for h in HANDLES
        ]
    con = duckdb.connect()
    with open_warehouse(demo.settings, read_only=True) as warehouse:
        for mart in MARTS:
            glob = marts_dir / mart.removeprefix("mart.") / "*" / "*.parquet"
            from_parquet = dict(
                con.execute(
                    f"SELECT account, count(*) FROM read_parquet('{glob}', hive_partitioning = "
                    "true) GROUP BY account"
                ).fetchall()
            )
            assert from_parquet == _counts(warehouse, mart), mart


def test_copy_is_in_a_storage_format_duckdb_1_4_reads(demo):
    # DuckDB 1.4 refuses a file whose header says anything but 64..67 ("we can only read versions
    # between 64 and 67"); 2.0 writes a newer number unless told STORAGE_VERSION 'v1.4.0'.
    assert 64 <= _storage_version(publish.published_db(demo.settings).resolve()) <= 67
    assert _storage_version(demo.settings.db_path) > 67


@pytest.fixture
def publisher(demo, tmp_path):
    """Publishes the demo warehouse into a directory of its own."""
    return replace(demo.settings, data_dir=tmp_path)


def _current(settings) -> str:
    return os.readlink(publish.published_dir(settings) / "current")


def test_each_run_swaps_in_a_new_version_and_keeps_the_previous_one(publisher):
    first = publish.publish(publisher)
    reader = duckdb.connect(str(publish.published_db(publisher)), read_only=True)
    second = publish.publish(publisher)
    versions = publish.published_dir(publisher) / "versions"
    assert _current(publisher) == f"versions/{second.version}"
    assert sorted(p.name for p in versions.iterdir()) == [first.version, second.version]
    # A reader that opened the first version keeps reading it after the swap.
    assert reader.execute("SELECT count(*) FROM mart.churn_daily").fetchall()[0][0] > 0
    third = publish.publish(publisher)
    assert sorted(p.name for p in versions.iterdir()) == [second.version, third.version]
    assert reader.execute("SELECT count(*) FROM mart.churners").fetchall()[0][0] > 0


def test_a_failed_publish_leaves_the_previous_copy_in_place(publisher, monkeypatch):
    good = publish.publish(publisher)

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(publish, "_export_marts", fail)
    with pytest.raises(OSError, match="disk full"):
        publish.publish(publisher)
    assert _current(publisher) == f"versions/{good.version}"
    versions = publish.published_dir(publisher) / "versions"
    assert [p.name for p in versions.iterdir()] == [good.version]


def test_readers_during_publishes_always_see_a_whole_copy(publisher):
    publish.publish(publisher)
    expected = (
        duckdb.connect(str(publisher.db_path), read_only=True)
        .execute("SELECT count(*) FROM mart.churn_daily")
        .fetchall()
    )
    seen, errors, done = [], [], threading.Event()

    def read():
        while not done.is_set():
            try:
                con = duckdb.connect(str(publish.published_db(publisher)), read_only=True)
                seen.append(con.execute("SELECT count(*) FROM mart.churn_daily").fetchall())
                con.close()
            except Exception as error:  # any failure to open or read is what this test is after
                errors.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(3):
            publish.publish(publisher)
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert len(seen) > 3
    assert all(counts == expected for counts in seen)


def test_publish_command(demo, publisher, monkeypatch):
    monkeypatch.setenv("FOLLOWBACK_CONFIG", str(demo.config_path))
    monkeypatch.setenv("FOLLOWBACK_DATA_DIR", str(publisher.data_dir))
    monkeypatch.setenv("FOLLOWBACK_DB", str(demo.settings.db_path))
    result = runner.invoke(app, ["publish"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "Published 10 tables and 21 Parquet files" in output
    assert (
        publish.published_dir(publisher) / "marts" / "churners" / "account=maya_writes"
    ).is_dir()
