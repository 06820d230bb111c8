"""Recorded X API responses: fixtures/x_api/*.json, in the JSON shapes of the X API v2.

Every request is matched on its exact query string, so a test also checks what was asked (page
size, fields, cursor, since_id); an unexpected request finds no recording and fails.
"""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import responses
from responses import matchers

from pipeline.config import Account
from pipeline.sources.x_api import TWEET_FIELDS, USER_FIELDS

API = "https://api.twitter.com/2"
FIXTURES = Path(__file__).parent / "fixtures" / "x_api"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer-do-not-leak"
MAYA = Account(handle="maya_x", source="x_api")
MAYA_ID = "1500000000000000001"
QUESTION_ID = "1892500000000000001"


def body(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class RecordedXApi:
    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock

    def _add(self, path: str, name, params: dict, status=200, headers=None, strict=True):
        self.mock.get(
            f"{API}{path}",
            json=body(name) if isinstance(name, str) else name,
            status=status,
            headers=headers,
            match=[matchers.query_param_matcher(params, strict_match=strict)],
        )

    def user(self, name="user", **kwargs):
        self._add(
            "/users/by/username/maya_x", name, {"user.fields": ",".join(USER_FIELDS)}, **kwargs
        )

    def _list(self, kind, name, token=None, **kwargs):
        params = {"max_results": "1000", "user.fields": ",".join(USER_FIELDS)}
        if token:
            params["pagination_token"] = token
        self._add(f"/users/{MAYA_ID}/{kind}", name, params, **kwargs)

    def followers(self, name, token=None, **kwargs):
        self._list("followers", name, token, **kwargs)

    def following(self, name, token=None, **kwargs):
        self._list("following", name, token, **kwargs)

    def tweets(self, name, strict=True, **params):
        params = {"max_results": "100", "tweet.fields": ",".join(TWEET_FIELDS), **params}
        self._add(f"/users/{MAYA_ID}/tweets", name, params, strict=strict)

    def search(self, name, conversation_id=QUESTION_ID, **params):
        params = {
            "query": f"conversation_id:{conversation_id}",
            "max_results": "100",
            "tweet.fields": ",".join(TWEET_FIELDS),
            **params,
        }
        self._add("/tweets/search/recent", name, params)

    def graph(self):
        """The complete recorded graph: three pages of followers, one of following."""
        self.user()
        self.followers("followers_1")
        self.followers("followers_2", "FOLLOWERS_P2")
        self.followers("followers_3", "FOLLOWERS_P3")
        self.following("following_1")

    def paths(self) -> list[str]:
        return [call.request.url.removeprefix(API) for call in self.mock.calls]


@pytest.fixture
def x_settings(settings):
    return replace(settings, x_server_error_backoff_seconds=0)


@pytest.fixture
def x_api(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    # An in-process Airflow task (dag.test) leaves its context in os.environ.
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield RecordedXApi(mock)
