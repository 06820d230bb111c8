from datetime import UTC, date, datetime

import duckdb
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag("followback_daily")


def test_dag_wiring(dag):
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {
        "tracked_accounts",
        "account_day.extract_graph",
        "account_day.extract_timeline",
        "account_day.validate",
        "account_day.load",
        "account_day.transform",
        "publish",
    }
    # Mapped tasks also depend on the task whose output they expand over.
    assert tasks["account_day.validate"].upstream_task_ids == {
        "tracked_accounts",
        "account_day.extract_graph",
        "account_day.extract_timeline",
    }
    assert tasks["account_day.load"].upstream_task_ids == {
        "tracked_accounts",
        "account_day.validate",
    }
    assert tasks["account_day.transform"].upstream_task_ids == {"account_day.load"}
    assert tasks["account_day.extract_graph"].upstream_task_ids == {"tracked_accounts"}
    # Publishing waits for every account's transform.
    assert tasks["publish"].upstream_task_ids == {"account_day.transform"}
    for writer in ("account_day.load", "account_day.transform", "publish"):
        assert tasks[writer].pool == "duckdb_writer"
    # Validation reads the landing files only: it never waits for the writer.
    assert tasks["account_day.validate"].pool == "default_pool"
    assert all(t.retry_exponential_backoff for t in dag.tasks)
    # Extracts wait out rate limits by retrying (pipeline/retry_policy.py); others retry 3 times.
    extracts = {"account_day.extract_graph", "account_day.extract_timeline"}
    assert {t.task_id: t.retries for t in dag.tasks if t.task_id in extracts} == dict.fromkeys(
        extracts, 48
    )
    assert all(t.retries == 3 for t in dag.tasks if t.task_id not in extracts)
    assert all(tasks[e].retry_policy.other_retries == 3 for e in extracts)


def test_three_days_through_dag_test(dag, config_file, tmp_path):
    for day in (1, 2, 3):
        run = dag.test(logical_date=datetime(2026, 1, day, tzinfo=UTC))
        assert run.state == "success"
    con = duckdb.connect(str(tmp_path / "data" / "followback.duckdb"), read_only=True)
    snapshots = con.execute(
        "SELECT handle, count(DISTINCT snapshot_date) FROM meta.snapshots "
        "JOIN meta.accounts USING (account_id) WHERE kind = 'followers' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert snapshots == [("acme_brand", 3), ("growth_hacker", 3), ("maya_writes", 3)]
    # The run's logical date is the snapshot date.
    assert con.execute(
        "SELECT min(snapshot_date), max(snapshot_date) FROM meta.snapshots"
    ).fetchone() == (
        date(2026, 1, 1),
        date(2026, 1, 3),
    )
    # Followers on the last day from the intervals equal the raw snapshot of that day.
    mismatches = con.execute(
        """
        SELECT count(*) FROM (
            SELECT account_id, user_id FROM core.follow_edges
            WHERE direction = 'follower' AND valid_from <= DATE '2026-01-03'
              AND (valid_to IS NULL OR valid_to > DATE '2026-01-03')
            EXCEPT
            SELECT account_id, user_id FROM raw.follower_snapshot
            WHERE snapshot_date = DATE '2026-01-03'
        )"""
    ).fetchone()[0]
    assert mismatches == 0
    assert con.execute("SELECT count(*) FROM meta.pending_transform").fetchone()[0] == 0
    # The last task published the third day for readers.
    published = duckdb.connect(
        str(tmp_path / "data" / "published" / "followback.duckdb"), read_only=True
    )
    assert published.execute(
        "SELECT max(snapshot_date) FROM mart.reciprocity_daily"
    ).fetchall() == [(date(2026, 1, 3),)]


def test_a_quarantined_account_fails_alone(dag, config_file, tmp_path, monkeypatch):
    from pipeline.sources.simulated import SimulatedSource

    extract_graph = SimulatedSource.extract_graph

    def half_the_followers_for_growth_hacker(self, snapshot_date):
        batch = extract_graph(self, snapshot_date)
        if self.account.handle == "growth_hacker":
            ids = batch.followers.user_ids
            batch.followers.user_ids = ids.slice(0, len(ids) // 2)
        return batch

    monkeypatch.setattr(SimulatedSource, "extract_graph", half_the_followers_for_growth_hacker)
    run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))

    assert run.state == "failed"
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    # Map indexes follow the accounts file: maya_writes, growth_hacker, acme_brand.
    by_account = {
        task: [states[(f"account_day.{task}", index)] for index in range(3)]
        for task in ("validate", "load", "transform")
    }
    assert by_account == {
        "validate": ["success", "success", "success"],
        "load": ["success", "failed", "success"],
        "transform": ["success", "upstream_failed", "success"],
    }
    # Failed at once: retrying cannot fix the data.
    load = next(
        ti
        for ti in run.get_task_instances()
        if (ti.task_id, ti.map_index) == ("account_day.load", 1)
    )
    assert load.try_number == 1
    assert states[("publish", -1)] == "upstream_failed"
    con = duckdb.connect(str(tmp_path / "data" / "followback.duckdb"), read_only=True)
    assert con.execute(
        """SELECT handle, status, count(user_id) FROM meta.snapshots
           JOIN meta.accounts USING (account_id)
           LEFT JOIN raw.follower_snapshot USING (account_id, snapshot_date)
           WHERE kind = 'followers' GROUP BY ALL ORDER BY ALL"""
    ).fetchall() == [
        ("acme_brand", "complete", 30000),
        ("growth_hacker", "quarantined", 0),
        ("maya_writes", "complete", 300),
    ]
