"""Publish: after a successful run, a read-only copy of the analyst tables for dashboards.

Dashboards and BI tools read the published copy, never the warehouse, so they never hold the
warehouse's file lock against the pipeline, and they never see a half-written run:

    data/published/
      current -> versions/<id>                      swapped in one rename
      marts -> current/marts                         stable paths for readers
      followback.duckdb -> current/followback.duckdb
      versions/<id>/marts/<table>/account=<handle>/data.parquet
      versions/<id>/followback.duckdb                core, mart, handles and tweets, with comments

A version is built under versions/.building-<id>, renamed into place, and only then pointed to by
`current`. The previous version is kept, so a query that opened it just before the swap can
finish reading it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline import landing
from pipeline.catalog import Relation, read_catalog
from pipeline.config import Config, Settings, load_config
from pipeline.warehouse import WarehouseLockedError

# BI connectors still on DuckDB 1.4 cannot open files in 2.0's default storage format.
STORAGE_VERSION = "v1.4.0"
PUBLISHED_SCHEMAS = ("core", "mart")
# Handles, and the tweets' text for the questions in the marts.
PUBLISHED_EXTRA = ("meta.accounts", "staging.stg_tweets")
KEEP_VERSIONS = 2
_BUILDING = ".building-"


@dataclass(frozen=True)
class Publication:
    version: str
    path: Path
    tables: int
    parquet_files: int


def published_dir(settings: Settings) -> Path:
    return settings.data_dir / "published"


def published_db(settings: Settings) -> Path:
    return published_dir(settings) / "followback.duckdb"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _attach_warehouse(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    path = Path(settings.db_path)
    if not path.exists():
        raise FileNotFoundError(f"No warehouse at {path}: run `followback demo` or a load first.")
    try:
        con.execute(f"ATTACH {_literal(str(path))} AS warehouse (READ_ONLY)")
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        raise WarehouseLockedError(
            f"The warehouse {path} is being written ({error}). Publish after the load and "
            "transform have finished; in Airflow it shares their duckdb_writer pool."
        ) from error


def _copy_database(con: duckdb.DuckDBPyConnection, target: Path, relations: list[Relation]) -> None:
    con.execute(
        f"ATTACH {_literal(str(target))} AS published (STORAGE_VERSION '{STORAGE_VERSION}')"
    )
    for relation in relations:
        name = f"published.{relation.qualified_name}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS published.{relation.schema}")
        # Views become tables: the copy has no raw tables for them to read from.
        con.execute(f"CREATE TABLE {name} AS FROM warehouse.{relation.qualified_name}")
        if relation.comment:
            con.execute(f"COMMENT ON TABLE {name} IS {_literal(relation.comment)}")
        for column in relation.columns:
            if column.comment:
                con.execute(f"COMMENT ON COLUMN {name}.{column.name} IS {_literal(column.comment)}")
    con.execute("DETACH published")


def _export_marts(con: duckdb.DuckDBPyConnection, target: Path, marts: list[Relation]) -> int:
    """One Parquet file per mart and account, empty ones included, so every reader finds its file
    and its schema."""
    target.mkdir()
    accounts = con.execute("SELECT account_id, handle FROM warehouse.meta.accounts").fetchall()
    files = 0
    for mart in marts:
        for account_id, handle in accounts:
            directory = target / mart.name / f"account={handle}"
            directory.mkdir(parents=True)
            con.execute(
                f"COPY (FROM warehouse.{mart.qualified_name} WHERE account_id = {int(account_id)}) "
                f"TO {_literal(str(directory / 'data.parquet'))} (FORMAT parquet)"
            )
            files += 1
    return files


def _ensure_link(link: Path, target: str) -> None:
    if not link.is_symlink():
        link.symlink_to(target)


def _swap_current(root: Path, version: str) -> None:
    staged = root / f".current-{version}"
    staged.symlink_to(Path("versions") / version)
    os.replace(staged, root / "current")
    _ensure_link(root / "marts", "current/marts")
    _ensure_link(root / "followback.duckdb", "current/followback.duckdb")


def _prune(versions: Path) -> None:
    for leftover in versions.glob(f"{_BUILDING}*"):
        shutil.rmtree(leftover)
    for old in sorted(p for p in versions.iterdir() if p.is_dir())[:-KEEP_VERSIONS]:
        shutil.rmtree(old)


def _build(settings: Settings, building: Path) -> tuple[list[Relation], int]:
    con = duckdb.connect()
    try:
        _attach_warehouse(con, settings)
        con.execute("USE warehouse")
        relations = read_catalog(con, PUBLISHED_SCHEMAS) + [
            r for r in read_catalog(con) if r.qualified_name in PUBLISHED_EXTRA
        ]
        con.execute("USE memory")
        _copy_database(con, building / "followback.duckdb", relations)
        marts = [r for r in relations if r.schema == "mart"]
        files = _export_marts(con, building / "marts", marts)
    finally:
        con.close()
    # Read-only on disk too: a BI tool that tries to open the copy read-write fails instead of
    # writing to it.
    for path in building.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    return relations, files


def publish(settings: Settings) -> Publication:
    """Copy the warehouse's marts to Parquet and its analyst tables to a DuckDB file; swap in."""
    root = published_dir(settings)
    versions = root / "versions"
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    # One publisher at a time, so a leftover build directory is known to be a crashed one.
    with landing.file_lock(root / ".publish.lock"):
        versions.mkdir(exist_ok=True)
        _prune(versions)
        building = versions / f"{_BUILDING}{version}"
        building.mkdir()
        try:
            relations, files = _build(settings, building)
        except BaseException:
            shutil.rmtree(building)
            raise
        building.rename(versions / version)
        _swap_current(root, version)
        _prune(versions)
    return Publication(version=version, path=root, tables=len(relations), parquet_files=files)


def publish_step(config: Config | None = None) -> dict:
    """The DAG's last task: JSON-serialisable, like the steps in pipeline.run."""
    config = config or load_config()
    publication = publish(config.settings)
    return {
        "version": publication.version,
        "path": str(publication.path),
        "tables": publication.tables,
        "parquet_files": publication.parquet_files,
    }
