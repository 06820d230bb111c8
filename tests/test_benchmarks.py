"""The benchmarks compare like with like: the baseline's outputs are the marts', and the cost
model reads what the X source reads. No timings here: they belong in benchmarks/RESULTS.md."""

import json
import re
from datetime import date

import duckdb
import pytest

from benchmarks import api_cost, baseline, bench, history_growth, load_timings, same_rows
from benchmarks.bench import compare
from benchmarks.run_step import config_for, history
from pipeline import extract, landing, partitions
from pipeline.config import default_settings
from pipeline.warehouse import connect


def test_the_baseline_computes_the_marts_outputs(tmp_path):
    followers = 30_000
    config = config_for(tmp_path, followers)
    # Long enough for cohorts to get their 7-day reading, and for follow churners to leave.
    last = date(2026, 1, 12)
    history(config, date(2026, 1, 1), last)
    expected = baseline.outputs(tmp_path / "baseline", last)
    assert expected["episodes"] > 0
    assert any(c["retained_7d"] is not None for c in expected["retention"].values())
    assert compare(tmp_path, followers, last, expected) == {
        "same_outputs": True,
        "differences": [],
    }


def test_a_daily_full_scan_reads_every_page_and_the_profile():
    cost = api_cost.daily_cost(1_000_000, "daily")
    assert (cost.requests, cost.resources) == (1001, 1_000_001)


def test_incremental_reads_reconcile_on_any_loss():
    # With 0.1% lost a day, a 1M account loses someone every day: every day is a full scan.
    assert api_cost.daily_cost(1_000_000, "incremental").full_scan_share == pytest.approx(1.0)
    # A 300-follower account has a day without losses about 3 days in 4.
    assert api_cost.full_scan_share(300, 0.001, 7) == pytest.approx(0.295, abs=1e-3)
    # Losses below 1% wait for the weekly reconcile: 0.1% a day reach 1% on day 11.
    weekly = api_cost.daily_cost(1_000_000, "incremental", min_lost_share=0.01)
    assert weekly.full_scan_share == pytest.approx(1 / 7)
    # Above 0.5% they reconcile on day 6.
    assert api_cost.full_scan_share(10**6, 0.001, 7, min_lost_share=0.005) == pytest.approx(1 / 6)
    # The other days read the new followers' pages and one page of known ones.
    assert weekly.resources == pytest.approx((1_000_001 + 6 * (3_000 + 1)) / 7)


def test_the_replay_of_x_api_reads_agrees_with_the_model():
    weekly = api_cost.replay(20_000, 7, "incremental", min_lost_share=0.01)
    assert weekly["full_scan_share"] == pytest.approx(1 / 7)
    every_day = api_cost.replay(20_000, 3, "incremental")
    assert every_day["full_scan_share"] == 1.0


# The least of a summary that bench.targets reads: no API cost rows, one page-processing figure.
MINIMAL_SUMMARY = {
    "api_cost": [],
    "page_processing": {"seconds_per_page": 0.01, "share_of_rate_limit_budget": 0.003},
}


def target_cells() -> list[list[str]]:
    """The targets table's rows, each as its cells."""
    return [line.strip("| ").split(" | ") for line in bench.targets({}, MINIMAL_SUMMARY)[2:]]


def target_rows(results, monkeypatch, name: str, growth: dict) -> dict[str, tuple[str, str]]:
    """The targets table, by target, with one back-to-back result written as `name`."""
    monkeypatch.setattr(bench, "RESULTS", results)
    (results / name).write_text(json.dumps(growth))
    return {cells[0]: (cells[1], cells[2]) for cells in target_cells()}


def growth_result(followers: int, seconds: tuple[float, float], rss_mb: tuple[float, float]):
    """A history_growth result: the daily runs of day 2 and day 91, and their peak RSS."""
    young, old = seconds
    return {
        "followers": followers,
        "days": {"young": "2026-01-02", "old": "2026-04-01"},
        "fastest_seconds": {"young": {"daily_run": young}, "old": {"daily_run": old}},
        "old_over_young": {"daily_run": old / young},
        "peak_rss_mb": dict(zip(("young", "old"), rss_mb, strict=True)),
        "commit": "abc1234",
    }


def test_a_back_to_back_run_decides_the_speed_targets_after_history(tmp_path, monkeypatch):
    growth = growth_result(10_000_000, (20.0, 24.5), (2000.0, 4200.0))
    rows = target_rows(tmp_path, monkeypatch, "history_growth-10m-day91.json", growth)

    # 24.5 s is within 30 s, but 4.1 GB on day 91 is over 4 GB.
    assert rows["10m followers: daily run <= 30 s and <= 4 GB peak RSS, measured back to back"] == (
        "day 2: 20.0 s, 2.0 GB, day 91: 24.5 s, 4.1 GB (abc1234)",
        "**missed**",
    )
    assert rows["10m: day-91 run <= 1.25x the day-2 run, measured back to back"] == (
        "24.50 / 20.00 s = 1.225x (abc1234)",
        "met",
    )


def test_a_back_to_back_run_shows_the_spread_of_its_repeats(tmp_path, monkeypatch):
    growth = {
        **growth_result(10_000_000, (20.0, 24.5), (2000.0, 2100.0)),
        "paired_ratios": [1.31, 1.19, 1.22],
    }
    rows = target_rows(tmp_path, monkeypatch, "history_growth-10m-day91.json", growth)

    assert rows["10m: day-91 run <= 1.25x the day-2 run, measured back to back"] == (
        "24.50 / 20.00 s = 1.225x; repeats 1.190-1.310x, median 1.220x (abc1234)",
        "met",
    )
    # The fastest of each side within the target, but most repeats over it.
    growth["paired_ratios"] = [1.31, 1.19, 1.26]
    rows = target_rows(tmp_path, monkeypatch, "history_growth-10m-day91.json", growth)
    assert rows["10m: day-91 run <= 1.25x the day-2 run, measured back to back"] == (
        "24.50 / 20.00 s = 1.225x; repeats 1.190-1.310x, median 1.260x (abc1234)",
        "**missed**",
    )


def test_a_same_size_run_is_told_apart_and_decides_only_the_history_target(tmp_path, monkeypatch):
    growth = {
        **growth_result(1_000_000, (4.4, 5.6), (500.0, 550.0)),
        "young_followers": 1_096_718,
    }
    rows = target_rows(tmp_path, monkeypatch, "history_growth-1m-day91-same-size.json", growth)

    assert {target: row for target, row in rows.items() if "back to back" in target} == {
        "1m: day-91 run <= 1.25x the day-2 run, measured back to back (day 2 of an account as "
        "big as day 91's: 1,096,718 followers)": ("5.60 / 4.40 s = 1.273x (abc1234)", "**missed**")
    }


def test_a_run_against_day_3_names_its_days(tmp_path, monkeypatch):
    growth = {
        **growth_result(10_000_000, (20.0, 26.0), (2000.0, 2100.0)),
        "days": {"young": "2026-01-03", "old": "2026-04-01"},
    }
    rows = target_rows(tmp_path, monkeypatch, "history_growth-10m-day91-from-day3.json", growth)

    assert rows["10m followers: daily run <= 30 s and <= 4 GB peak RSS, measured back to back"] == (
        "day 3: 20.0 s, 2.0 GB, day 91: 26.0 s, 2.1 GB (abc1234)",
        "met",
    )
    assert rows[
        "10m: day-91 run <= 1.25x the day-3 run (the first that compacts raw), "
        "measured back to back"
    ] == ("26.00 / 20.00 s = 1.300x (abc1234)", "**missed**")


class LongestHistoryFirst:
    """A results directory that lists the longest history's file first."""

    def __init__(self, path):
        self.path = path

    def glob(self, pattern):
        return sorted(self.path.glob(pattern), key=lambda found: len(found.name), reverse=True)


def test_runs_after_histories_of_different_lengths_each_decide_a_target(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "RESULTS", LongestHistoryFirst(tmp_path))
    for number, old_day, seconds in ((365, "2026-12-31", 3.3), (99, "2026-04-09", 3.1)):
        growth = {
            **growth_result(1_000_000, (2.8, seconds), (500.0, 600.0)),
            "days": {"young": "2026-01-02", "old": old_day},
        }
        (tmp_path / f"history_growth-1m-day{number}.json").write_text(json.dumps(growth))

    # The shorter history first, whatever order the files are listed in.
    assert [cells[:2] for cells in target_cells() if cells[0].startswith("1m: day-")] == [
        [
            "1m: day-99 run <= 1.25x the day-2 run, measured back to back",
            "3.10 / 2.80 s = 1.107x (abc1234)",
        ],
        [
            "1m: day-365 run <= 1.25x the day-2 run, measured back to back",
            "3.30 / 2.80 s = 1.179x (abc1234)",
        ],
    ]


def test_the_figures_give_each_side_its_own_account_size():
    plain = {**growth_result(1_000_000, (2.6, 2.9), (500.0, 600.0)), "old_followers": 1_104_909}
    same_size = {
        **growth_result(1_000_000, (2.7, 3.0), (500.0, 600.0)),
        "young_followers": 1_104_909,
    }
    unrecorded = growth_result(10_000_000, (13.0, 16.0), (2000.0, 2300.0))

    assert [bench._followers_cell(plain, age) for age in ("young", "old")] == [
        "1,000,000",
        "1,104,909",
    ]
    assert [bench._followers_cell(same_size, age) for age in ("young", "old")] == [
        "1,104,909",
        "1,104,909",
    ]
    assert bench._followers_cell(unrecorded, "old") == "10,000,000 on day 1"


@pytest.mark.parametrize("transform", [False, True])
def test_load_timings_load_a_copy_and_name_the_commit_and_checkpoint(
    tmp_path, monkeypatch, capsys, transform
):
    followers = 300
    config = config_for(tmp_path, followers)
    history(config, date(2026, 1, 1), date(2026, 1, 1))
    extract.extract_graph(config.accounts[0], date(2026, 1, 2), config.settings)
    extract.extract_timeline(config.accounts[0], date(2026, 1, 2), config.settings)
    monkeypatch.setattr(
        "sys.argv",
        [
            "load_timings",
            "--followers",
            "300",
            "--data-dir",
            str(tmp_path),
            "--date",
            "2026-01-02",
            "--repeat",
            "1",
            "--shown",
            "2",
            *(["--transform"] if transform else []),
        ],
    )
    load_timings.main()
    printed = capsys.readouterr().out
    # Per section: the whole, COMMIT, CHECKPOINT and the two costliest statements.
    timings = [line for line in printed.splitlines() if re.match(r" *\d+\.\d{3} s  ", line)]
    assert len(timings) == (10 if transform else 5)
    sections = [line for line in printed.splitlines() if "fastest of 1" in line]
    assert sections == ["load of 2026-01-02, fastest of 1"] + (
        ["transform of 2026-01-02, fastest of 1"] if transform else []
    )
    for whole in ("the load, in all", *(["the transform, in all"] if transform else [])):
        section = printed.split(whole)[1].split("fastest of")[0]
        assert "COMMIT" in section and "CHECKPOINT" in section
    if transform:
        # The transform's own statements, in its own section.
        transform_section = printed.split("transform of 2026-01-02")[1]
        assert "CREATE OR REPLACE TEMP TABLE model_rows" in transform_section
    with duckdb.connect(str(config.settings.db_path), read_only=True) as con:
        # The copy was loaded, not the warehouse.
        assert con.execute("SELECT max(snapshot_date) FROM meta.snapshots").fetchone() == (
            date(2026, 1, 1),
        )
        account_id = con.execute("SELECT account_id FROM meta.accounts").fetchone()[0]
    day_2 = landing.read_manifest(
        config.settings.landing_dir, "users", config.accounts[0].handle, date(2026, 1, 2)
    ).row_count
    # A small day is one partial row group of its own partition.
    partition = partitions.partition_name("raw.users", account_id, date(2026, 1, 2))
    assert printed.splitlines()[-1] == f"{partition}: 1 row groups, 1 partial: [{day_2}]"


def test_history_growth_moves_an_old_layout_warehouse_once_before_copying_it(tmp_path):
    from tests.test_partitions import to_plain_tables

    config = config_for(tmp_path, 300)
    history(config, date(2026, 1, 1), date(2026, 1, 2))
    with duckdb.connect(str(config.settings.db_path)) as con:
        to_plain_tables(con)
    assert history_growth.last_loaded_day(tmp_path, 300) == date(2026, 1, 2)
    with duckdb.connect(str(config.settings.db_path), read_only=True) as con:
        assert con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'raw' ORDER BY ALL"
        ).fetchall() == [("follower_snapshot",), ("following_snapshot",), ("users",)]


def test_same_rows_tells_a_changed_row_from_the_run_clock(tmp_path, monkeypatch, capsys):
    paths = []
    for name, (loaded_at, episodes) in {
        "a": ("2026-12-06 03:00:00", [(7, "2026-01-02", "2026-01-05")]),
        "b": ("2026-12-06 04:00:00", [(7, "2026-01-02", "2026-01-06")]),
    }.items():
        settings = default_settings(data_dir=tmp_path / name, db_path=tmp_path / f"{name}.duckdb")
        con = connect(settings)
        con.execute(
            "INSERT INTO meta.snapshots (account_id, snapshot_date, kind, source, row_count, "
            "status, loaded_at) VALUES (1, DATE '2026-01-02', 'followers', 'simulated', 3, "
            "'complete', ?)",
            [loaded_at],
        )
        for user_id, followed_on, unfollowed_on in episodes:
            con.execute(
                "INSERT INTO truth.churn_episodes VALUES (1, ?, ?, ?)",
                [user_id, followed_on, unfollowed_on],
            )
        con.close()
        paths.append(str(settings.db_path))
    monkeypatch.setattr("sys.argv", ["same_rows", *paths])

    with pytest.raises(SystemExit) as exit_info:
        same_rows.main()

    assert exit_info.value.code == 1
    printed = capsys.readouterr().out.splitlines()
    # The snapshot differs only in when it was loaded; the planted episode in when it ended.
    assert "meta.snapshots: 1 rows, 0 only in a, 0 only in b" in printed
    assert "truth.churn_episodes: 1 rows, 1 only in a, 1 only in b" in printed
    assert printed[-1] == "1 relations differ"
