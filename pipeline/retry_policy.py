"""How extract tasks retry under Airflow: after a rate limit, exactly when it resets.

A rate-limited extract has checkpointed its pages and raised RateLimited. Failing the attempt and
retrying after the reset frees the worker slot for the whole wait, and the retry resumes from the
checkpoint. Airflow 3.3's retry policies set that delay per failure (the scheduler stores it as
the task instance's retry_delay_override); a deferral would need an operator class and a
triggerer for what is only a timed wait.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import RetryDecision, RetryPolicy

from pipeline.config import ConfigError
from pipeline.sources import RateLimited, SourceAccessError

# X's reset is in whole seconds and clocks drift: start a little after it.
RESET_MARGIN = timedelta(seconds=2)


class ExtractRetryPolicy(RetryPolicy):
    """Rate limits wait for their reset; credentials and config errors fail at once.

    Any other error is retried with the task's backoff only on the first `other_retries`
    attempts, then the task fails (clearing it resumes from the checkpoint): rate-limit retries
    use up attempts too, and a long scan must not retry a real bug dozens of times.
    """

    def __init__(self, other_retries: int):
        self.other_retries = other_retries

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        if isinstance(exception, RateLimited):
            wait = max(exception.reset_at - datetime.now(UTC), timedelta(0)) + RESET_MARGIN
            return RetryDecision.retry(
                delay=wait,
                reason=f"rate limited until {exception.reset_at:%H:%M:%S} UTC; "
                "resuming from the checkpoint",
            )
        if isinstance(exception, SourceAccessError | ConfigError):
            return RetryDecision.fail(reason=str(exception))
        if try_number > self.other_retries:
            return RetryDecision.fail(reason=f"{type(exception).__name__} after {try_number} tries")
        return RetryDecision.default()
