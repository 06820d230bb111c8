"""The model runner meets a table an older version of its model built."""

import duckdb
import pytest

from pipeline import transform
from tests.sql.scenario import day

CHURN = "snapshot_date, gained, lost, losses_since"


def built_by_an_older_version(scenario):
    scenario.lists(0, {1, 2, 3}, {1})
    scenario.lists(1, {1, 2, 4}, {1})
    scenario.transform()
    scenario.con.execute("ALTER TABLE mart.churn_daily DROP COLUMN losses_since")
    scenario.con.execute("ALTER TABLE core.follow_edges ADD COLUMN note VARCHAR")
    scenario.lists(2, {1, 4}, {1})


def test_an_outdated_core_table_is_never_dropped(scenario, con):
    built_by_an_older_version(scenario)
    edges = con.execute("SELECT count(*) FROM core.follow_edges").fetchone()

    for run in (scenario.transform, lambda: transform.rebuild(con, scenario.settings)):
        with pytest.raises(transform.OutdatedModelError, match="core.follow_edges .* by hand"):
            run()
    assert con.execute("SELECT count(*) FROM core.follow_edges").fetchone() == edges


def test_an_outdated_mart_is_named_and_rebuild_builds_it_anew(scenario, con):
    built_by_an_older_version(scenario)
    con.execute("ALTER TABLE core.follow_edges DROP COLUMN note")

    with pytest.raises(
        transform.OutdatedModelError,
        match=r"mart.churn_daily .* lacks \['losses_since'\] .* Run `followback rebuild`",
    ):
        scenario.transform()

    transform.rebuild(con, scenario.settings)
    assert scenario.rows("mart.churn_daily", CHURN, "snapshot_date") == [
        (day(1), 1, 1, day(0)),
        (day(2), 0, 1, day(1)),
    ]
    assert con.execute("SELECT count(*) FROM meta.pending_transform").fetchone() == (0,)


def _model(tmp_path, join_sides: str) -> transform.Model:
    path = tmp_path / "settings_seen.sql"
    path.write_text(
        "-- model: main.settings_seen\n"
        "-- materialized: incremental\n"
        "-- replace_where: true\n"
        f"-- join_sides: {join_sides}\n"
        "SELECT 1 AS account_id, current_setting('disabled_optimizers') AS disabled\n"
    )
    return transform.parse_model(path)


def test_joins_as_written_hold_for_that_model_only(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE main.settings_seen (account_id INTEGER, disabled VARCHAR)")

    transform.run_incremental(con, _model(tmp_path, "as written"), {"account_id": 1})

    assert con.execute("SELECT disabled FROM main.settings_seen").fetchall() == [
        ("build_side_probe_side",)
    ]
    assert con.execute("SELECT current_setting('disabled_optimizers')").fetchone() == ("",)


def test_join_sides_takes_only_as_written(tmp_path):
    with pytest.raises(ValueError, match="join_sides can only be 'as written'"):
        _model(tmp_path, "by estimate")
