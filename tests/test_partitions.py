"""The raw lists and profiles as one table per (account, date): a warehouse from before them."""

import subprocess
import sys
from dataclasses import replace

import duckdb
import pytest

from pipeline import load, partitions, transform
from pipeline.warehouse import connect
from tests.test_retention import ACCOUNT, ACCOUNT_ID, FOLLOWERS, D, land_day, run, tables


def to_plain_tables(con) -> None:
    """The layout of a warehouse from before partitions: raw lists and profiles in plain tables."""
    for view in partitions.DATE_COLUMNS:
        con.execute(f"CREATE TABLE {view}_plain AS SELECT * FROM {view}")
        con.execute(f"DROP VIEW {view}")
    con.execute(f"DROP SCHEMA {partitions.SCHEMA} CASCADE")
    for view in partitions.DATE_COLUMNS:
        con.execute(f"ALTER TABLE {view}_plain RENAME TO {view.split('.')[1]}")


def test_a_warehouse_from_before_partitions_keeps_its_rows_and_runs_on_as_one_built_after(
    settings, tmp_path
):
    short = replace(settings, churn_window_days=2, raw_retention_days=1)
    before_days = sorted(FOLLOWERS.items())[:7]
    old = run(replace(short, db_path=tmp_path / "old.duckdb"), before_days)
    seven_days = tables(old)
    to_plain_tables(old)
    old.close()

    migrated = connect(replace(short, db_path=tmp_path / "old.duckdb"))
    assert tables(migrated) == seven_days
    assert [day for _, day, _ in partitions.partitions(migrated, "raw.follower_snapshot")] == [D[7]]
    # The old days' kept profiles are in the base table, as compaction left them.
    assert [day for _, day, _ in partitions.partitions(migrated, "raw.users")] == [D[7]]
    assert migrated.execute(
        "SELECT user_id, observed_on FROM raw_days.users ORDER BY ALL"
    ).fetchall() == [(2, D[3]), (2, D[4]), (3, D[6])]
    assert (
        migrated.execute(
            "SELECT comment FROM duckdb_views() WHERE schema_name = 'raw' AND view_name = 'users'"
        )
        .fetchone()[0]
        .startswith("One row per tracked account, date and user profile")
    )

    land_day(short, 8, FOLLOWERS[8])
    load.load_day(migrated, ACCOUNT, D[8], short)
    transform.transform_account(migrated, ACCOUNT_ID, short)
    built_after = run(replace(short, db_path=tmp_path / "new.duckdb"), sorted(FOLLOWERS.items()))
    assert tables(migrated) == tables(built_after)
    assert [day for _, day, _ in partitions.partitions(migrated, "raw.users")] == [D[8]]


def test_profiles_of_dates_loaded_since_the_last_compaction_are_judged_after_the_move(
    settings, tmp_path
):
    # Day 2, re-extracted without user 5 and loaded, but not yet transformed, when the warehouse
    # moves to partitions: its profiles and everything after it must wait for the transform.
    short = replace(settings, churn_window_days=2, raw_retention_days=1)
    reextract = (2, FOLLOWERS[2] - {5})
    old = run(replace(short, db_path=tmp_path / "old.duckdb"), sorted(FOLLOWERS.items())[:7])
    land_day(short, *reextract)
    load.load_day(old, ACCOUNT, D[2], short)
    to_plain_tables(old)
    old.close()

    migrated = connect(replace(short, db_path=tmp_path / "old.duckdb"))
    assert partitions.partitions(migrated, "raw.users")[0][1] == D[2]
    transform.transform_account(migrated, ACCOUNT_ID, short)
    built_after = run(
        replace(short, db_path=tmp_path / "new.duckdb"), [*sorted(FOLLOWERS.items())[:7], reextract]
    )
    assert tables(migrated) == tables(built_after)


def test_a_partition_has_its_base_tables_columns_and_refuses_what_the_base_refuses(settings):
    con = connect(settings)
    name = partitions.create(con, "raw.users", ACCOUNT_ID, D[1])
    assert partitions.columns(con, "raw.users") == (
        "account_id, observed_on, user_id, username, created_at, followers_count, "
        "following_count, tweet_count, default_avatar, description, protected, verified, status"
    )
    assert (
        con.execute(f"DESCRIBE {name}").fetchall()
        == con.execute("DESCRIBE raw_days.users").fetchall()
    )
    with pytest.raises(duckdb.ConstraintException, match="user_id"):
        con.execute(f"INSERT INTO {name} (account_id, observed_on) VALUES (1, DATE '2026-03-01')")


def test_a_move_that_fails_leaves_the_warehouse_as_it_was_and_unlocked(
    settings, tmp_path, monkeypatch
):
    short = replace(settings, churn_window_days=2, raw_retention_days=1)
    old = run(short, sorted(FOLLOWERS.items())[:3])
    plain_rows = tables(old)
    to_plain_tables(old)
    old.close()

    def fail(con, views):
        raise RuntimeError("disk full")

    monkeypatch.setattr(partitions, "adopt", fail)
    with pytest.raises(RuntimeError, match="disk full") as failure:
        connect(short)
    # Another process can take the write lock at once, while the caller still holds the error
    # (and with it the failed call's frame): the connection was closed, not left to the collector.
    opened = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(short.db_path)!r}).close()"],
        capture_output=True,
        text=True,
    )
    assert opened.returncode == 0, opened.stderr
    assert failure.value.args == ("disk full",)
    monkeypatch.undo()
    with duckdb.connect(str(short.db_path), read_only=True) as unmoved:
        assert unmoved.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY ALL"
        ).fetchall() == [
            ("follower_snapshot",),
            ("following_snapshot",),
            ("replies",),
            ("tweets",),
            ("users",),
        ]
    assert tables(connect(short)) == plain_rows
