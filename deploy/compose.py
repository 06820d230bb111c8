"""Reads docker-compose.yml the way `docker compose` does, for the cluster smoke and its tests.

The smoke runs the compose topology without a Docker engine, so it takes each service's settings
from the compose file itself and only moves them onto this machine: service host names become
127.0.0.1 with a free port, and container paths become directories on the host.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME, and $$ for "$".
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_DEFAULT_PORTS = {"postgresql": 5432, "redis": 6379, "http": 80, "https": 443}


class ComposeError(ValueError):
    """The compose file or the variables given for it are incomplete."""


def load(path: Path = COMPOSE_FILE) -> dict:
    # The safe loader resolves YAML anchors and `<<` merge keys, as compose does.
    return yaml.safe_load(Path(path).read_text())


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"]
        value = variables.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in ("-", ":-"):
            return arg if missing else value
        if op in ("?", ":?"):
            if missing:
                raise ComposeError(f"{name}: {arg or 'required'}")
            return value
        return value or ""

    return _VARIABLE.sub(substitute, value)


def required_variables(path: Path = COMPOSE_FILE) -> set[str]:
    """Variables the file refuses to run without (${NAME:?...})."""
    return {
        m["braced"] for m in _VARIABLE.finditer(Path(path).read_text()) if m["op"] in ("?", ":?")
    }


def environment(compose: dict, service: str, variables: Mapping[str, str]) -> dict[str, str]:
    raw = compose["services"][service].get("environment") or {}
    return {key: interpolate(str(value), variables) for key, value in raw.items()}


def volumes(compose: dict, service: str) -> dict[str, str]:
    """Container path -> source, for the service's bind mounts."""
    mounts = {}
    for volume in compose["services"][service].get("volumes") or []:
        source, target = volume.split(":")[:2]
        mounts[target] = source
    return mounts


def command(compose: dict, service: str) -> list[str]:
    value = compose["services"][service]["command"]
    return shlex.split(value) if isinstance(value, str) else list(value)


def pool_commands(compose: dict, service: str = "airflow-init") -> list[list[str]]:
    """The `airflow pools ...` commands of the init service's script, as argument lists."""
    script = command(compose, service)[-1]
    found = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        for start in range(len(words) - 1):
            if words[start : start + 2] == ["airflow", "pools"]:
                found.append(words[start:])
                break
    return found


def localize(
    env: Mapping[str, str], addresses: Mapping[str, int], paths: Mapping[str, Path]
) -> dict[str, str]:
    """Point a service's settings at this machine.

    addresses maps "service:container_port" to the loopback port that stands in for it; paths maps
    a container directory to the host directory that stands in for it.
    """
    local = {}
    for key, value in env.items():
        local[key] = _local_path(_local_url(value, addresses), paths)
    return local


def _local_url(value: str, addresses: Mapping[str, int]) -> str:
    if "://" not in value:
        return value
    parts = urlsplit(value)
    if not parts.hostname:
        return value
    # "postgresql+psycopg2" and "db+postgresql" both name the protocol among their parts.
    defaults = [_DEFAULT_PORTS[p] for p in parts.scheme.split("+") if p in _DEFAULT_PORTS]
    port = parts.port or (defaults[0] if defaults else None)
    local_port = addresses.get(f"{parts.hostname}:{port}")
    if local_port is None:
        return value
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (
        f"{userinfo}@127.0.0.1:{local_port}" if "@" in parts.netloc else f"127.0.0.1:{local_port}"
    )
    return urlunsplit(parts._replace(netloc=netloc))


def _local_path(value: str, paths: Mapping[str, Path]) -> str:
    for container in sorted(paths, key=len, reverse=True):
        if value == container or value.startswith(container.rstrip("/") + "/"):
            return str(paths[container]) + value[len(container.rstrip("/")) :]
    return value
