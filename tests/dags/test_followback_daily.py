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
        "account_day.load",
        "account_day.transform",
    }
    # Mapped tasks also depend on the task whose output they expand over.
    assert tasks["account_day.load"].upstream_task_ids == {
        "tracked_accounts",
        "account_day.extract_graph",
        "account_day.extract_timeline",
    }
    assert tasks["account_day.transform"].upstream_task_ids == {"account_day.load"}
    assert tasks["account_day.extract_graph"].upstream_task_ids == {"tracked_accounts"}
    for writer in ("account_day.load", "account_day.transform"):
        assert tasks[writer].pool == "duckdb_writer"
    assert all(t.retries == 3 and t.retry_exponential_backoff for t in dag.tasks)


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
    assert con.execute("SELECT min(snapshot_date), max(snapshot_date) FROM meta.snapshots").fetchone() == (
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
