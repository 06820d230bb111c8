"""Shared fixtures. Airflow reads AIRFLOW_HOME when first imported, so it is set here, first."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="followback-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))

from pipeline.config import Account, Config, default_settings  # noqa: E402

SIMULATED_ACCOUNTS = (
    Account(handle="maya_writes", persona="organic"),
    Account(handle="growth_hacker", persona="autofollower"),
    Account(handle="acme_brand", persona="brand"),
)


@pytest.fixture
def settings(tmp_path):
    return default_settings(data_dir=tmp_path / "data", db_path=tmp_path / "data" / "fb.duckdb")


@pytest.fixture
def config(settings):
    return Config(settings=settings, accounts=SIMULATED_ACCOUNTS)


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """An accounts file plus the environment that points the pipeline (and Airflow tasks) at it."""
    path = tmp_path / "accounts.yml"
    path.write_text(
        "accounts:\n"
        + "".join(
            f"  - {{handle: {a.handle}, source: simulated, persona: {a.persona}}}\n"
            for a in SIMULATED_ACCOUNTS
        )
    )
    monkeypatch.setenv("FOLLOWBACK_CONFIG", str(path))
    monkeypatch.setenv("FOLLOWBACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FOLLOWBACK_DB", raising=False)
    return path


@pytest.fixture(scope="session")
def airflow_db():
    """An initialised Airflow metadata DB (SQLite) with the writer pool, once per session."""
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], check=True, capture_output=True)
    subprocess.run(
        [*airflow, "pools", "set", "duckdb_writer", "1", "One DuckDB writer at a time"],
        check=True,
        capture_output=True,
    )
    return os.environ["AIRFLOW_HOME"]
