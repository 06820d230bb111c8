"""Transform: run the SQL models in sql/ in their declared order (sql/models.yml).

Each model file is one SELECT with a header of `-- key: value` lines:
  model         the table or view it builds (schema.name)
  materialized  view | incremental
  replace_where incremental only: which of an account's rows the SELECT recomputes
  grain, definition, and `column <name>: <doc>` lines become COMMENT ON statements.

An incremental model is built per account. Its SELECT sees $account_id, $cutoff (rows after
this date may change) and every setting by name ($churn_window_days, ...). The runner deletes the
account's rows matching replace_where and inserts the SELECT's rows, so a daily run recomputes
only what the new date can change, and a run with the earliest cutoff is a full rebuild.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb
import yaml

from pipeline import retention
from pipeline.config import Settings
from pipeline.warehouse import SQL_DIR, bind, transaction

FULL_REBUILD_CUTOFF = date(1970, 1, 1)
# Raw retention compacts once core.follow_edges agrees with every loaded date (it reads dropped
# lists back from there), and before the marts: mart.churners, which needs only the profiles that
# compaction keeps, then reads those of the day that left the raw window instead of all of that
# day's (0.05-0.1 s less a day at 10M followers).
_COMPACTS_AFTER = "core.follow_edges"
_HEADER = re.compile(r"^--\s*(column\s+\w+|[a-z_]+):\s*(.*)$")


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    materialized: str
    select: str
    replace_where: str | None = None
    grain: str = ""
    definition: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    # `-- join_sides: as written`: each semi, anti and outer join builds its hash table on its
    # right side. DuckDB otherwise picks the side from its row estimates, which can be off by
    # 100x for the few changed users of a big account: it then hashes 20M rows instead of 30k.
    joins_as_written: bool = False

    @property
    def description(self) -> str:
        return " ".join(
            p for p in (f"Grain: {self.grain}." if self.grain else "", self.definition) if p
        )


def parse_model(path: Path) -> Model:
    header: dict[str, str] = {}
    columns: dict[str, str] = {}
    body: list[str] = []
    last_key = None
    for line in path.read_text().splitlines():
        match = _HEADER.match(line) if not body else None
        if match:
            key, value = match.groups()
            if key.startswith("column"):
                last_key = ("column", key.split()[1])
                columns[last_key[1]] = value.strip()
            else:
                last_key = ("header", key)
                header[key] = value.strip()
        elif not body and line.startswith("--   ") and last_key:
            # An indented comment line continues the previous header value.
            kind, key = last_key
            target = columns if kind == "column" else header
            target[key] = f"{target[key]} {line[2:].strip()}"
        elif line.strip() or body:
            body.append(line)
    for required in ("model", "materialized"):
        if required not in header:
            raise ValueError(f"{path}: the header needs a '-- {required}:' line.")
    if header["materialized"] not in ("view", "incremental"):
        raise ValueError(f"{path}: materialized must be view or incremental.")
    if header["materialized"] == "incremental" and "replace_where" not in header:
        raise ValueError(f"{path}: an incremental model needs '-- replace_where:'.")
    if header.get("join_sides", "as written") != "as written":
        raise ValueError(f"{path}: join_sides can only be 'as written'.")
    return Model(
        name=header["model"],
        path=path,
        materialized=header["materialized"],
        select="\n".join(body).strip().rstrip(";"),
        replace_where=header.get("replace_where"),
        grain=header.get("grain", ""),
        definition=header.get("definition", ""),
        columns=columns,
        joins_as_written="join_sides" in header,
    )


@cache
def _models_cached(sql_dir: Path) -> tuple[Model, ...]:
    order = yaml.safe_load((sql_dir / "models.yml").read_text())["models"]
    return tuple(parse_model(sql_dir / relative) for relative in order)


def models(sql_dir: Path = SQL_DIR) -> tuple[Model, ...]:
    return _models_cached(Path(sql_dir))


def _comment(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _document(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    con.execute(f"COMMENT ON {kind} {model.name} IS {_comment(model.description)}")
    for column, doc in model.columns.items():
        con.execute(f"COMMENT ON COLUMN {model.name}.{column} IS {_comment(doc)}")


class OutdatedModelError(RuntimeError):
    """A table was built by an older version of its model; the message says what to run."""


def _outdated_columns(
    con: duckdb.DuckDBPyConnection, model: Model, parameters: dict
) -> tuple[set[str], set[str]] | None:
    """(the table's columns, the model's) when the table exists with other columns, else None."""
    schema, table = model.name.split(".")
    existing = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
    if not existing:
        return None
    query = f"SELECT * FROM ({model.select}) LIMIT 0"
    wanted = {column[0] for column in con.execute(query, bind(query, parameters)).description}
    return None if existing == wanted else (existing, wanted)


def ensure_models(
    con: duckdb.DuckDBPyConnection, settings: Settings, replace_outdated_marts: bool = False
) -> None:
    """Create views and empty incremental tables (with their comments) that do not exist yet.

    A table an older version of its model built is an error, or, for a mart (computed from core
    and raw alone) with replace_outdated_marts, dropped to be built anew.
    """
    parameters = {**_settings_parameters(settings), "account_id": -1, "cutoff": date.today()}
    for model in models():
        if model.materialized == "view":
            con.execute(f"CREATE OR REPLACE VIEW {model.name} AS {model.select}")
        else:
            outdated = _outdated_columns(con, model, parameters)
            is_mart = model.name.startswith("mart.")
            if outdated and replace_outdated_marts and is_mart:
                con.execute(f"DROP TABLE {model.name}")
                # Should the rebuild stop before an account, its next transform is a full one.
                con.execute(
                    """INSERT INTO meta.pending_transform
                       SELECT account_id, ? FROM meta.accounts
                       ON CONFLICT (account_id) DO UPDATE SET dirty_from = excluded.dirty_from""",
                    [FULL_REBUILD_CUTOFF + timedelta(days=1)],
                )
            elif outdated:
                existing, wanted = outdated
                remedy = (
                    "Run `followback rebuild` once: it builds the mart tables anew from core "
                    "and raw."
                    if is_mart
                    else "It holds history that cannot be recomputed: migrate it by hand "
                    "(ALTER TABLE) before running this version."
                )
                raise OutdatedModelError(
                    f"{model.name} was built by an older version of {model.path.name}: it lacks "
                    f"{sorted(wanted - existing)} and has {sorted(existing - wanted)} that the "
                    f"model no longer makes. {remedy}"
                )
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {model.name} AS "
                f"SELECT * FROM ({model.select}) LIMIT 0",
                bind(model.select, parameters),
            )
        _document(con, model)


def _settings_parameters(settings: Settings) -> dict:
    return {k: v for k, v in asdict(settings).items() if isinstance(v, int | float)}


def pending_accounts(con: duckdb.DuckDBPyConnection) -> dict[int, date]:
    return dict(con.execute("SELECT account_id, dirty_from FROM meta.pending_transform").fetchall())


def run_incremental(con: duckdb.DuckDBPyConnection, model: Model, parameters: dict) -> int:
    """Replace the account's rows of `model` that match its replace_where with its SELECT's.

    Returns how many rows it wrote.
    """
    if model.joins_as_written:
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE model_rows AS {model.select}",
            bind(model.select, parameters),
        )
    finally:
        if model.joins_as_written:
            con.execute("RESET disabled_optimizers")
    delete = f"DELETE FROM {model.name} WHERE account_id = $account_id AND ({model.replace_where})"
    con.execute(delete, bind(delete, parameters))
    insert = f"INSERT INTO {model.name} BY NAME SELECT * FROM model_rows"
    written = con.execute(insert).fetchone()[0]
    con.execute("DROP TABLE model_rows")
    return written


def transform_account(
    con: duckdb.DuckDBPyConnection,
    account_id: int,
    settings: Settings,
    full_rebuild: bool = False,
) -> date | None:
    """Rebuild one account's core and mart rows that loads since the last run can change.

    Returns the cutoff used, or None when nothing was pending. One transaction: readers never see
    a half-built account.
    """
    dirty_from = pending_accounts(con).get(account_id)
    if dirty_from is None and not full_rebuild:
        return None
    cutoff = FULL_REBUILD_CUTOFF if full_rebuild else dirty_from - timedelta(days=1)
    parameters = {**_settings_parameters(settings), "account_id": account_id, "cutoff": cutoff}
    with transaction(con):
        ensure_models(con, settings)
        for model in models():
            if model.materialized == "incremental":
                run_incremental(con, model, parameters)
            if model.name == _COMPACTS_AFTER:
                retention.compact(con, account_id, settings, changed_after=cutoff)
        for done in ("meta.pending_transform", "meta.replaced_conversations"):
            con.execute(f"DELETE FROM {done} WHERE account_id = ?", [account_id])
    return cutoff


def rebuild(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[int]:
    """Recompute every account from scratch (identical to the incremental result)."""
    account_ids = [
        row[0] for row in con.execute("SELECT account_id FROM meta.accounts ORDER BY 1").fetchall()
    ]
    with transaction(con):
        ensure_models(con, settings, replace_outdated_marts=True)
    for account_id in account_ids:
        transform_account(con, account_id, settings, full_rebuild=True)
    return account_ids
