from datetime import date

import duckdb
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_backfill_runs_each_date_with_a_progress_bar_then_publishes(config_file, tmp_path):
    result = runner.invoke(
        app, ["backfill", "--from", "2026-01-01", "--to", "2026-01-03", "--account", "maya_writes"]
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "100%" in output
    assert "Backfilled 2026-01-01 to 2026-01-03" in output
    published = tmp_path / "data" / "published" / "followback.duckdb"
    dates = duckdb.connect(str(published), read_only=True).execute(
        "SELECT handle, min(snapshot_date), max(snapshot_date), count(*) "
        "FROM mart.reciprocity_daily JOIN meta.accounts USING (account_id) GROUP BY handle"
    )
    assert dates.fetchall() == [("maya_writes", date(2026, 1, 1), date(2026, 1, 3), 3)]


def test_backfill_refuses_a_reversed_range(config_file):
    result = runner.invoke(app, ["backfill", "--from", "2026-01-05", "--to", "2026-01-01"])
    assert result.exit_code == 2
    assert "--to 2026-01-01 is before --from 2026-01-05." in " ".join(result.output.split())
