import subprocess
import sys
import time

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_bad_date_is_refused_with_the_format(config_file):
    result = runner.invoke(app, ["run", "--date", "2026-13-01"])
    assert result.exit_code == 2
    assert "'2026-13-01' is not a date: use YYYY-MM-DD" in " ".join(result.output.split())


def test_unknown_account_lists_the_known_ones(config_file):
    result = runner.invoke(app, ["run", "--date", "2026-01-02", "--account", "nobody"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "Unknown account 'nobody'" in output
    assert "maya_writes, growth_hacker, acme_brand" in output


def test_locked_warehouse_names_the_holder(config_file, tmp_path):
    db = tmp_path / "data" / "followback.duckdb"
    db.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = runner.invoke(app, ["run", "--date", "2026-01-02", "--account", "maya_writes"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert f"is locked by process {holder.pid}" in " ".join(result.output.split())
    # Once the other session is gone, the same command succeeds.
    time.sleep(0.1)
    result = runner.invoke(app, ["run", "--date", "2026-01-02", "--account", "maya_writes"])
    assert result.exit_code == 0, result.output


def test_demo_prints_a_summary(demo):
    for handle in ("maya_writes", "growth_hacker", "acme_brand"):
        assert handle in demo.output
    assert f"Warehouse:{demo.settings.db_path}" in "".join(demo.output.split())
    assert demo.settings.db_path.exists()
