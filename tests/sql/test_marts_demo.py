"""`followback demo` on the default simulated world (the session's `demo`): churner detection
against the planted truth, and the seed 001 experiment (followers vs. engagement) side by side."""

import duckdb
import pytest

from pipeline.cli import SUMMARY_SQL

MARTS = (
    "mart.reciprocity_daily",
    "mart.churn_daily",
    "mart.follow_back_events",
    "mart.follower_retention",
    "mart.churners",
    "mart.question_response",
    "mart.question_response_curve",
)


@pytest.fixture(scope="module")
def con(demo):
    connection = duckdb.connect(str(demo.settings.db_path), read_only=True)
    yield connection
    connection.close()


def test_demo_fills_every_mart(con):
    for mart in MARTS:
        assert con.execute(f"SELECT count(*) FROM {mart}").fetchall()[0][0] > 0, mart


def test_churner_detection_against_planted_truth(con):
    flagged, planted, found = con.execute(
        """
        WITH flagged AS (
            SELECT account_id, user_id, followed_on, unfollowed_on
            FROM mart.churners WHERE is_churn
        )
        SELECT
            (SELECT count(*) FROM flagged),
            (SELECT count(*) FROM truth.churn_episodes),
            (SELECT count(*) FROM flagged
             INNER JOIN truth.churn_episodes
             USING (account_id, user_id, followed_on, unfollowed_on))
        """
    ).fetchall()[0]
    precision, recall = found / flagged, found / planted
    print(f"churners at the default window: precision {precision:.3f}, recall {recall:.3f}")
    assert planted > 100
    assert precision >= 0.95
    assert recall >= 0.90


def test_seed_experiment_organic_engages_far_more(demo, con):
    rows = {row[0]: row[1:] for row in con.execute(SUMMARY_SQL).fetchall()}
    organic, autofollower = rows["maya_writes"], rows["growth_hacker"]
    followers, answers, response_rate = 0, 5, 6
    # Seed 001: ~300 followers got 10 answers; ~6,000 followers got 2.
    assert organic[followers] * 10 < autofollower[followers]
    assert 4 <= organic[answers] <= 16
    assert 0.5 <= autofollower[answers] <= 5
    assert organic[response_rate] > 10 * autofollower[response_rate]
    assert 0.01 <= organic[response_rate] <= 0.06
    # The demo prints the comparison.
    for label in ("maya_writes", "growth_hacker", "response rate", "reciprocity"):
        assert label in demo.output
