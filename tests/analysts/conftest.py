"""The analyst-facing tests read the session's demo warehouse (tests/conftest.py: demo)."""

import pytest

from tests.conftest import Demo


@pytest.fixture
def demo_env(demo, monkeypatch) -> Demo:
    """Points the CLI at the demo warehouse, as FOLLOWBACK_CONFIG/FOLLOWBACK_DATA_DIR would."""
    monkeypatch.setenv("FOLLOWBACK_CONFIG", str(demo.config_path))
    monkeypatch.setenv("FOLLOWBACK_DATA_DIR", str(demo.settings.data_dir))
    monkeypatch.delenv("FOLLOWBACK_DB", raising=False)
    return demo
