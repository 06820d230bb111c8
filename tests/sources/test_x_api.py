import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import requests

from pipeline import extract, landing, load, transform
from pipeline.config import Account, ConfigError, load_config
from pipeline.sources import RateLimited, SourceAccessError, get_source
from pipeline.sources.x_api import XApiError, XApiSource, is_question
from pipeline.warehouse import open_warehouse
from tests.helpers import land_lists
from tests.sources.conftest import MAYA, MAYA_ID, QUESTION_ID, TOKEN, body

DAY = date(2026, 2, 20)
# The daily run for DAY starts just after midnight UTC.
AFTER_DAY = datetime(2026, 2, 21, 0, 5, tzinfo=UTC)
FOLLOWERS = ["101", "102", "103", "104", "106"]
RATE_LIMIT_RESET = 1771635600  # 2026-02-21 01:00:00 UTC


def source(settings, account=MAYA, now=AFTER_DAY):
    return XApiSource(account, settings, clock=lambda: now)


def landed(settings, kind, day=DAY, account=MAYA):
    return landing.read_partition(settings.landing_dir, kind, account.handle, day)


def manifest(settings, kind, day=DAY, account=MAYA):
    return landing.read_manifest(settings.landing_dir, kind, account.handle, day)


def data_files_text(settings) -> str:
    return "".join(
        p.read_bytes().decode("latin-1") for p in settings.data_dir.rglob("*") if p.is_file()
    )


def test_followers_and_following_scan_over_pages(x_api, x_settings):
    x_api.graph()
    extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))

    assert landed(x_settings, "followers")["user_id"].tolist() == FOLLOWERS
    assert landed(x_settings, "following")["user_id"].tolist() == ["101", "201"]
    followers = manifest(x_settings, "followers")
    assert followers.account_id == MAYA_ID
    assert (followers.expected_count, followers.completed) == (5, True)
    # The profile lookup and three pages; the profile and five followers returned.
    assert (followers.requests, followers.resources) == (4, 6)
    assert followers.cost_usd == pytest.approx(6 * 0.010)
    assert followers.details == {
        "scan": "full",
        "scan_reason": "full_scan: daily",
        "pages": 3,
        "attempts": 1,
        "suspended": 1,
        "deleted": 1,
    }
    following = manifest(x_settings, "following")
    # Alice follows both ways and is read once in the UTC day: only Zed is charged again.
    assert (following.requests, following.resources, following.expected_count) == (1, 2, 2)
    assert following.cost_usd == pytest.approx(0.010)

    users = landed(x_settings, "users").set_index("user_id")
    assert users["status"].to_dict() == {
        "101": "active",
        "102": "active",
        "103": "active",
        "104": "active",
        "105": "suspended",
        "106": "active",
        "107": "deleted",
        "201": "active",
        MAYA_ID: "active",
    }
    assert users.loc["102", "default_avatar"] and not users.loc["101", "default_avatar"]
    assert users.loc["101", "created_at"] == pd.Timestamp("2010-05-01 08:00:00")
    assert users.loc["201", "followers_count"] == 2_000_000
    assert (users.loc[MAYA_ID, "username"], users.loc[MAYA_ID, "followers_count"]) == ("maya_x", 5)
    assert pd.isna(users.loc["105", "username"])
    assert not list(x_settings.landing_dir.rglob(landing.CHECKPOINT))


def test_rate_limit_checkpoints_then_the_next_attempt_resumes_from_the_cursor(x_api, x_settings):
    x_api.user()
    x_api.followers("followers_1")
    x_api.followers(
        "too_many_requests",
        "FOLLOWERS_P2",
        status=429,
        headers={
            "x-rate-limit-limit": "300",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(RATE_LIMIT_RESET),
        },
    )
    with pytest.raises(RateLimited) as limited:
        extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))
    assert limited.value.reset_at == datetime(2026, 2, 21, 1, 0, tzinfo=UTC)
    assert "resets at 2026-02-21 01:00:00 UTC" in str(limited.value)
    assert manifest(x_settings, "followers") is None
    checkpoint = (
        landing.partition_dir(x_settings.landing_dir, "followers", "maya_x", DAY)
        / landing.CHECKPOINT
    )
    state = json.loads((checkpoint / "state.json").read_text())
    assert {k: state[k] for k in ("next_token", "done", "pages", "requests", "chunks")} == {
        "next_token": "FOLLOWERS_P2",
        "done": False,
        "pages": 1,
        "requests": 3,
        "chunks": 1,
    }

    # The next attempt gets a fresh recording without page 1: asking for it again would fail.
    x_api.mock.reset()
    x_api.user()
    x_api.followers("followers_2", "FOLLOWERS_P2")
    x_api.followers("followers_3", "FOLLOWERS_P3")
    x_api.following("following_1")
    extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))

    assert landed(x_settings, "followers")["user_id"].tolist() == FOLLOWERS
    followers = manifest(x_settings, "followers")
    assert (followers.requests, followers.resources) == (6, 7)
    assert (followers.details["pages"], followers.details["attempts"]) == (3, 2)
    assert followers.cost_usd == pytest.approx(6 * 0.010)
    assert len(landed(x_settings, "users")) == 9
    assert not checkpoint.exists()


def test_a_long_scan_finishes_across_many_rate_limit_windows_and_a_crash(x_api, x_settings):
    """The shape of a 10M-follower scan (~34 windows of 300 pages), scaled down."""
    settings = replace(x_settings, x_checkpoint_every_pages=3, x_server_error_attempts=1)
    ids = [str(10_000 + i) for i in range(120)]
    per_page, pages_per_window = 4, 7
    budget = {"left": pages_per_window, "crashed": False}

    def followers(request):
        token = request.params.get("pagination_token")
        page = int(token.removeprefix("P")) if token else 0
        if page == 11 and not budget["crashed"]:
            budget["crashed"] = True
            raise requests.ConnectionError("connection reset by peer")
        if budget["left"] == 0:
            budget["left"] = pages_per_window
            return 429, {"x-rate-limit-reset": str(RATE_LIMIT_RESET)}, "{}"
        budget["left"] -= 1
        chunk = ids[page * per_page : (page + 1) * per_page]
        meta = {"result_count": len(chunk)}
        if (page + 1) * per_page < len(ids):
            meta["next_token"] = f"P{page + 1}"
        return 200, {}, json.dumps({"data": [{"id": i} for i in chunk], "meta": meta})

    x_api.mock.assert_all_requests_are_fired = False
    x_api.mock.add_callback(
        "GET", f"https://api.twitter.com/2/users/{MAYA_ID}/followers", callback=followers
    )
    x_api.user()
    x_api.following({"meta": {"result_count": 0}})
    outcomes = []
    while not outcomes or outcomes[-1] != "done":
        try:
            extract.extract_graph(MAYA, DAY, settings, source(settings))
            outcomes.append("done")
        except (RateLimited, XApiError) as stopped:
            outcomes.append(type(stopped).__name__)

    assert outcomes == ["RateLimited", "XApiError"] + ["RateLimited"] * 3 + ["done"]
    assert landed(settings, "followers")["user_id"].tolist() == ids
    details = manifest(settings, "followers").details
    assert (details["pages"], details["attempts"]) == (30, 6)


def test_401_explains_the_token_and_never_shows_it(x_api, x_settings):
    x_api.user("unauthorized", status=401)
    with pytest.raises(SourceAccessError) as refused:
        extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))
    message = str(refused.value)
    assert "401 Unauthorized" in message
    assert "'x_api'" in message and "X_BEARER_TOKEN" in message
    assert TOKEN not in message


def test_403_explains_the_access_tier(x_api, x_settings):
    x_api.user()
    x_api.followers("forbidden", status=403)
    with pytest.raises(SourceAccessError) as refused:
        extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))
    message = str(refused.value)
    assert "403 Forbidden" in message
    assert "attached to a Project" in message
    assert "access tier" in message


def test_503_is_retried_in_place(x_api, x_settings):
    x_api.user()
    x_api.followers("service_unavailable", status=503)
    x_api.followers("followers_1")
    x_api.followers("followers_2", "FOLLOWERS_P2")
    x_api.followers("followers_3", "FOLLOWERS_P3")
    x_api.following("following_1")
    extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))
    assert landed(x_settings, "followers")["user_id"].tolist() == FOLLOWERS
    assert manifest(x_settings, "followers").requests == 5


def test_persistent_5xx_fails_after_the_configured_attempts(x_api, x_settings):
    settings = replace(x_settings, x_server_error_attempts=2)
    x_api.user()
    x_api.followers("service_unavailable", status=503)
    x_api.followers("service_unavailable", status=503)
    with pytest.raises(XApiError, match="failed 2 times reading the followers of @maya_x"):
        extract.extract_graph(MAYA, DAY, settings, source(settings))


def test_the_token_is_never_logged_or_written(x_api, x_settings, caplog):
    caplog.set_level(logging.DEBUG)
    x_api.graph()
    x_api.user("unauthorized", status=401)
    extract.extract_graph(MAYA, DAY, x_settings, source(x_settings))
    with pytest.raises(SourceAccessError):
        extract.extract_timeline(MAYA, DAY, x_settings, source(x_settings))
    assert "Bearer ***" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in data_files_text(x_settings)


def test_tweets_since_the_last_run_and_replies_until_the_window_is_final(x_api, x_settings):
    first_run_start = {"start_time": "2026-02-14T00:05:00Z"}
    x_api.user()
    x_api.tweets("tweets_1", **first_run_start)
    x_api.tweets("tweets_2", pagination_token="TWEETS_P2", **first_run_start)
    x_api.search("replies_1")
    x_api.search("replies_2", next_token="b26v89c19zqg8o3fr5qdxbbyzn")
    extract.extract_timeline(MAYA, DAY, x_settings, source(x_settings))

    tweets = landed(x_settings, "tweets")
    assert tweets["tweet_id"].tolist() == [
        "1892500000000000006",
        "1892500000000000005",
        "1892500000000000002",
        QUESTION_ID,
    ]
    assert tweets["referenced_type"].fillna("-").tolist() == ["replied_to", "retweeted", "-", "-"]
    assert tweets.loc[3, "created_at"] == pd.Timestamp("2026-02-20 09:10:58")
    assert tweets.loc[3, "reply_count"] == 4
    tweets_manifest = manifest(x_settings, "tweets")
    assert tweets_manifest.details == {"since_id": None, "newest_id": "1892500000000000006"}
    assert (tweets_manifest.requests, tweets_manifest.resources) == (3, 5)
    assert tweets_manifest.cost_usd == pytest.approx(4 * 0.005 + 0.010)
    # Only the question is searched; the root tweet the search also returns is not a reply.
    replies = landed(x_settings, "replies")
    assert replies["reply_id"].tolist() == [
        "1892500000000000006",
        "1892500000000000004",
        "1892500000000000003",
    ]
    assert set(replies["conversation_id"]) == {QUESTION_ID}
    assert replies["author_id"].tolist() == [MAYA_ID, "101", "104"]
    assert replies["in_reply_to_tweet_id"].tolist() == [QUESTION_ID] * 3
    replies_manifest = manifest(x_settings, "replies")
    assert replies_manifest.details == {
        "conversations": {QUESTION_ID: {"newest_id": "1892500000000000006", "final": False}}
    }
    assert (replies_manifest.requests, replies_manifest.resources) == (2, 4)
    assert replies_manifest.cost_usd == pytest.approx(3 * 0.005)

    # Next day: only newer tweets and replies; the question's 24 hours have passed.
    next_day = date(2026, 2, 21)
    x_api.mock.reset()
    x_api.user()
    x_api.tweets("no_tweets", since_id="1892500000000000006")
    x_api.search("replies_late", since_id="1892500000000000006")
    extract.extract_timeline(
        MAYA, next_day, x_settings, source(x_settings, now=datetime(2026, 2, 22, 0, 5, tzinfo=UTC))
    )
    assert landed(x_settings, "tweets", next_day).empty
    assert landed(x_settings, "replies", next_day)["reply_id"].tolist() == ["1892900000000000020"]
    assert manifest(x_settings, "replies", next_day).details["conversations"] == {
        QUESTION_ID: {"newest_id": "1892900000000000020", "final": True}
    }

    # The day after, the question is final: no search at all.
    last_day = date(2026, 2, 22)
    x_api.mock.reset()
    x_api.user()
    x_api.tweets("no_tweets", since_id="1892500000000000006")
    extract.extract_timeline(
        MAYA, last_day, x_settings, source(x_settings, now=datetime(2026, 2, 23, 0, 5, tzinfo=UTC))
    )
    assert landed(x_settings, "replies", last_day).empty
    assert not any("search" in path for path in x_api.paths())


def test_question_detection():
    assert is_question("What's one book that changed how you think?")
    assert not is_question("New post is up: https://example.com/post?id=42 #writing")
    assert not is_question("Ask @maya_x, she knows: https://x.com/i?q=1 #tips")
    assert is_question("@maya_x did you see this?")
    assert is_question("Thoughts on this https://t.co/abc?")


def test_questions_named_in_the_config_win(x_api, x_settings):
    named = replace(MAYA, questions={"1892500000000000002": True, QUESTION_ID: False})
    start = {"start_time": "2026-02-14T00:05:00Z"}
    x_api.user()
    x_api.tweets("tweets_1", **start)
    x_api.tweets("tweets_2", pagination_token="TWEETS_P2", **start)
    x_api.search("no_tweets", conversation_id="1892500000000000002")
    extract.extract_timeline(named, DAY, x_settings, source(x_settings, named))
    assert list(manifest(x_settings, "replies").details["conversations"]) == ["1892500000000000002"]


def _users(ids, next_token=None):
    meta = {"result_count": len(ids)} | ({"next_token": next_token} if next_token else {})
    return {"data": [{"id": i, "username": f"user{i}"} for i in ids], "meta": meta}


def _profile(followers, following):
    profile = body("user")
    profile["data"]["public_metrics"].update(followers_count=followers, following_count=following)
    return profile


INCREMENTAL = Account(handle="maya_x", source="x_api", full_scan="incremental")
KNOWN = [101, 102, 103, 104, 105]


def test_incremental_reads_newest_pages_until_known_followers(x_api, x_settings):
    land_lists(x_settings, INCREMENTAL, int(MAYA_ID), date(2026, 2, 19), KNOWN, [201])
    x_api.user(_profile(followers=6, following=1))
    x_api.followers(_users(["900", "101"], "P2"))
    x_api.followers(_users(["102", "103"], "P3"), "P2")
    x_api.following(_users(["201"]))
    extract.extract_graph(INCREMENTAL, DAY, x_settings, source(x_settings, INCREMENTAL))

    # Page 3 was never read: its followers are carried over from the known snapshot.
    assert landed(x_settings, "followers", account=INCREMENTAL)["user_id"].tolist() == [
        "900", "101", "102", "103", "104", "105",
    ]  # fmt: skip
    details = manifest(x_settings, "followers", account=INCREMENTAL).details
    assert details["scan"] == "incremental"
    assert (details["new"], details["pages"], details["extends"]) == (1, 2, "2026-02-19")
    # Following fit in the first page: that is every page, a full scan.
    assert manifest(x_settings, "following", account=INCREMENTAL).details["scan"] == "full"

    with open_warehouse(x_settings) as con:
        for day in (date(2026, 2, 19), DAY):
            loaded = load.load_day(con, INCREMENTAL, day, x_settings)
        transform.transform_account(con, loaded.account_id, x_settings)
        scans = con.execute(
            "SELECT snapshot_date, kind, scan FROM meta.snapshots "
            "WHERE kind IN ('followers', 'following', 'users') ORDER BY 1, 2"
        ).fetchall()
        closed = con.execute(
            "SELECT count(*) FROM core.follow_edges WHERE valid_to IS NOT NULL"
        ).fetchone()[0]
    assert scans == [
        (date(2026, 2, 19), "followers", "full"),
        (date(2026, 2, 19), "following", "full"),
        (DAY, "followers", "incremental"),
        (DAY, "following", "full"),
        (DAY, "users", None),
    ]
    # An incremental day never claims an unfollow it did not see.
    assert closed == 0


def test_incremental_reconciles_when_the_count_says_someone_left(x_api, x_settings):
    land_lists(x_settings, INCREMENTAL, int(MAYA_ID), date(2026, 2, 19), KNOWN, [201])
    x_api.user(_profile(followers=5, following=1))
    x_api.followers(_users(["900", "101"], "P2"))
    x_api.followers(_users(["102", "104"], "P3"), "P2")
    x_api.followers(_users(["105"]), "P3")
    x_api.following(_users(["201"]))
    extract.extract_graph(INCREMENTAL, DAY, x_settings, source(x_settings, INCREMENTAL))

    assert landed(x_settings, "followers", account=INCREMENTAL)["user_id"].tolist() == [
        "900", "101", "102", "104", "105",
    ]  # fmt: skip
    followers = manifest(x_settings, "followers", account=INCREMENTAL)
    assert followers.details["scan"] == "full"
    assert followers.details["scan_reason"] == (
        "reconcile: the profile states 5 followers, fewer than the 6 known and new ones"
    )
    assert (followers.requests, followers.details["pages"]) == (4, 3)


def test_incremental_leaves_losses_below_the_share_to_the_scheduled_reconcile(x_api, x_settings):
    # One of the six known and new followers left (17%): below the share, so no full read.
    settings = replace(x_settings, x_reconcile_min_lost_share=0.2)
    land_lists(settings, INCREMENTAL, int(MAYA_ID), date(2026, 2, 19), KNOWN, [201])
    x_api.user(_profile(followers=5, following=1))
    x_api.followers(_users(["900", "101"], "P2"))
    x_api.followers(_users(["102", "104"], "P3"), "P2")
    x_api.following(_users(["201"]))
    extract.extract_graph(INCREMENTAL, DAY, settings, source(settings, INCREMENTAL))

    # 103 left unseen; it is still listed, and the next full scan will date its loss.
    assert landed(settings, "followers", account=INCREMENTAL)["user_id"].tolist() == [
        "900", "101", "102", "104", "103", "105",
    ]  # fmt: skip
    followers = manifest(settings, "followers", account=INCREMENTAL)
    assert (followers.details["scan"], followers.details["pages"]) == ("incremental", 2)
    assert (followers.row_count, followers.expected_count) == (6, 5)


def test_the_lost_share_must_stay_below_the_count_tolerance(tmp_path):
    path = tmp_path / "accounts.yml"
    path.write_text("settings: {x_reconcile_min_lost_share: 0.05}\naccounts: []\n")
    with pytest.raises(
        ConfigError, match="x_reconcile_min_lost_share must be at least 0 and below"
    ):
        load_config(path)


def test_incremental_reconciles_every_k_days(x_api, x_settings):
    land_lists(x_settings, INCREMENTAL, int(MAYA_ID), date(2026, 2, 13), KNOWN, [201])
    x_api.user(_profile(followers=6, following=1))
    x_api.followers(_users(["900", "101"], "P2"))
    x_api.followers(_users(["102", "103", "104", "105"]), "P2")
    x_api.following(_users(["201"]))
    extract.extract_graph(INCREMENTAL, DAY, x_settings, source(x_settings, INCREMENTAL))

    details = manifest(x_settings, "followers", account=INCREMENTAL).details
    assert (details["scan"], details["scan_reason"]) == (
        "full",
        "reconcile every 7 days; last full scan: 2026-02-13",
    )


def test_x_api_settings_and_owned_accounts_come_from_the_accounts_file(tmp_path):
    path = tmp_path / "accounts.yml"
    path.write_text(
        "settings: {x_price_user_read: 0.02, x_reconcile_every_days: 3}\n"
        "accounts:\n  - {handle: maya_x, source: x_api, full_scan: incremental, owned: true}\n"
    )
    config = load_config(path)
    assert (config.settings.x_price_user_read, config.settings.x_price_owned_read) == (0.02, 0.001)
    assert config.settings.x_reconcile_every_days == 3
    assert config.account("maya_x") == Account(
        handle="maya_x", source="x_api", full_scan="incremental", owned=True
    )


def test_owned_reads_are_priced_as_owned(x_api, x_settings):
    owned = replace(MAYA, owned=True)
    x_api.graph()
    extract.extract_graph(owned, DAY, x_settings, source(x_settings, owned))
    assert manifest(x_settings, "followers").cost_usd == pytest.approx(6 * 0.001)
    assert manifest(x_settings, "following").cost_usd == pytest.approx(0.001)


def test_a_missing_token_says_where_to_put_it(monkeypatch, x_settings):
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    with pytest.raises(SourceAccessError, match="password of the Airflow connection 'x_api'"):
        get_source(MAYA, x_settings)


def test_sources_are_chosen_per_account(x_api, x_settings):
    assert isinstance(get_source(MAYA, x_settings), XApiSource)
    with pytest.raises(ConfigError, match="followback import-archive"):
        get_source(Account(handle="old_archive", source="archive"), x_settings)
