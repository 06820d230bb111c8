"""Validation gates every load: each injected failure is named, kept out and harms nothing loaded.

Two good days of maya_writes are built once and copied into each test; day 3 is where failures
are injected, by rewriting a landing partition between extract and validate.
"""

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from pipeline import landing, run, validate
from pipeline.cli import app
from pipeline.config import Account, Config, default_settings, load_config
from pipeline.sources import SNOWFLAKE_TIME_SHIFT, X_EPOCH_MS
from pipeline.warehouse import connect

MAYA = Account(handle="maya_writes", persona="organic")
D1, D2, D3, D4 = (date(2026, 1, 1) + timedelta(days=n) for n in range(4))
# Tables with the column that dates their rows.
DATED = {
    "raw.follower_snapshot": "snapshot_date",
    "raw.following_snapshot": "snapshot_date",
    "raw.users": "observed_on",
    "raw.tweets": "snapshot_date",
    "raw.replies": "snapshot_date",
    "meta.snapshots": "snapshot_date",
}
ROW_COUNT = ("expect_table_row_count_to_be_between", None)
SITE = "gx/uncommitted/data_docs/local_site"
SHRINK = (validate.GUARD_EXPECTATION, None)


def make_config(root: Path) -> Config:
    settings = default_settings(data_dir=root / "data", db_path=root / "data" / "fb.duckdb")
    return Config(settings=settings, accounts=(MAYA,))


@pytest.fixture(scope="module")
def two_days(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("two_days")
    config = make_config(root)
    for day in (D1, D2):
        run.run_day(MAYA.handle, day, config)
    return root


@pytest.fixture
def config(two_days, tmp_path) -> Config:
    shutil.copytree(two_days, tmp_path / "world")
    return make_config(tmp_path / "world")


def query(config: Config, sql: str, params=()) -> list:
    con = connect(config.settings, read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def loaded_before(config: Config, day: date) -> dict:
    """Every row loaded for dates before `day`, and every follow interval."""
    tables = {
        table: query(
            config,
            # When a batch was extracted and loaded differs between equal runs.
            f"SELECT * EXCLUDE (extracted_at, loaded_at) FROM {table} WHERE {column} < ? "
            "ORDER BY ALL"
            if table == "meta.snapshots"
            else f"SELECT * FROM {table} WHERE {column} < ? ORDER BY ALL",
            [day],
        )
        for table, column in DATED.items()
    }
    tables["core.follow_edges"] = query(config, "SELECT * FROM core.follow_edges ORDER BY ALL")
    return tables


def statuses(config: Config, day: date) -> dict:
    return dict(
        query(config, "SELECT kind, status FROM meta.snapshots WHERE snapshot_date = ?", [day])
    )


def failures(config: Config, day: date) -> dict:
    """Per suite, the (expectation, column) pairs its latest run on each batch of `day` failed."""
    rows = query(
        config,
        """SELECT suite, failed_expectations FROM meta.validation_results
           WHERE snapshot_date = ? QUALIFY row_number() OVER (
               PARTITION BY suite, batch ORDER BY validated_at DESC) = 1""",
        [day],
    )
    found: dict[str, list] = {}
    for suite, failed in rows:
        found.setdefault(suite, []).extend(
            (f["expectation"], f["kwargs"].get("column", f["kwargs"].get("column_B")))
            for f in json.loads(failed)
        )
    return {suite: sorted(pairs) for suite, pairs in found.items()}


def rewrite(config: Config, kind: str, day: date, change) -> None:
    """Replace a landing partition as a faulty re-extract would: new data, new manifest."""
    landing_dir = config.settings.landing_dir
    frame = landing.read_partition(landing_dir, kind, MAYA.handle, day)
    manifest = landing.read_manifest(landing_dir, kind, MAYA.handle, day)
    frame, manifest = change(frame, manifest)
    manifest = replace(manifest, extracted_at=datetime.now(UTC).isoformat())
    landing.write_partition(landing_dir, frame, manifest, landing.SCHEMAS[kind])


def extract(config: Config, day: date) -> None:
    run.extract_graph(MAYA.handle, day.isoformat(), config)
    run.extract_timeline(MAYA.handle, day.isoformat(), config)


def duplicate_ids(frame, manifest):
    return pd.concat([frame, frame.head(2)]), manifest


def set_first_id(frame, manifest, user_id: str):
    frame.loc[frame.index[0], "user_id"] = user_id
    return frame, manifest


def null_ids(frame, manifest):
    frame.loc[frame.index[:2], "user_id"] = None
    return frame, manifest


def half_the_pages(frame, manifest):
    return frame.iloc[: len(frame) // 2], manifest


def stated_count_mismatch(frame, manifest):
    return frame, replace(manifest, expected_count=len(frame) * 3 // 2)


def created_in_the_future(frame, manifest):
    frame.loc[frame.index[0], "created_at"] = pd.Timestamp(D3 + timedelta(days=30))
    return frame, manifest


def created_in_the_year_9999(frame, manifest):
    # Beyond what a nanosecond timestamp holds: GX compares those only.
    frame.loc[frame.index[0], "created_at"] = pd.Timestamp("9999-12-31")
    return frame, manifest


def reply_before_its_question(frame, manifest):
    # A plausible date on its own, but years before the tweet it answers.
    frame.loc[frame.index[0], "created_at"] = pd.Timestamp("2020-01-01")
    return frame, manifest


def reply_to_a_later_post(frame, manifest):
    # It answers a post made a day after it, which no tweets file holds: the id dates the post.
    made_at = pd.Timestamp(frame["created_at"].iloc[0]) + pd.Timedelta(days=1)
    made_ms = int(made_at.timestamp() * 1000) - X_EPOCH_MS
    frame.loc[frame.index[0], "in_reply_to_tweet_id"] = str(made_ms << SNOWFLAKE_TIME_SHIFT)
    return frame, manifest


FAILURE_MODES = {
    "duplicate ids": (
        "followers",
        duplicate_ids,
        {"followers": [("expect_column_ids_to_be_unique", "user_id_as_bigint")]},
    ),
    "an id spelled with a leading zero": (
        "followers",
        lambda frame, manifest: set_first_id(frame, manifest, "0" + frame["user_id"].iloc[0][1:]),
        {"followers": [("expect_column_values_to_match_regex", "user_id")]},
    ),
    "an id beyond BIGINT": (
        "followers",
        lambda frame, manifest: set_first_id(frame, manifest, str(2**63)),
        {"followers": [("expect_column_values_to_not_be_null", "user_id_as_bigint")]},
    ),
    "null ids": (
        "followers",
        null_ids,
        {
            "followers": [
                ("expect_column_values_to_not_be_null", "user_id"),
                ("expect_column_values_to_not_be_null", "user_id_as_bigint"),
            ]
        },
    ),
    "half the pages missing": (
        "followers",
        half_the_pages,
        {"followers": [ROW_COUNT], "cross_day_guard": [SHRINK]},
    ),
    "count mismatch against the profile": (
        "followers",
        stated_count_mismatch,
        {"followers": [ROW_COUNT]},
    ),
    "dates in the future": (
        "users",
        created_in_the_future,
        {"users": [("expect_column_values_to_be_between", "created_at")]},
    ),
    "dates past 2262": (
        "users",
        created_in_the_year_9999,
        {"users": [("expect_column_values_to_be_between", "created_at")]},
    ),
    "a reply before its question": (
        "replies",
        reply_before_its_question,
        {"replies": [("expect_column_pair_values_a_to_be_greater_than_b", "answered_at")]},
    ),
    "a reply to a post made after it": (
        "replies",
        reply_to_a_later_post,
        {"replies": [("expect_column_pair_values_a_to_be_greater_than_b", "answered_at")]},
    ),
}
TABLES = {
    "followers": "raw.follower_snapshot",
    "users": "raw.users",
    "replies": "raw.replies",
}


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_failure_is_named_not_loaded_and_harms_nothing_loaded(config, mode):
    kind, change, expected = FAILURE_MODES[mode]
    before = loaded_before(config, D3)
    extract(config, D3)
    rewrite(config, kind, D3, change)

    validated = run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    with pytest.raises(validate.QuarantinedSnapshotError, match=f"maya_writes {D3}"):
        run.load_snapshot(MAYA.handle, D3.isoformat(), config)

    assert validated["failed"] == {kind: [name for name, _ in expected[kind]]}
    assert {suite: names for suite, names in failures(config, D3).items() if names} == expected
    assert statuses(config, D3) == {
        "followers": "complete",
        "following": "complete",
        "users": "complete",
        "tweets": "complete",
        "replies": "complete",
        "truth_users": "complete",
        "truth_episodes": "complete",
        kind: "quarantined",
    }
    table = TABLES[kind]
    assert query(config, f"SELECT count(*) FROM {table} WHERE {DATED[table]} = ?", [D3]) == [(0,)]
    assert loaded_before(config, D3) == before


def test_a_post_is_dated_by_its_id_to_the_second():
    # X's own example: post 1212092628029698048 has created_at 2019-12-31T19:26:16.000Z, and
    # its id says 19:26:16.771.
    ids = pd.Series(["1212092628029698048", "an id", "20", None])
    assert validate._posted_at(ids).tolist() == [
        pd.Timestamp("2019-12-31 19:26:16"),
        pd.NaT,
        pd.Timestamp("2010-11-04 01:42:54"),
        pd.NaT,
    ]


def test_good_days_pass_and_their_results_are_kept(two_days):
    config = make_config(two_days)
    assert failures(config, D2) == {
        suite: []
        for suite in ("followers", "following", "users", "tweets", "replies", "cross_day_guard")
    }
    assert query(
        config,
        "SELECT suite, count(*), bool_and(success) FROM meta.validation_results "
        "WHERE suite LIKE 'mart%' GROUP BY ALL ORDER BY ALL",
    ) == [("mart_churn_daily", 1, True), ("mart_reciprocity_daily", 2, True)]
    assert set(statuses(config, D2).values()) == {"complete"}
    rows = query(
        config,
        "SELECT suite, success, evaluated_expectations, data_docs FROM meta.validation_results "
        "WHERE snapshot_date = ? AND suite = 'followers'",
        [D2],
    )
    assert [row[:3] for row in rows] == [("followers", True, 5)]
    assert Path(rows[0][3]).is_file()
    index = validate.build_data_docs_index(config.settings, D2)
    assert index == config.settings.validation_dir / "2026-01" / SITE / "index.html"
    links = set(re.findall(r"(?:validations|expectations)/[^'\"]+\.html", index.read_text()))
    assert str(Path(rows[0][3]).relative_to(index.parent)) in links
    # Every page the index links to exists, results and suites alike.
    assert [link for link in links if not (index.parent / unquote(link)).is_file()] == []
    assert len([link for link in links if link.startswith("expectations/")]) == 7
    # GX would re-read a named variables file at every look at a setting; the project names none.
    project = yaml.safe_load((index.parents[3] / "great_expectations.yml").read_text())
    assert project["config_variables_file_path"] is None
    outcome = json.loads(
        validate.result_path(config.settings, "replies", MAYA.handle, D2).read_text()
    )
    assert (outcome["success"], outcome["evaluated"], outcome["failed"]) == (True, 8, [])


def test_quarantined_day_re_extracted_later_loads_complete_and_correct(config, tmp_path):
    reference = make_config(tmp_path / "reference")
    shutil.copytree(config.settings.data_dir, reference.settings.data_dir)
    for day in (D3, D4):
        run.run_day(MAYA.handle, day, reference)

    extract(config, D3)
    rewrite(config, "followers", D3, half_the_pages)
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    with pytest.raises(validate.QuarantinedSnapshotError) as error:
        run.load_snapshot(MAYA.handle, D3.isoformat(), config)
    manifest = landing.read_manifest(config.settings.landing_dir, "followers", MAYA.handle, D3)
    [(previous,)] = query(
        config,
        "SELECT row_count FROM meta.snapshots WHERE kind = 'followers' AND snapshot_date = ?",
        [D2],
    )
    message = str(error.value)
    assert (
        f"followers: expected {manifest.expected_count} (the count the source states), "
        f"fetched {manifest.row_count} rows" in message
    )
    shrink = round(1 - manifest.row_count / previous, 4)
    assert f"shrank {shrink:.1%} from {previous} on {D2}, more than 10%" in message
    assert f"snapshot_date = DATE '{D3}'" in message
    assert "Data Docs: " + str(config.settings.validation_dir) in message

    # The next day runs on; the quarantined day is a gap and closes nothing.
    run.run_day(MAYA.handle, D4, config)
    closed_by_the_gap = "SELECT count(*) FROM core.follow_edges WHERE valid_to = ?"
    assert query(config, closed_by_the_gap, [D3]) == [(0,)]
    assert statuses(config, D3)["followers"] == "quarantined"

    # Re-extracted with good data, the day loads complete and every table matches a clean run.
    run.run_day(MAYA.handle, D3, config)
    assert statuses(config, D3)["followers"] == "complete"
    assert loaded_before(config, D4 + timedelta(days=1)) == loaded_before(
        reference, D4 + timedelta(days=1)
    )
    assert query(config, "SELECT * FROM mart.churn_daily ORDER BY ALL") == query(
        reference, "SELECT * FROM mart.churn_daily ORDER BY ALL"
    )


def test_failed_re_extract_keeps_the_day_already_loaded(config):
    before = loaded_before(config, D3)
    rewrite(config, "followers", D2, duplicate_ids)
    run.validate_snapshot(MAYA.handle, D2.isoformat(), config)
    with pytest.raises(validate.QuarantinedSnapshotError):
        run.load_snapshot(MAYA.handle, D2.isoformat(), config)
    assert failures(config, D2)["followers"] == [
        ("expect_column_ids_to_be_unique", "user_id_as_bigint")
    ]
    assert statuses(config, D2)["followers"] == "complete"
    assert loaded_before(config, D3) == before


def test_shrink_without_a_stated_count_is_quarantined_by_the_guard(config):
    extract(config, D3)
    rewrite(
        config,
        "followers",
        D3,
        lambda frame, manifest: (frame.iloc[:100], replace(manifest, expected_count=None)),
    )
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    with pytest.raises(validate.QuarantinedSnapshotError) as error:
        run.load_snapshot(MAYA.handle, D3.isoformat(), config)
    assert {s: f for s, f in failures(config, D3).items() if f} == {"cross_day_guard": [SHRINK]}
    assert "followers: expected no count stated, fetched 100 rows" in str(error.value)
    assert statuses(config, D3)["followers"] == "quarantined"


def test_shrink_the_profile_confirms_loads(config):
    extract(config, D3)
    rewrite(
        config,
        "followers",
        D3,
        lambda frame, manifest: (frame.iloc[:100], replace(manifest, expected_count=100)),
    )
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    loaded = run.load_snapshot(MAYA.handle, D3.isoformat(), config)
    assert loaded["statuses"]["followers"] == "complete"
    assert {s: f for s, f in failures(config, D3).items() if f} == {}
    assert query(
        config, "SELECT count(*) FROM raw.follower_snapshot WHERE snapshot_date = ?", [D3]
    ) == [(100,)]


def test_load_refuses_an_extract_that_was_not_validated(config):
    extract(config, D3)
    with pytest.raises(validate.NotValidatedError, match="followers extract of .* has not been"):
        run.load_snapshot(MAYA.handle, D3.isoformat(), config)
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    # A re-extract after validation makes the outcome stale.
    rewrite(config, "tweets", D3, lambda frame, manifest: (frame, manifest))
    with pytest.raises(validate.NotValidatedError, match="tweets extract of"):
        run.load_snapshot(MAYA.handle, D3.isoformat(), config)
    assert statuses(config, D3) == {}


def test_task_processes_share_the_gx_project(config):
    """Validate tasks of several accounts run at once on Celery workers, each in a process of its
    own, against one GX project: one opening it must not make the others' suites stale."""
    extract(config, D3)
    assert run.validate_snapshot(MAYA.handle, D3.isoformat(), config)["failed"] == {}
    settings = config.settings
    other_task = (
        "from datetime import date; from pathlib import Path; "
        "from pipeline import validate; from pipeline.config import Account, default_settings; "
        f"settings = default_settings(data_dir=Path({str(settings.data_dir)!r}), "
        f"db_path=Path({str(settings.db_path)!r})); "
        f"validate.validate_day(Account(handle={MAYA.handle!r}, persona='organic'), "
        f"date.fromisoformat({D3.isoformat()!r}), settings)"
    )
    subprocess.run([sys.executable, "-c", other_task], check=True, capture_output=True)

    assert run.validate_snapshot(MAYA.handle, D3.isoformat(), config)["failed"] == {}


def test_suite_pages_are_rendered_again_only_when_missing_or_changed(config, monkeypatch):
    """Each task process opens the project; it renders the suites' pages only if they are stale."""
    pages = config.settings.validation_dir / "2026-01" / SITE / "expectations"
    extract(config, D3)
    kept = {page.name: page.stat().st_mtime_ns for page in pages.glob("*.html")}
    validate._project.cache_clear()
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    assert {page.name: page.stat().st_mtime_ns for page in pages.glob("*.html")} == kept

    (pages / "users.html").unlink()
    validate._project.cache_clear()
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    assert (pages / "users.html").is_file()

    before = (pages / "tweets.html").read_text()
    suites = validate._suites()
    added = gx.expectations.ExpectColumnToExist(column="conversation_id")
    suites["tweets"] = [*suites["tweets"], added]
    monkeypatch.setattr(validate, "_suites", lambda: suites)
    validate._project.cache_clear()
    run.validate_snapshot(MAYA.handle, D3.isoformat(), config)
    after = (pages / "tweets.html").read_text()
    assert (before.count("is a required field"), after.count("is a required field")) == (0, 1)


def test_cli_validates_a_date_and_prints_the_data_docs(config_file):
    cli = CliRunner()
    config = load_config()
    extract(config, D1)
    command = ["validate", "--date", D1.isoformat(), "--account", MAYA.handle]

    result = cli.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert result.output.count("passed") == len(validate.SUITE_KINDS)
    index = config.settings.validation_dir / "2026-01" / SITE / "index.html"
    assert f"DataDocs:{index}" in "".join(result.output.split())
    assert index.is_file()

    rewrite(config, "followers", D1, duplicate_ids)
    result = cli.invoke(app, command)
    assert result.exit_code == 1
    assert "failed: expect_column_ids_to_be_unique" in " ".join(result.output.split())
    assert result.output.count("passed") == len(validate.SUITE_KINDS) - 1


# -- marts: hand-built tables, independent of the mart SQL ----------------------------------------

ACCOUNT_ID = 7


@pytest.fixture
def marts(settings):
    con = connect(settings)
    con.execute("INSERT INTO meta.accounts VALUES (?, 'maya_writes', 'simulated')", [ACCOUNT_ID])
    con.execute(
        """CREATE TABLE mart.reciprocity_daily (account_id BIGINT, snapshot_date DATE,
               followers BIGINT, following BIGINT, mutuals BIGINT, followback_given_rate DOUBLE,
               followback_received_rate DOUBLE, reciprocity DOUBLE)"""
    )
    con.execute(
        """CREATE TABLE mart.churn_daily (account_id BIGINT, snapshot_date DATE,
               followers_start BIGINT, gained BIGINT, lost BIGINT, churn_rate DOUBLE)"""
    )
    yield con
    con.close()


def fill(con, reciprocity: list[tuple], churn: list[tuple]) -> None:
    con.executemany(
        "INSERT INTO mart.reciprocity_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(ACCOUNT_ID, *row) for row in reciprocity],
    )
    con.executemany(
        "INSERT INTO mart.churn_daily VALUES (?, ?, ?, ?, ?, ?)",
        [(ACCOUNT_ID, *row) for row in churn],
    )


def test_consistent_marts_pass(marts, settings):
    fill(
        marts,
        [(D1, 100, 50, 40, 0.4, 0.8, 40 / 110), (D2, 102, 50, 41, 41 / 102, 0.82, 41 / 111)],
        [(D2, 100, 5, 3, 0.03), (D3, 102, 1, 2, 2 / 102), (D4, 101, 0, 0, 0.0)],
    )
    results = validate.check_marts(marts, ACCOUNT_ID, settings)
    assert [(r.suite, r.success, r.evaluated) for r in results] == [
        ("mart_reciprocity_daily", True, 5),
        ("mart_churn_daily", True, 2),
    ]
    assert marts.execute("SELECT count(*) FROM meta.validation_results").fetchone() == (2,)


def test_broken_marts_fail_with_the_rows_that_break_them(marts, settings):
    fill(
        marts,
        # A rate above 1, and more mutuals than accounts followed.
        [(D1, 100, 50, 40, 1.4, 0.8, 0.3), (D2, 100, 30, 41, 0.41, 41 / 30, 0.3)],
        # 100 + 5 - 3 = 102 followers, but the next interval starts from 104.
        [(D2, 100, 5, 3, 0.03), (D3, 104, 1, 2, 2 / 104)],
    )
    with pytest.raises(validate.MartCheckError, match="maya_writes: the marts broke") as error:
        validate.check_marts(marts, ACCOUNT_ID, settings)
    assert "followers_after_changes, next_followers_start (1 unexpected" in str(error.value)
    failed = dict(
        marts.execute(
            "SELECT suite, failed_expectations FROM meta.validation_results WHERE NOT success"
        ).fetchall()
    )
    assert {
        suite: sorted(
            (f["expectation"], f["kwargs"].get("column", f["kwargs"].get("column_A")))
            for f in json.loads(found)
        )
        for suite, found in failed.items()
    } == {
        "mart_reciprocity_daily": [
            ("expect_column_pair_values_a_to_be_greater_than_b", "following"),
            ("expect_column_values_to_be_between", "followback_given_rate"),
            ("expect_column_values_to_be_between", "followback_received_rate"),
        ],
        "mart_churn_daily": [
            ("expect_column_pair_values_to_be_equal", "followers_after_changes"),
        ],
    }


def test_marts_that_do_not_exist_are_not_checked(settings):
    con = connect(settings)
    assert validate.check_marts(con, ACCOUNT_ID, settings) == []
    con.close()


def test_validation_allocates_with_jemalloc_unless_the_pool_was_chosen(monkeypatch):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    pa.set_memory_pool(pa.system_memory_pool())
    validate._allocate_with_jemalloc.cache_clear()
    validate._allocate_with_jemalloc()
    assert pa.default_memory_pool().backend_name == "system"

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    validate._allocate_with_jemalloc.cache_clear()
    validate._allocate_with_jemalloc()
    assert pa.default_memory_pool().backend_name == "jemalloc"
