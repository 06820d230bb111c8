"""`make cluster-smoke`: the docker-compose.yml topology, run natively on this machine, end to end.

No Docker engine runs here, so this starts what the compose file describes as plain processes:
PostgreSQL and Redis (Debian packages, installed if missing), then `airflow db migrate` and the
init service's pool command, then the API server, scheduler, DAG processor, triggerer and two
Celery workers, each with its compose service's environment. Only where things live changes:
service host names become 127.0.0.1 with free ports, container paths become a temporary directory
(never the repository's data/), and every server binds to loopback.

It triggers followback_daily for one date and three simulated accounts, waits for success, shows
from the Airflow metadata DB that the extract tasks ran on both workers while the DuckDB writers
never overlapped, checks the warehouse tables have rows, and stops every process it started,
on success, failure, timeout or signal alike.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil
import psycopg2
import redis

from deploy import compose

DAG_ID = "followback_daily"
LOGICAL_DATE = "2026-01-01"
RUN_ID = f"cluster_smoke__{LOGICAL_DATE}"
ACCOUNTS = {"maya_writes": "organic", "growth_hacker": "autofollower", "acme_brand": "brand"}
WORKERS = ("worker1", "worker2")
EXTRACT_TASKS = ("account_day.extract_graph", "account_day.extract_timeline")
WRITER_TASKS = ("account_day.load", "account_day.transform")
WRITER_POOL = "duckdb_writer"
VENV_BIN = Path(sys.executable).parent
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
# Stopped in this order: the scheduler first so nothing new is queued, the API server after the
# workers because a worker finishing a task reports to it, the databases last.
STOP_ORDER = (
    "scheduler",
    "dag-processor",
    "triggerer",
    *WORKERS,
    "api-server",
    "redis",
    "postgres",
)


class SmokeFailure(RuntimeError):
    pass


STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


@dataclass
class Deadline:
    seconds: float
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.start + self.seconds - time.monotonic()

    def timeout(self, at_most: float) -> float:
        left = self.remaining()
        if left <= 0:
            raise SmokeFailure(f"the smoke ran past its {self.seconds:.0f} s deadline")
        return min(at_most, left)

    def wait_for(self, what: str, check, at_most: float, every: float = 1.0):
        """Poll check() until it returns something truthy, for at most at_most seconds."""
        give_up = time.monotonic() + self.timeout(at_most)
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() >= give_up:
                raise SmokeFailure(f"timed out waiting for {what}")
            time.sleep(every)


def run(argv: list[str], deadline: Deadline, at_most: float, **kwargs) -> None:
    limit = deadline.timeout(at_most)
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=limit,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"{' '.join(argv[:4])} took longer than {limit:.0f} s") from None
    if done.returncode != 0:
        raise SmokeFailure(
            f"{' '.join(argv)} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- PostgreSQL and Redis from Debian packages ----------------------------------------------------


def postgres_bin(name: str) -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    return found[-1] if found else None


@contextmanager
def services_not_started_by_apt():
    """Installing a Debian service package normally starts its system-wide daemon; the smoke runs
    its own instances on free ports, so apt is told (the standard policy-rc.d way) not to."""
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink()


def ensure_packages(deadline: Deadline) -> None:
    if postgres_bin("initdb") and shutil.which("redis-server"):
        return
    if os.geteuid() != 0:
        raise SmokeFailure(
            "PostgreSQL and Redis are missing: apt-get install postgresql redis-server"
        )
    log("installing postgresql and redis-server from Debian packages")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # A mirror that drops one download must not fail the whole check.
    retries = ["-o", "Acquire::Retries=3"]
    run(["apt-get", *retries, "update", "-q"], deadline, 240, env=apt_env)
    with services_not_started_by_apt():
        packages = ["postgresql", "redis-server"]
        run(
            ["apt-get", *retries, "install", "-y", "-q", "--no-install-recommends", *packages],
            deadline,
            300,
            env=apt_env,
        )
    if not (postgres_bin("initdb") and shutil.which("redis-server")):
        raise SmokeFailure(
            "apt-get installed postgresql and redis-server but their programs are missing"
        )


# --- Processes ---------------------------------------------------------------------------------


@dataclass
class Started:
    name: str
    process: subprocess.Popen
    log_path: Path
    stop_signal: int = signal.SIGTERM


class Cluster:
    """Every process the smoke starts, so that all of them, and only them, are stopped."""

    def __init__(self) -> None:
        self.started: dict[str, Started] = {}

    def start(self, name: str, argv: list[str], log_path: Path, env: dict, **kwargs) -> None:
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
        log_file.close()
        self.started[name] = Started(name, process, log_path)

    def check_alive(self) -> None:
        for item in self.started.values():
            if item.process.poll() is not None:
                raise SmokeFailure(
                    f"{item.name} exited with {item.process.returncode}; its log:\n"
                    + tail(item.log_path)
                )

    def pids(self) -> set[int]:
        found = set()
        for item in self.started.values():
            try:
                parent = psutil.Process(item.process.pid)
                found |= {parent.pid, *(child.pid for child in parent.children(recursive=True))}
            except psutil.NoSuchProcess:
                continue
        return found

    def sockets(self) -> list[tuple[str, str, str]]:
        """(service, local address, remote address or "listening") for every inet socket."""
        found = []
        for item in self.started.values():
            try:
                tree = [psutil.Process(item.process.pid)]
                tree += tree[0].children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for process in tree:
                try:
                    connections = process.net_connections(kind="inet")
                except psutil.NoSuchProcess:
                    continue
                for c in connections:
                    local = f"{c.laddr.ip}:{c.laddr.port}"
                    if c.status == psutil.CONN_LISTEN:
                        found.append((item.name, local, "listening"))
                    elif c.raddr:
                        found.append((item.name, local, f"{c.raddr.ip}:{c.raddr.port}"))
        return sorted(set(found))

    def stop(self, grace: float = 20.0) -> list[str]:
        """Stop everything, each service by its own shutdown signal, then whatever it left behind.

        Returns what was not clean: a service that needed SIGKILL, or left processes running.
        """
        unclean = []
        order = [n for n in STOP_ORDER if n in self.started] + [
            n for n in self.started if n not in STOP_ORDER
        ]
        for name in order:
            item = self.started[name]
            began = time.monotonic()
            try:
                root = psutil.Process(item.process.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            if item.process.poll() is None:
                item.process.send_signal(item.stop_signal)
            try:
                item.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                unclean.append(
                    f"{name} ignored {signal.Signals(item.stop_signal).name} for {grace:.0f} s"
                )
            _, alive = psutil.wait_procs(tree, timeout=5)
            if alive:
                unclean.append(f"{name} left {len(alive)} processes")
                for process in alive:
                    with suppress(psutil.NoSuchProcess):
                        process.terminate()
                _, alive = psutil.wait_procs(alive, timeout=5)
                for process in alive:
                    with suppress(psutil.NoSuchProcess):
                        process.kill()
            item.process.kill()
            item.process.wait(timeout=10)
            log(
                f"stopped {name} in {time.monotonic() - began:.1f} s "
                f"(exit code {item.process.returncode})"
            )
        return unclean


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- The topology ------------------------------------------------------------------------------


def generated_secrets() -> dict[str, str]:
    """A fresh value for every variable compose requires from .env, as a user would create them."""
    values = {}
    for name in compose.required_variables():
        if "FERNET" in name:
            values[name] = base64.urlsafe_b64encode(os.urandom(32)).decode()
        else:
            values[name] = secrets.token_urlsafe(24)
    return values


@dataclass
class Layout:
    root: Path
    pg_dir: Path
    airflow_home: Path
    paths: dict[str, Path]
    addresses: dict[str, int]
    health_port: int

    @property
    def data_dir(self) -> Path:
        return self.paths["/opt/airflow/data"]


def make_layout(spec: dict, root: Path, pg_dir: Path) -> Layout:
    paths = {"/opt/airflow": root / "airflow"}
    for target, source in compose.volumes(spec, "airflow-scheduler").items():
        # DAG code is read from the repository; every other mount is state and goes to the
        # temporary directory, so the smoke never writes into the checkout.
        paths[target] = (
            compose.REPO / source if source == "./dags" else root / Path(source).name
        ).resolve()
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    config = paths["/opt/followback/config"] / "accounts.yml"
    config.write_text(
        "accounts:\n"
        + "".join(
            f"  - {{handle: {h}, source: simulated, persona: {p}}}\n" for h, p in ACCOUNTS.items()
        )
    )
    addresses = {
        "postgres:5432": free_port(),
        "redis:6379": free_port(),
        "airflow-apiserver:8080": free_port(),
    }
    return Layout(root, pg_dir, paths["/opt/airflow"], paths, addresses, free_port())


def service_env(spec: dict, service: str, layout: Layout, variables: dict) -> dict[str, str]:
    # The caller's Airflow or Followback settings must not leak into the cluster.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "_AIRFLOW", "FOLLOWBACK_", "PYTHONPATH"))
    }
    env = compose.localize(
        compose.environment(spec, service, variables), layout.addresses, layout.paths
    )
    for key, value in env.items():
        if "://" in value and "@127.0.0.1:" not in value and "//127.0.0.1:" not in value:
            raise SmokeFailure(
                f"{service}: {key} points at something the smoke does not stand in for"
            )
    env.update(
        AIRFLOW_HOME=str(layout.airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(layout.paths["/opt/airflow/dags"]),
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(layout.paths["/opt/airflow/logs"]),
        # Only the triggered date runs: unpausing must not also schedule yesterday's interval.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST="127.0.0.1",
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(layout.health_port),
    )
    return {**inherited, **env}


@dataclass
class MetadataDB:
    port: int
    user: str
    password: str
    database: str

    def query(self, sql: str, parameters: tuple = ()) -> list[dict]:
        con = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            connect_timeout=5,
        )
        try:
            with con.cursor() as cursor:
                cursor.execute(sql, parameters)
                columns = [c.name for c in cursor.description]
                return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()


def start_databases(
    cluster: Cluster, spec: dict, layout: Layout, variables: dict, deadline: Deadline
):
    pg = compose.environment(spec, "postgres", variables)
    user, password, database = pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]
    # initdb and postgres refuse to run as root.
    as_postgres = (
        {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
    )
    if as_postgres:
        shutil.chown(layout.pg_dir, "postgres", "postgres")
    password_file = layout.pg_dir / "password"
    password_file.write_text(password)
    password_file.chmod(0o600)
    if as_postgres:
        shutil.chown(password_file, "postgres", "postgres")
    run(
        [
            str(postgres_bin("initdb")),
            "-D",
            str(layout.pg_dir / "data"),
            "-U",
            user,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            # The one UTF-8 locale every Debian system has, whatever LANG the caller set.
            "--locale=C.UTF-8",
            "--encoding=UTF8",
            "--no-sync",
        ],
        deadline,
        120,
        cwd=layout.pg_dir,
        **as_postgres,
    )
    password_file.unlink()
    pg_port = layout.addresses["postgres:5432"]
    cluster.start(
        "postgres",
        [
            str(postgres_bin("postgres")),
            "-D",
            str(layout.pg_dir / "data"),
            "-p",
            str(pg_port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={layout.pg_dir}",
            # A throwaway cluster: durability only costs time here.
            "-c",
            "fsync=off",
        ],
        layout.root / "postgres.log",
        dict(os.environ),
        cwd=layout.pg_dir,
        **as_postgres,
    )
    # postgres treats SIGINT as "fast shutdown": roll back and stop without waiting for clients.
    cluster.started["postgres"].stop_signal = signal.SIGINT
    redis_port = layout.addresses["redis:6379"]
    redis_dir = layout.root / "redis"
    redis_dir.mkdir()
    cluster.start(
        "redis",
        [
            shutil.which("redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(redis_dir),
        ],
        layout.root / "redis.log",
        dict(os.environ),
    )

    def postgres_ready():
        cluster.check_alive()
        try:
            return psycopg2.connect(
                host="127.0.0.1",
                port=pg_port,
                user=user,
                password=password,
                dbname="postgres",
                connect_timeout=2,
            )
        except psycopg2.OperationalError:
            return None

    con = deadline.wait_for("PostgreSQL", postgres_ready, 60, every=0.5)
    con.autocommit = True
    with con.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    con.close()

    def redis_ready():
        cluster.check_alive()
        try:
            return redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=2).ping()
        except redis.ConnectionError:
            return False

    deadline.wait_for("Redis", redis_ready, 30, every=0.5)
    return MetadataDB(pg_port, user, password, database)


def start_airflow(cluster: Cluster, spec: dict, layout: Layout, variables: dict) -> None:
    airflow = str(VENV_BIN / "airflow")
    api_port = layout.addresses["airflow-apiserver:8080"]
    extra = {
        "airflow-apiserver": ["--host", "127.0.0.1", "--port", str(api_port)],
        # Task logs are files on this one machine, so no log server is needed (nor another port).
        "airflow-triggerer": ["--skip-serve-logs"],
    }
    names = {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    for service, name in names.items():
        argv = [airflow, *compose.command(spec, service), *extra.get(service, [])]
        cluster.start(
            name, argv, layout.root / f"{name}.log", service_env(spec, service, layout, variables)
        )
    for worker in WORKERS:
        env = service_env(spec, "airflow-worker", layout, variables)
        env.update(
            FOLLOWBACK_SMOKE_WORKER=worker,
            AIRFLOW__CORE__HOSTNAME_CALLABLE="deploy.worker_name.worker_hostname",
            PYTHONPATH=str(compose.REPO),
        )
        # Two task slots per worker (the default, 16, is for bigger machines). Airflow's Celery
        # settings let a worker hold only as many tasks as it has slots, so the six extract tasks,
        # queued at once, cannot all go to one worker; and each worker keeps a slot free while
        # the other finishes the run's first task.
        argv = [
            airflow,
            *compose.command(spec, "airflow-worker"),
            "--celery-hostname",
            f"{worker}@{socket.gethostname()}",
            "--concurrency",
            "2",
            "--skip-serve-logs",
        ]
        cluster.start(worker, argv, layout.root / f"{worker}.log", env)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_ready(
    cluster: Cluster, spec: dict, layout: Layout, variables: dict, deadline: Deadline
):
    api = f"http://127.0.0.1:{layout.addresses['airflow-apiserver:8080']}/api/v2/version"
    health = f"http://127.0.0.1:{layout.health_port}/health"
    deadline.wait_for("the API server", lambda: cluster.check_alive() or http_ok(api), 180)
    log("api-server answers")
    deadline.wait_for("the scheduler", lambda: cluster.check_alive() or http_ok(health), 120)
    log("scheduler healthy")
    env = service_env(spec, "airflow-worker", layout, variables)
    for worker in WORKERS:
        name = f"{worker}@{socket.gethostname()}"

        def pong(name=name):
            cluster.check_alive()
            try:
                out = subprocess.run(
                    [
                        str(VENV_BIN / "celery"),
                        "--app",
                        CELERY_APP,
                        "inspect",
                        "ping",
                        "-d",
                        name,
                        "--timeout",
                        "3",
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                return False
            return out.returncode == 0 and name in out.stdout

        deadline.wait_for(f"Celery {name}", pong, 180, every=2)
        log(f"celery {name} answers ping")


# --- The run and what it shows ---------------------------------------------------------------


def wait_for_dag(db: MetadataDB, cluster: Cluster, deadline: Deadline) -> None:
    def parsed():
        cluster.check_alive()
        errors = db.query("SELECT filename, stacktrace FROM import_error")
        if errors:
            raise SmokeFailure(
                f"the DAG processor could not import {errors[0]['filename']}:\n"
                + errors[0]["stacktrace"]
            )
        return db.query("SELECT dag_id FROM dag WHERE dag_id = %s", (DAG_ID,))

    deadline.wait_for(f"{DAG_ID} to be parsed", parsed, 180)


def wait_for_run(db: MetadataDB, cluster: Cluster, layout: Layout, deadline: Deadline) -> str:
    def finished():
        cluster.check_alive()
        check_loopback(cluster, quiet=True)
        # Simulated accounts and a one-slot writer pool leave nothing to retry: the first failed
        # attempt is a bug, and waiting out its retries' backoff would only delay the report.
        failed = db.query(
            "SELECT task_id, map_index, try_number FROM task_instance WHERE dag_id = %s "
            "AND run_id = %s AND state IN ('up_for_retry', 'failed', 'upstream_failed')",
            (DAG_ID, RUN_ID),
        )
        if failed:
            raise SmokeFailure(
                "task failed: " + "\n".join(task_errors(layout, ti) for ti in failed)
            )
        rows = db.query(
            "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (DAG_ID, RUN_ID)
        )
        return rows[0]["state"] if rows and rows[0]["state"] in ("success", "failed") else None

    return deadline.wait_for(f"run {RUN_ID} to finish", finished, 420, every=2)


def task_errors(layout: Layout, ti: dict) -> str:
    """The error lines of a task attempt's log, where Airflow writes them."""
    task_dir = (
        layout.paths["/opt/airflow/logs"]
        / f"dag_id={DAG_ID}"
        / f"run_id={RUN_ID}"
        / f"task_id={ti['task_id']}"
    )
    if ti["map_index"] >= 0:
        task_dir /= f"map_index={ti['map_index']}"
    attempts = sorted(task_dir.glob("attempt=*.log"))
    errors = [
        line[:1500]
        for line in (attempts[-1].read_text(errors="replace").splitlines() if attempts else [])
        if '"level":"error"' in line
    ]
    return f"{ti['task_id']}[{ti['map_index']}] ({task_dir}):\n" + "\n".join(errors)


def task_instances(db: MetadataDB) -> list[dict]:
    return db.query(
        """
        SELECT task_id, map_index, state, hostname, pool, start_date, end_date, try_number
        FROM task_instance WHERE dag_id = %s AND run_id = %s
        ORDER BY start_date, task_id, map_index
        """,
        (DAG_ID, RUN_ID),
    )


def show(instances: list[dict]) -> None:
    """The run's task instances, with start and end in seconds after the first one started."""
    first = min((ti["start_date"] for ti in instances if ti["start_date"]), default=None)

    def offset(moment) -> str:
        return f"{(moment - first).total_seconds():7.1f}" if moment else f"{'-':>7}"

    print(f"{'task':30} {'map':>3} {'state':8} {'worker':8} {'start':>7} {'end':>7}  pool")
    for ti in instances:
        print(
            f"{ti['task_id']:30} {ti['map_index']:>3} {ti['state'] or '-':8} "
            f"{ti['hostname'] or '-':8} {offset(ti['start_date'])} {offset(ti['end_date'])}  "
            f"{ti['pool']}"
        )


def check_run(state: str, instances: list[dict]) -> None:
    failed = [
        f"{ti['task_id']}[{ti['map_index']}]={ti['state']}"
        for ti in instances
        if ti["state"] != "success"
    ]
    if state != "success" or failed:
        raise SmokeFailure(
            f"run {RUN_ID} ended {state}; not successful: {', '.join(failed) or 'none'}"
        )

    extracts = [ti for ti in instances if ti["task_id"] in EXTRACT_TASKS]
    if len(extracts) != len(ACCOUNTS) * len(EXTRACT_TASKS):
        raise SmokeFailure(f"expected {len(ACCOUNTS) * 2} extract tasks, found {len(extracts)}")
    extract_workers = {ti["hostname"] for ti in extracts}
    if extract_workers != set(WORKERS):
        raise SmokeFailure(f"extract tasks ran on {sorted(extract_workers)}, not on both {WORKERS}")
    per_worker = {w: sum(ti["hostname"] == w for ti in extracts) for w in WORKERS}
    log(f"extract tasks per worker: {per_worker}")

    loads = [ti for ti in instances if ti["task_id"] in WRITER_TASKS]
    if len(loads) != len(ACCOUNTS) * len(WRITER_TASKS):
        raise SmokeFailure(f"expected {len(ACCOUNTS) * 2} load/transform tasks, found {len(loads)}")
    if {ti["pool"] for ti in loads} != {WRITER_POOL}:
        raise SmokeFailure(f"load/transform ran in pools {sorted({ti['pool'] for ti in loads})}")
    # Every task in the writer pool opens the DuckDB file for writing, not only load and transform.
    writers = sorted(
        (ti for ti in instances if ti["pool"] == WRITER_POOL), key=lambda ti: ti["start_date"]
    )
    for before, after in zip(writers, writers[1:], strict=False):
        if after["start_date"] < before["end_date"]:
            raise SmokeFailure(
                f"DuckDB writers overlapped: {after['task_id']}[{after['map_index']}] started "
                f"before {before['task_id']}[{before['map_index']}] ended"
            )
    gaps = [
        (b["start_date"] - a["end_date"]).total_seconds()
        for a, b in zip(writers, writers[1:], strict=False)
    ]
    log(
        f"{len(writers)} DuckDB writing tasks ran one at a time, "
        f"on {sorted({ti['hostname'] for ti in writers})} "
        f"(smallest gap between one ending and the next starting: {min(gaps):.2f} s)"
    )


def check_warehouse(data_dir: Path) -> None:
    db_path = data_dir / "followback.duckdb"
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            """
            SELECT accounts.handle,
                (SELECT count(*) FROM meta.snapshots AS s
                 WHERE s.account_id = accounts.account_id AND s.snapshot_date = ?::DATE),
                (SELECT count(*) FROM raw.follower_snapshot AS r
                 WHERE r.account_id = accounts.account_id),
                (SELECT count(*) FROM core.follow_edges AS e
                 WHERE e.account_id = accounts.account_id)
            FROM meta.accounts AS accounts ORDER BY accounts.handle
            """,
            [LOGICAL_DATE],
        ).fetchall()
    print(f"{'account':15} {'snapshots':>9} {'followers':>9} {'edges':>7}   ({db_path})")
    for handle, snapshots, followers, edges in rows:
        print(f"{handle:15} {snapshots:9} {followers:9} {edges:7}")
    if sorted(r[0] for r in rows) != sorted(ACCOUNTS):
        raise SmokeFailure(
            f"the warehouse has accounts {[r[0] for r in rows]}, expected {sorted(ACCOUNTS)}"
        )
    empty = [r[0] for r in rows if min(r[1:]) == 0]
    if empty:
        raise SmokeFailure(
            f"no rows for {empty} in meta.snapshots, raw.follower_snapshot or core.follow_edges"
        )


def check_loopback(cluster: Cluster, quiet: bool = False) -> None:
    """Every socket of every process the smoke started is on loopback, at both ends."""
    sockets = cluster.sockets()
    beyond = [
        s
        for s in sockets
        for address in s[1:]
        if address != "listening"
        and not ipaddress.ip_address(address.rsplit(":", 1)[0]).is_loopback
    ]
    if beyond:
        raise SmokeFailure(f"sockets beyond loopback: {beyond}")
    if not quiet:
        listening = [f"{name} {local}" for name, local, remote in sockets if remote == "listening"]
        log(f"all {len(sockets)} sockets on loopback; listening: {', '.join(listening)}")


# --- Main --------------------------------------------------------------------------------------


def smoke(cluster: Cluster, layout: Layout, deadline: Deadline) -> None:
    spec = compose.load()
    variables = generated_secrets()
    db = start_databases(cluster, spec, layout, variables, deadline)
    log(
        f"postgres on 127.0.0.1:{layout.addresses['postgres:5432']}, "
        f"redis on 127.0.0.1:{layout.addresses['redis:6379']}"
    )

    init_env = service_env(spec, "airflow-init", layout, variables)
    airflow = str(VENV_BIN / "airflow")
    run([airflow, "db", "migrate"], deadline, 240, env=init_env)
    for pool_command in compose.pool_commands(spec):
        run([airflow, *pool_command[1:]], deadline, 60, env=init_env)
    pool = db.query("SELECT pool, slots FROM slot_pool WHERE pool = %s", (WRITER_POOL,))
    if pool != [{"pool": WRITER_POOL, "slots": 1}]:
        raise SmokeFailure(
            f"the init service's commands left pool {WRITER_POOL} as {pool}, not 1 slot"
        )
    log(f"metadata DB migrated; the init service's commands created pool {WRITER_POOL} with 1 slot")

    start_airflow(cluster, spec, layout, variables)
    log("started " + ", ".join(n for n in cluster.started if n not in ("postgres", "redis")))
    wait_for_dag(db, cluster, deadline)
    log(f"{DAG_ID} parsed by the dag-processor")
    wait_until_ready(cluster, spec, layout, variables, deadline)
    check_loopback(cluster)

    cli_env = service_env(spec, "airflow-scheduler", layout, variables)
    run([airflow, "dags", "unpause", DAG_ID], deadline, 60, env=cli_env)
    run(
        [
            airflow,
            "dags",
            "trigger",
            DAG_ID,
            "--logical-date",
            f"{LOGICAL_DATE}T00:00:00+00:00",
            "--run-id",
            RUN_ID,
        ],
        deadline,
        60,
        env=cli_env,
    )
    triggered = time.monotonic()
    log(f"triggered {RUN_ID} for {len(ACCOUNTS)} simulated accounts: {', '.join(ACCOUNTS)}")
    state = wait_for_run(db, cluster, layout, deadline)
    log(f"run {state} after {time.monotonic() - triggered:.1f} s")
    instances = task_instances(db)
    show(instances)
    check_run(state, instances)
    check_warehouse(layout.data_dir)
    check_loopback(cluster)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--deadline", type=float, default=540, help="Give up after this many seconds."
    )
    args = parser.parse_args()

    def interrupted(signum, _frame):
        raise SmokeFailure(f"stopped by signal {signal.Signals(signum).name}")

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, interrupted)

    deadline = Deadline(args.deadline)
    cluster = Cluster()
    root = Path(tempfile.mkdtemp(prefix="followback-cluster-"))
    pg_dir = Path(tempfile.mkdtemp(prefix="followback-cluster-pg-"))
    passed = False
    try:
        ensure_packages(deadline)
        layout = make_layout(compose.load(), root, pg_dir)
        log(f"working in {root} (data: {layout.data_dir}), PostgreSQL cluster in {pg_dir}")
        smoke(cluster, layout, deadline)
        passed = True
    except SmokeFailure as error:
        print(f"cluster smoke FAILED: {error}", file=sys.stderr, flush=True)
        for item in cluster.started.values():
            print(
                f"--- {item.name} ({item.log_path}), last lines ---\n{tail(item.log_path, 25)}",
                file=sys.stderr,
            )
    finally:
        # A second signal must not cut the shutdown short.
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        pids = cluster.pids()
        log(f"stopping {len(cluster.started)} services ({len(pids)} processes)")
        unclean = cluster.stop()
        left = sorted(pid for pid in pids if running(pid))
        if unclean or left:
            print(f"unclean shutdown: {'; '.join(unclean)}; still running: {left}", file=sys.stderr)
            passed = False
        else:
            log(f"all {len(pids)} processes stopped cleanly")
        if passed:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(pg_dir, ignore_errors=True)
        else:
            print(f"logs and state kept in {root} and {pg_dir}", file=sys.stderr)
    log(f"cluster smoke {'passed' if passed else 'FAILED'} in {time.monotonic() - STARTED:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
