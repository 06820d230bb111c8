"""One small demo warehouse, built once and shared by the analyst-facing tests (read-only)."""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline import publish, run
from pipeline.config import Config, default_settings
from tests.conftest import SIMULATED_ACCOUNTS

# Nine days: every persona has asked a question, follow churners have come and gone within the
# 7-day window, and a date a week before the last one exists (docs/queries.sql looks back a week).
DAYS = 9


@dataclass(frozen=True)
class Demo:
    config: Config
    config_path: Path

    @property
    def settings(self):
        return self.config.settings


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    settings = default_settings(data_dir=root / "data", db_path=root / "data" / "followback.duckdb")
    config = Config(settings=settings, accounts=SIMULATED_ACCOUNTS)
    first = date.fromisoformat(settings.sim_epoch)
    for offset in range(DAYS):
        for account in config.accounts:
            run.run_day(account.handle, first + timedelta(days=offset), config)
    publish.publish(settings)
    config_path = root / "accounts.yml"
    config_path.write_text(
        "accounts:\n"
        + "".join(
            f"  - {{handle: {a.handle}, source: simulated, persona: {a.persona}}}\n"
            for a in SIMULATED_ACCOUNTS
        )
    )
    return Demo(config=config, config_path=config_path)


@pytest.fixture
def demo_env(demo, monkeypatch) -> Demo:
    """Points the CLI at the demo warehouse, as FOLLOWBACK_CONFIG/FOLLOWBACK_DATA_DIR would."""
    monkeypatch.setenv("FOLLOWBACK_CONFIG", str(demo.config_path))
    monkeypatch.setenv("FOLLOWBACK_DATA_DIR", str(demo.settings.data_dir))
    monkeypatch.delenv("FOLLOWBACK_DB", raising=False)
    return demo
