"""The benchmarks compare like with like: the baseline's outputs are the marts', and the cost
model reads what the X source reads. No timings here: they belong in benchmarks/RESULTS.md."""

from datetime import date

import pytest

from benchmarks import api_cost, baseline
from benchmarks.bench import compare
from benchmarks.run_step import config_for, history


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
