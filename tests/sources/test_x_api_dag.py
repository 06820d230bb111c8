"""An X API account through the Airflow DAG, on recorded responses, rate limit included."""

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from airflow.sdk import RetryAction

from pipeline.config import ConfigError
from pipeline.retry_policy import RESET_MARGIN, ExtractRetryPolicy
from pipeline.sources import RateLimited, SourceAccessError
from tests.conftest import REPO
from tests.sources.conftest import MAYA_ID, body

DAG_TOKEN = "AAAAAAAAAAAAAAAAAAAAAdag-connection-token"


def test_rate_limits_wait_for_the_reset_and_access_errors_fail_at_once():
    policy = ExtractRetryPolicy(other_retries=3)
    reset_at = datetime.now(UTC) + timedelta(minutes=10)
    waited = policy.evaluate(RateLimited("limited", reset_at), try_number=20, max_tries=49)
    assert waited.action == RetryAction.RETRY
    assert timedelta(minutes=10) < waited.retry_delay <= timedelta(minutes=10) + RESET_MARGIN
    # A reset already past retries straight away, after the margin.
    past = policy.evaluate(RateLimited("limited", reset_at - timedelta(hours=1)), 2, 49)
    assert past.retry_delay == RESET_MARGIN
    for error in (SourceAccessError("401"), ConfigError("no such source")):
        assert policy.evaluate(error, try_number=1, max_tries=49).action == RetryAction.FAIL
    assert policy.evaluate(ValueError("bug"), try_number=3, max_tries=49).action == (
        RetryAction.DEFAULT
    )
    assert policy.evaluate(ValueError("bug"), try_number=4, max_tries=49).action == RetryAction.FAIL


@pytest.mark.usefixtures("airflow_db")
def test_an_x_api_account_runs_through_the_dag_and_waits_out_a_rate_limit(
    x_api, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

    config = tmp_path / "accounts.yml"
    config.write_text(
        "settings: {x_server_error_backoff_seconds: 0}\n"
        "accounts:\n  - {handle: maya_x, source: x_api}\n"
    )
    monkeypatch.setenv("FOLLOWBACK_CONFIG", str(config))
    monkeypatch.setenv("FOLLOWBACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FOLLOWBACK_DB", raising=False)
    # Inside Airflow the token comes from the connection, not the environment.
    monkeypatch.delenv("X_BEARER_TOKEN")
    monkeypatch.setenv(
        "AIRFLOW_CONN_X_API", json.dumps({"conn_type": "generic", "password": DAG_TOKEN})
    )

    now = datetime.now(UTC).replace(microsecond=0)
    question = body("tweets_2")["data"][1] | {
        "created_at": f"{now - timedelta(hours=2):%FT%T}.000Z"
    }
    reply = body("replies_1")["data"][1] | {"created_at": f"{now - timedelta(hours=1):%FT%T}.000Z"}
    x_api.user()
    x_api.followers("followers_1")
    # The reset has passed: the retry comes after the policy's margin, a couple of seconds.
    x_api.followers(
        "too_many_requests",
        "FOLLOWERS_P2",
        status=429,
        headers={"x-rate-limit-reset": str(int(now.timestamp()) - 10)},
    )
    x_api.followers("followers_2", "FOLLOWERS_P2")
    x_api.followers("followers_3", "FOLLOWERS_P3")
    x_api.following("following_1")
    # The first run's start_time depends on the clock; the rest of the query is checked.
    x_api.tweets({"data": [question], "meta": {"result_count": 1}}, strict=False)
    x_api.search({"data": [reply], "meta": {"result_count": 1}})

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("followback_daily")
    run = dag.test(logical_date=datetime(2026, 2, 20, tzinfo=UTC))

    assert run.state == "success"
    tries = {ti.task_id: ti.try_number for ti in run.get_task_instances()}
    assert (tries["account_day.extract_graph"], tries["account_day.extract_timeline"]) == (2, 1)
    assert {c.request.headers["Authorization"] for c in x_api.mock.calls} == {f"Bearer {DAG_TOKEN}"}
    con = duckdb.connect(str(tmp_path / "data" / "followback.duckdb"), read_only=True)
    snapshots = con.execute(
        "SELECT kind, source, status, row_count, expected_count, requests, resources, cost_usd, "
        "scan FROM meta.snapshots WHERE account_id = ? ORDER BY kind",
        [int(MAYA_ID)],
    ).fetchall()
    assert snapshots == [
        ("followers", "x_api", "complete", 5, 5, 6, 7, pytest.approx(0.06), "full"),
        ("following", "x_api", "complete", 2, 2, 1, 2, pytest.approx(0.01), "full"),
        ("replies", "x_api", "complete", 1, None, 1, 1, pytest.approx(0.005), None),
        ("tweets", "x_api", "complete", 1, None, 2, 2, pytest.approx(0.015), None),
        ("users", "x_api", "complete", 9, None, 0, 0, 0.0, None),
    ]
    assert con.execute(
        "SELECT status, count(*) FROM raw.users WHERE status <> 'active' GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("deleted", 1), ("suspended", 1)]
    assert con.execute("SELECT author_id FROM raw.replies").fetchall() == [(101,)]
