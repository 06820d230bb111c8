import subprocess
import sys

# In its own process: DuckDB's default for the setting differs inside pytest.
_PROGRESS_BAR_SETTING = """
from pipeline.config import default_settings
from pipeline.warehouse import open_warehouse

settings = default_settings(data_dir={root!r}, db_path={root!r} + "/followback.duckdb")
with open_warehouse(settings) as writer:
    print(writer.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0])
with open_warehouse(settings, read_only=True) as reader:
    print(reader.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0])
"""


def test_connections_draw_no_progress_bar_into_task_logs(tmp_path):
    """DuckDB draws one on every statement over 2 s, as a 10M account's load has several."""
    shown = subprocess.run(
        [sys.executable, "-c", _PROGRESS_BAR_SETTING.format(root=str(tmp_path))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == ["False", "False"]
