"""Daily Followback run: per account, extract -> validate -> load -> transform; then publish.

Thin on purpose: the logic lives in `pipeline.run`. Nothing here touches the database, the
network or the accounts file while the DAG is parsed; the account list is read by a task.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag, task, task_group
from airflow.sdk.exceptions import AirflowFailException

from pipeline import publish, run
from pipeline.retry_policy import ExtractRetryPolicy
from pipeline.validate import DataQualityError

WRITER_POOL = "duckdb_writer"

DEFAULT_ARGS = {
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}
# A rate-limited extract retries when the limit resets and resumes from its checkpoint: a full
# scan of a 10M-follower account spans about 34 fifteen-minute windows.
EXTRACT_RETRIES = {
    "retries": 48,
    "retry_policy": ExtractRetryPolicy(other_retries=DEFAULT_ARGS["retries"]),
}


def _fail_fast_on_bad_data(step, *args):
    """Retrying cannot fix data that failed its checks: such a task fails at once, visibly red."""
    try:
        return step(*args)
    except DataQualityError as error:
        raise AirflowFailException(str(error)) from error


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
        @task(**EXTRACT_RETRIES)
        def extract_graph(handle: str, ds: str | None = None) -> list[str]:
            return run.extract_graph(handle, ds)

        @task(**EXTRACT_RETRIES)
        def extract_timeline(handle: str, ds: str | None = None) -> list[str]:
            return run.extract_timeline(handle, ds)

        # Reads the landing files only, so it needs no writer slot.
        @task
        def validate(handle: str, ds: str | None = None) -> dict:
            return _fail_fast_on_bad_data(run.validate_snapshot, handle, ds)

        @task(pool=WRITER_POOL)
        def load(handle: str, ds: str | None = None) -> dict:
            return _fail_fast_on_bad_data(run.load_snapshot, handle, ds)

        @task(pool=WRITER_POOL)
        def transform(loaded: dict) -> str | None:
            return _fail_fast_on_bad_data(run.transform_account, loaded["account_id"])

        loaded = load(handle)
        [extract_graph(handle), extract_timeline(handle)] >> validate(handle) >> loaded
        transform(loaded)

    # Runs only when every account's day succeeded, so readers never get a partial run. It reads
    # the warehouse file, and any open of it conflicts with a writer: hence the writer pool.
    @task(task_id="publish", pool=WRITER_POOL)
    def publish_marts() -> dict:
        return publish.publish_step()

    account_day.expand(handle=tracked_accounts()) >> publish_marts()


followback_daily()
