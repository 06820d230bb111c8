"""docker-compose.yml, Dockerfile and .env.example: what the pipeline relies on, without Docker."""

import ast
import re
from urllib.parse import urlsplit

import pytest

from deploy import compose

REPO = compose.REPO
SPEC = compose.load()
SERVICES = SPEC["services"]
AIRFLOW_SERVICES = sorted(name for name in SERVICES if name.startswith("airflow-"))
LONG_RUNNING = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
REQUIRED_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")


def writer_pool() -> str:
    """The pool name the DAG uses, read without importing Airflow."""
    tree = ast.parse((REPO / "dags" / "followback_daily.py").read_text())
    for node in tree.body:
        targets = [getattr(t, "id", None) for t in getattr(node, "targets", [])]
        if targets == ["WRITER_POOL"]:
            return node.value.value
    raise AssertionError("dags/followback_daily.py defines no WRITER_POOL")


def test_the_official_celery_topology():
    assert sorted(SERVICES) == sorted(
        ["postgres", "redis", "airflow-init", "airflow-cli", *LONG_RUNNING]
    )
    assert {name: compose.command(SPEC, name) for name in LONG_RUNNING} == {
        "airflow-apiserver": ["api-server"],
        "airflow-scheduler": ["scheduler"],
        "airflow-dag-processor": ["dag-processor"],
        "airflow-triggerer": ["triggerer"],
        "airflow-worker": ["celery", "worker"],
    }


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_has_an_image_or_a_build(service):
    spec = SERVICES[service]
    assert spec.get("image") or spec.get("build")


def test_airflow_services_are_built_from_this_repository():
    assert {SERVICES[name]["build"] for name in AIRFLOW_SERVICES} == {"."}
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^ARG AIRFLOW_VERSION=3\.3\.\d+$", dockerfile, re.M)
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}$", dockerfile, re.M)
    assert "--editable ." in dockerfile


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_every_airflow_service_runs_the_celery_executor_on_postgres_and_redis(service):
    env = compose.environment(SPEC, service, _placeholders())
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "postgres"
    assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    assert (
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    )


@pytest.mark.parametrize("service", ["airflow-scheduler", "airflow-worker"])
def test_the_data_volume_is_mounted_where_the_pipeline_writes(service):
    env = compose.environment(SPEC, service, _placeholders())
    mounts = compose.volumes(SPEC, service)
    assert mounts[env["FOLLOWBACK_DATA_DIR"]] == "./data"
    assert mounts["/opt/airflow/dags"] == "./dags"
    assert mounts["/opt/airflow/logs"] == "./logs"
    config_dir = env["FOLLOWBACK_CONFIG"].rsplit("/", 1)[0]
    assert mounts[config_dir] == "./config"


def test_the_init_service_creates_the_writer_pool_with_one_slot():
    assert writer_pool() == "duckdb_writer"
    [command] = compose.pool_commands(SPEC)
    assert command[:5] == ["airflow", "pools", "set", writer_pool(), "1"]


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_nothing_starts_before_the_init_service_has_succeeded(service):
    condition = SERVICES[service]["depends_on"]["airflow-init"]["condition"]
    assert condition == "service_completed_successfully"


def test_secrets_are_required_from_env_and_never_written_in_the_file():
    secret_settings, url_passwords = set(), {}
    for service, spec in SERVICES.items():
        for key, value in (spec.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert REQUIRED_REFERENCE.fullmatch(value), f"{service}: {key}={value}"
                secret_settings.add(key)
            if key.startswith("AIRFLOW_CONN_"):
                # Optional, so it may be empty, but only ever from .env.
                assert value == f"${{{key}:-}}", f"{service}: {key}={value}"
                secret_settings.add(key)
            if "://" in value:
                resolved = urlsplit(compose.interpolate(value, _placeholders()))
                url_passwords[(service, key)] = resolved.password
    assert secret_settings == {
        "POSTGRES_PASSWORD",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "_AIRFLOW_WWW_USER_PASSWORD",
        "AIRFLOW_CONN_X_API",
    }
    # The metadata DB and result backend URLs take their password from .env; the broker has none.
    assert set(url_passwords.values()) == {"<from .env>", "", None}
    assert {k for k, v in url_passwords.items() if v == "<from .env>"} == {
        (service, key)
        for service in AIRFLOW_SERVICES
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND")
    }


def test_env_example_names_every_required_variable_and_holds_no_secret():
    example = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    assert compose.required_variables() <= set(example)
    assert compose.required_variables() == {
        "POSTGRES_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_API_SECRET_KEY",
        "_AIRFLOW_WWW_USER_PASSWORD",
    }
    secrets = {
        name: value
        for name, value in example.items()
        if SECRET_NAME.search(name) or name.startswith("AIRFLOW_CONN_")
    }
    assert secrets == {
        "AIRFLOW_CONN_X_API": "",
        "POSTGRES_PASSWORD": "",
        "AIRFLOW_FERNET_KEY": "",
        "AIRFLOW_JWT_SECRET": "",
        "AIRFLOW_API_SECRET_KEY": "",
        "_AIRFLOW_WWW_USER_PASSWORD": "",
    }


def test_secrets_and_local_state_stay_out_of_the_image():
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {".env", ".env.*", "data/", "logs/"} <= set(ignored)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert not re.search(r"^(ENV|ARG)\s+\S*(PASSWORD|SECRET|FERNET|TOKEN|KEY)", dockerfile, re.M)
    copied = set()
    for line in dockerfile.splitlines():
        if line.startswith(("COPY", "ADD")):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            copied.update(words[:-1])
    assert copied == {"pyproject.toml", "README.md", "pipeline", "sql", "config"}


def _placeholders() -> dict[str, str]:
    return {name: "<from .env>" for name in compose.required_variables()}
