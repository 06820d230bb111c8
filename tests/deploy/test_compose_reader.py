"""deploy.compose: reading the compose file as docker compose does, and moving it onto loopback."""

from pathlib import Path

import pytest

from deploy import compose


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("${MISSING}", ""),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${A:-fallback}", "a"),
        ("$A/$${HOSTNAME}", "a/${HOSTNAME}"),
        ("user:${A:?set A}@host", "user:a@host"),
    ],
)
def test_interpolate(text, expected):
    assert compose.interpolate(text, {"A": "a", "EMPTY": ""}) == expected


@pytest.mark.parametrize("text", ["${MISSING:?set it in .env}", "${EMPTY:?set it}"])
def test_interpolate_refuses_a_missing_required_variable(text):
    with pytest.raises(compose.ComposeError, match="set it"):
        compose.interpolate(text, {"EMPTY": ""})


def test_required_variables_ignore_escaped_and_defaulted_ones(tmp_path):
    path = tmp_path / "compose.yml"
    path.write_text("a: ${ONE:?x}\nb: ${TWO?y}\nc: ${THREE:-z}\nd: $${FOUR:?w}\ne: ${ONE:?x}\n")
    assert compose.required_variables(path) == {"ONE", "TWO"}


def test_localize_moves_service_addresses_and_container_paths():
    env = {
        "SQL": "postgresql+psycopg2://airflow:pw@postgres/airflow",
        "RESULTS": "db+postgresql://airflow:pw@postgres:5432/airflow",
        "BROKER": "redis://:@redis:6379/0",
        "API": "http://airflow-apiserver:8080/execution/",
        "ELSEWHERE": "https://example.org/x",
        "DATA": "/opt/airflow/data",
        "CONFIG": "/opt/followback/config/accounts.yml",
        "AIRFLOW_FILE": "/opt/airflow/airflow.cfg",
        "PLAIN": "CeleryExecutor",
    }
    addresses = {"postgres:5432": 15432, "redis:6379": 16379, "airflow-apiserver:8080": 18080}
    paths = {
        "/opt/airflow": Path("/tmp/x/airflow"),
        "/opt/airflow/data": Path("/tmp/x/data"),
        "/opt/followback/config": Path("/tmp/x/config"),
    }
    assert compose.localize(env, addresses, paths) == {
        "SQL": "postgresql+psycopg2://airflow:pw@127.0.0.1:15432/airflow",
        "RESULTS": "db+postgresql://airflow:pw@127.0.0.1:15432/airflow",
        "BROKER": "redis://:@127.0.0.1:16379/0",
        "API": "http://127.0.0.1:18080/execution/",
        "ELSEWHERE": "https://example.org/x",
        "DATA": "/tmp/x/data",
        "CONFIG": "/tmp/x/config/accounts.yml",
        "AIRFLOW_FILE": "/tmp/x/airflow/airflow.cfg",
        "PLAIN": "CeleryExecutor",
    }


def test_pool_commands_are_read_from_the_init_script():
    spec = {
        "services": {
            "airflow-init": {
                "command": [
                    "-c",
                    'set -e\nmkdir -p /x\n/entrypoint airflow pools set p 1 "one writer"\n'
                    "airflow pools set q 2 two  # a comment\n",
                ]
            }
        }
    }
    assert compose.pool_commands(spec) == [
        ["airflow", "pools", "set", "p", "1", "one writer"],
        ["airflow", "pools", "set", "q", "2", "two"],
    ]
