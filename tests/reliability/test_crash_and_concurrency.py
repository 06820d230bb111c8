"""Faults in the load: a SIGKILL inside the transaction, a held lock, concurrent backfills."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest

from pipeline import run
from pipeline.warehouse import WarehouseLockedError, connect
from tests.reliability.conftest import BIG
from tests.reliability.helpers import (
    BIG_DAY,
    difference,
    row_counts,
    rows_lost,
    start_load,
    wait_for,
)

DAY = BIG_DAY.isoformat()


@pytest.mark.parametrize("loaded_before", [False, True], ids=["first-load", "reload"])
def test_sigkill_inside_the_load_transaction_changes_nothing(
    big_config, clean_db, tmp_path, record, loaded_before
):
    settings = big_config.settings
    if loaded_before:
        # A reload first deletes the day's 300k rows: a kill must not leave them deleted.
        shutil.copy(clean_db, settings.db_path)
    else:
        connect(settings).close()
    before = row_counts(settings.db_path)

    child = start_load(big_config, BIG, BIG_DAY, pause_dir=tmp_path)
    wait_for(tmp_path / "paused", child)
    # followers, following and users are inserted but not committed; the WAL holds them.
    assert settings.db_path.with_name(settings.db_path.name + ".wal").exists()
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL

    after_kill = row_counts(settings.db_path)
    # load_validated commits the validation outcomes on their own before the load (an audit
    # record, by design); every other table must be as it was.
    recorded = after_kill.pop("meta.validation_results") - before.pop("meta.validation_results")
    assert recorded == (0 if loaded_before else 5)
    assert after_kill == before
    if loaded_before:
        assert after_kill["raw.follower_snapshot"] == 301_334
        record(rows_lost=rows_lost(difference(clean_db, settings.db_path)))

    run.load_snapshot(BIG.handle, DAY, big_config)
    diff = difference(clean_db, settings.db_path)
    record(rows_lost=rows_lost(diff))
    assert diff == {name: (0, 0) for name in diff}


def test_a_held_lock_is_named_and_a_retry_succeeds(big_config, clean_db, record):
    settings = big_config.settings
    connect(settings).close()
    # An analyst's read-write session in another process (DuckDB's lock is per process).
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(settings.db_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLockedError) as locked:
            run.load_snapshot(BIG.handle, DAY, big_config)
        message = str(locked.value)
        assert f"is locked by process {analyst.pid}" in message
        assert "close that session (or open it read-only) and run again" in message
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)

    assert run.load_snapshot(BIG.handle, DAY, big_config)["rows"]["followers"] == 301_334
    diff = difference(clean_db, settings.db_path)
    record(rows_lost=rows_lost(diff))
    assert diff == {name: (0, 0) for name in diff}


def test_the_same_day_loaded_twice_matches_one_clean_load(big_config, clean_db, record):
    first = run.load_snapshot(BIG.handle, DAY, big_config)
    second = run.load_snapshot(BIG.handle, DAY, big_config)
    assert first["rows"] == second["rows"]
    diff = difference(clean_db, big_config.settings.db_path)
    record(rows_lost=rows_lost(diff))
    assert diff == {name: (0, 0) for name in diff}


def test_two_runs_of_the_same_day_at_once_one_waits_out_or_fails_cleanly(
    big_config, clean_db, tmp_path, record
):
    settings = big_config.settings
    connect(settings).close()
    # The first run is held inside its transaction while the second one starts.
    first = start_load(big_config, BIG, BIG_DAY, pause_dir=tmp_path)
    wait_for(tmp_path / "paused", first)
    second = start_load(big_config, BIG, BIG_DAY)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 3, err
    refused = json.loads(out)
    assert refused["error"] == "WarehouseLockedError"
    assert f"locked by process {first.pid}" in refused["message"]

    (tmp_path / "release").touch()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert json.loads(out)["rows"]["followers"] == 301_334

    # The refused run is retried, as Airflow would.
    retry = start_load(big_config, BIG, BIG_DAY)
    out, err = retry.communicate(timeout=60)
    assert retry.returncode == 0, err
    diff = difference(clean_db, settings.db_path)
    record(rows_lost=rows_lost(diff))
    assert diff == {name: (0, 0) for name in diff}
