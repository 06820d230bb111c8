"""The fault-injection suite's fixtures: every test here is one injected fault.

Each test may record the rows it lost and the secrets it found leaked through the `record`
fixture; tests/reliability/figures.py adds them up.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from pipeline import run
from pipeline.config import Account, Config, default_settings
from tests.reliability.helpers import BIG_DAY
from tests.sources.conftest import x_api, x_settings  # noqa: F401  (fixtures reused here)


@pytest.fixture
def record(request):
    """Add a test's measured losses to the summary: record(rows_lost=..., secrets_leaked=...)."""

    def add(rows_lost: int = 0, secrets_leaked: int = 0) -> None:
        request.node.user_properties.append(("rows_lost", rows_lost))
        request.node.user_properties.append(("secrets_leaked", secrets_leaked))

    return add


BIG = Account(handle="big_brand", persona="brand", followers=300_000)


@pytest.fixture(scope="session")
def big_landing(tmp_path_factory):
    """One extracted and validated day of a 300k-follower account, plus a clean load of it.

    Extracting and validating takes seconds; tests copy the result instead of redoing it.
    """
    root = tmp_path_factory.mktemp("big")
    settings = default_settings(data_dir=root / "data", db_path=root / "data" / "clean.duckdb")
    config = Config(settings=settings, accounts=(BIG,))
    day = BIG_DAY.isoformat()
    run.extract_graph(BIG.handle, day, config)
    run.extract_timeline(BIG.handle, day, config)
    assert run.validate_snapshot(BIG.handle, day, config)["failed"] == {}
    run.load_snapshot(BIG.handle, day, config)
    return config


@pytest.fixture
def big_config(big_landing, tmp_path) -> Config:
    """A private copy of the big account's landing area, with no warehouse yet."""
    data = tmp_path / "data"
    shutil.copytree(big_landing.settings.data_dir, data, ignore=shutil.ignore_patterns("*.duckdb*"))
    settings = replace(big_landing.settings, data_dir=data, db_path=data / "fb.duckdb")
    return replace(big_landing, settings=settings)


@pytest.fixture
def clean_db(big_landing):
    return big_landing.settings.db_path
