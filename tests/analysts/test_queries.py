import re
from datetime import timedelta

import duckdb
import pytest

from pipeline import publish
from tests.conftest import REPO

QUERIES = REPO / "docs" / "queries.sql"


def _queries() -> tuple[str, dict[str, str]]:
    """The file's preamble (the variables) and its queries by name."""
    preamble, *named = re.split(r"^-- name: (\w+)\n", QUERIES.read_text(), flags=re.M)
    return preamble, dict(zip(named[::2], named[1::2], strict=True))


@pytest.fixture(params=["warehouse", "published copy"])
def con(request, demo):
    path = {
        "warehouse": demo.settings.db_path,
        "published copy": publish.published_db(demo.settings),
    }[request.param]
    connection = duckdb.connect(str(path), read_only=True)
    connection.execute(_queries()[0])
    yield connection
    connection.close()


def _run(con, name: str) -> list[tuple]:
    return con.execute(_queries()[1][name]).fetchall()


def _variable(con, name: str):
    return con.execute(f"SELECT getvariable('{name}')").fetchall()[0][0]


# The file's preamble sets handle = 'maya_writes'.
MAYA = "JOIN meta.accounts USING (account_id) WHERE handle = 'maya_writes'"


def test_the_file_has_the_five_questions():
    assert list(_queries()[1]) == [
        "who_doesnt_follow_me_back",
        "who_unfollowed_me_this_week",
        "my_follow_churners",
        "response_rate_of_my_last_question",
        "followers_as_of_a_date",
    ]


def test_who_doesnt_follow_me_back(con):
    as_of = _variable(con, "as_of")
    ((following, mutuals),) = con.execute(
        f"SELECT following, mutuals FROM mart.reciprocity_daily {MAYA} AND snapshot_date = ?",
        [as_of],
    ).fetchall()
    rows = _run(con, "who_doesnt_follow_me_back")
    assert len(rows) == following - mutuals > 0
    assert len({user_id for user_id, _ in rows}) == len(rows)


def test_who_unfollowed_me_this_week(con):
    as_of = _variable(con, "as_of")
    ((lost,),) = con.execute(
        f"SELECT sum(lost) FROM mart.churn_daily {MAYA} "
        "AND snapshot_date > ? AND snapshot_date <= ?",
        [as_of - timedelta(days=7), as_of],
    ).fetchall()
    rows = _run(con, "who_unfollowed_me_this_week")
    assert len(rows) == lost > 0
    assert all(
        as_of - timedelta(days=7) < unfollowed_on <= as_of for _, _, unfollowed_on, _ in rows
    )


def test_my_follow_churners(con):
    ((users, episodes),) = con.execute(
        f"SELECT count(DISTINCT user_id), count(*) FROM mart.churners {MAYA} AND is_churn"
    ).fetchall()
    rows = _run(con, "my_follow_churners")
    assert (len(rows), sum(row[1] for row in rows)) == (users, episodes)
    assert users > 0
    assert [row[1] for row in rows] == sorted((row[1] for row in rows), reverse=True)


def test_response_rate_of_my_last_question(con):
    expected = con.execute(
        "SELECT posted_at, audience, follower_repliers_24h, response_rate, status "
        f"FROM mart.question_response {MAYA} ORDER BY posted_at DESC LIMIT 1"
    ).fetchall()
    ((posted_at, text, audience, repliers, rate, status),) = _run(
        con, "response_rate_of_my_last_question"
    )
    assert [(posted_at, audience, repliers, rate, status)] == expected
    assert "?" in text
    assert rate == pytest.approx(repliers / audience)


def test_followers_as_of_a_date(con):
    on = _variable(con, "followers_on")
    assert on == _variable(con, "as_of") - timedelta(days=7)
    ((followers,),) = con.execute(
        f"SELECT followers FROM mart.reciprocity_daily {MAYA} AND snapshot_date = ?", [on]
    ).fetchall()
    assert len(_run(con, "followers_as_of_a_date")) == followers > 0
