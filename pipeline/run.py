"""The steps of a daily run for one account, shared by the Airflow DAG and the CLI.

Each step takes plain values (handle, ISO date), reads the config itself and returns something
small and JSON-serialisable, so Airflow can pass it between tasks.
"""

from __future__ import annotations

from datetime import date

from pipeline import extract, transform, validate
from pipeline.config import Config, load_config
from pipeline.warehouse import open_warehouse


def parse_date(value: str | date) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2026-01-31.") from None


def tracked_accounts(config: Config | None = None) -> list[str]:
    """The accounts read every day (archive accounts are loaded by `followback import-archive`)."""
    config = config or load_config()
    return [account.handle for account in config.accounts if account.source != "archive"]


def extract_graph(handle: str, snapshot_date: str, config: Config | None = None) -> list[str]:
    config = config or load_config()
    return extract.extract_graph(config.account(handle), parse_date(snapshot_date), config.settings)


def extract_timeline(handle: str, snapshot_date: str, config: Config | None = None) -> list[str]:
    config = config or load_config()
    return extract.extract_timeline(
        config.account(handle), parse_date(snapshot_date), config.settings
    )


def validate_snapshot(handle: str, snapshot_date: str, config: Config | None = None) -> dict:
    """Validate the date's landing partitions without opening the warehouse.

    A failed batch is not raised here: the load records it and quarantines it.
    """
    config = config or load_config()
    day = parse_date(snapshot_date)
    results = validate.validate_day(config.account(handle), day, config.settings)
    return {
        "validated": [r.kind for r in results],
        "failed": {r.kind: [f["expectation"] for f in r.failed] for r in results if not r.success},
    }


def load_snapshot(handle: str, snapshot_date: str, config: Config | None = None) -> dict:
    """Load the validated date; raises QuarantinedSnapshotError after loading what passed."""
    config = config or load_config()
    with open_warehouse(config.settings) as con:
        result = validate.load_validated(
            con, config.account(handle), parse_date(snapshot_date), config.settings
        )
    return {"account_id": result.account_id, "statuses": result.statuses, "rows": result.rows}


def transform_account(account_id: int, config: Config | None = None) -> str | None:
    config = config or load_config()
    with open_warehouse(config.settings) as con:
        cutoff = transform.transform_account(con, account_id, config.settings)
        validate.check_marts(con, account_id, config.settings)
    return cutoff.isoformat() if cutoff else None


def run_day(handle: str, snapshot_date: str | date, config: Config | None = None) -> dict:
    """Extract, validate, load and transform one account for one date, as the DAG does."""
    config = config or load_config()
    day = parse_date(snapshot_date).isoformat()
    extract_graph(handle, day, config)
    extract_timeline(handle, day, config)
    validate_snapshot(handle, day, config)
    loaded = load_snapshot(handle, day, config)
    transform_account(loaded["account_id"], config)
    return loaded
