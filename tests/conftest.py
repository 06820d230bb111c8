"""Shared fixtures. Airflow reads AIRFLOW_HOME when first imported, so it is set here, first."""

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Its own in each test process: pytest-xdist's workers inherit the environment of the process that
# starts them, and two processes migrating one SQLite metadata DB break each other.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="followback-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))

from pipeline.config import Account, Config, default_settings  # noqa: E402
from tests.reliability.figures import (  # noqa: E402, F401  (hooks, registered by the import)
    pytest_runtest_logreport,
    pytest_terminal_summary,
)

# `make test` runs the tests in two processes (pytest-xdist, --dist loadgroup). Tests sharing one
# of these costly session fixtures run in one process, which builds it once; any other test runs
# with the rest of its file, so a module's fixtures are built once too.
SHARED_SESSION_FIXTURES = ("demo", "airflow_db", "big_landing")

SIMULATED_ACCOUNTS = (
    Account(handle="maya_writes", persona="organic"),
    Account(handle="growth_hacker", persona="autofollower"),
    Account(handle="acme_brand", persona="brand"),
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        shared = [name for name in SHARED_SESSION_FIXTURES if name in item.fixturenames]
        test_file = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(shared[0] if shared else test_file))


def _accounts_yaml(path: Path) -> Path:
    path.write_text(
        "accounts:\n"
        + "".join(
            f"  - {{handle: {a.handle}, source: simulated, persona: {a.persona}}}\n"
            for a in SIMULATED_ACCOUNTS
        )
    )
    return path


@pytest.fixture
def settings(tmp_path):
    return default_settings(data_dir=tmp_path / "data", db_path=tmp_path / "data" / "fb.duckdb")


@pytest.fixture
def config(settings):
    return Config(settings=settings, accounts=SIMULATED_ACCOUNTS)


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """An accounts file plus the environment that points the pipeline (and Airflow tasks) at it."""
    path = _accounts_yaml(tmp_path / "accounts.yml")
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


@dataclass(frozen=True)
class Demo:
    config: Config
    config_path: Path
    output: str

    @property
    def settings(self):
        return self.config.settings


# Thirty days, as `make demo` runs: follow churners have come and gone within the 7-day window
# often enough to score their detection, every persona has asked questions, and a date a week
# before the last one exists (docs/queries.sql looks back a week).
DEMO_DAYS = 30


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    """`followback demo` on the three default accounts, once a session; tests only read it."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    root = tmp_path_factory.mktemp("demo")
    config_path = _accounts_yaml(root / "accounts.yml")
    env = {"FOLLOWBACK_CONFIG": str(config_path), "FOLLOWBACK_DATA_DIR": str(root / "data")}
    result = CliRunner().invoke(app, ["demo", "--days", str(DEMO_DAYS)], env=env)
    assert result.exit_code == 0, result.output
    settings = default_settings(data_dir=root / "data", db_path=root / "data" / "followback.duckdb")
    return Demo(
        config=Config(settings=settings, accounts=SIMULATED_ACCOUNTS),
        config_path=config_path,
        output=result.output,
    )
