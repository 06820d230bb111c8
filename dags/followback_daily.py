"""Daily Followback run: per tracked account, extract -> load -> transform.

Thin on purpose: the logic lives in `pipeline.run`. Nothing here touches the database, the
network or the accounts file while the DAG is parsed; the account list is read by a task.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag, task, task_group

from pipeline import run

WRITER_POOL = "duckdb_writer"

DEFAULT_ARGS = {
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["followback"],
)
def followback_daily():
    @task
    def tracked_accounts() -> list[str]:
        return run.tracked_accounts()

    @task_group
    def account_day(handle: str):
        @task
        def extract_graph(handle: str, ds: str | None = None) -> list[str]:
            return run.extract_graph(handle, ds)

        @task
        def extract_timeline(handle: str, ds: str | None = None) -> list[str]:
            return run.extract_timeline(handle, ds)

        @task(pool=WRITER_POOL)
        def load(handle: str, ds: str | None = None) -> dict:
            return run.load_snapshot(handle, ds)

        @task(pool=WRITER_POOL)
        def transform(loaded: dict) -> str | None:
            return run.transform_account(loaded["account_id"])

        loaded = load(handle)
        [extract_graph(handle), extract_timeline(handle)] >> loaded
        transform(loaded)

    account_day.expand(handle=tracked_accounts())


followback_daily()
