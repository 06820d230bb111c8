"""Data quality: nothing reaches the raw tables before it is validated.

Three places check the data:

- `validate_day` (the DAG's `validate` task; it never opens the warehouse) runs a Great
  Expectations suite on every finished landing partition of an (account, date), on a pandas
  DataFrame read from its Parquet. Each outcome is written to validation.json next to the
  partition's manifest and rendered in the GX Data Docs under settings.validation_dir.
- `load_validated` (the `load` task, which holds the warehouse) reads those outcomes, adds the
  cross-day guard (it needs the previous complete snapshot from meta.snapshots), records them all
  in meta.validation_results and loads the day with every failed batch quarantined: recorded in
  meta.snapshots but kept out of the raw tables, so it closes no interval. Then it raises
  QuarantinedSnapshotError, which fails the account's run.
- `check_marts` (the `transform` task) checks invariants of the marts the transform built.

GX is imported inside functions: it takes seconds to import, which neither the DAG parser nor the
load task should pay.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import landing, load
from pipeline.config import Account, Settings
from pipeline.sources import SNOWFLAKE_TIME_SHIFT, X_EPOCH_MS
from pipeline.warehouse import transaction

log = logging.getLogger(__name__)

# Kinds with a suite. The truth_* kinds are the simulator's answer key and load as they are.
SUITE_KINDS = ("followers", "following", "users", "tweets", "replies")
GUARD_SUITE = "cross_day_guard"
GUARD_EXPECTATION = "expect_list_to_shrink_at_most_max_daily_shrink"
RESULT_FILE = "validation.json"
# X ids are positive 64-bit integers sent as strings; the load casts them to BIGINT.
NUMERIC_ID = r"^[1-9][0-9]{0,18}$"
BIGINT_MAX = 2**63 - 1
# The id column of each landing kind. Its values as BIGINT go in a column of this suffix (see
# _as_bigint), which the uniqueness check runs on.
IDENTIFIERS = {
    "followers": "user_id",
    "following": "user_id",
    "users": "user_id",
    "tweets": "tweet_id",
    "replies": "reply_id",
}
AS_BIGINT = "_as_bigint"
# Nothing on X is older than the service.
X_LAUNCH = datetime(2006, 3, 21)
# The columns each suite checks: only they are read from the landing file.
SUITE_COLUMNS = {
    "followers": ["user_id"],
    "following": ["user_id"],
    "users": ["user_id", "followers_count", "following_count", "tweet_count", "created_at"],
    "tweets": ["tweet_id", "created_at", "conversation_id"],
    # in_reply_to_tweet_id finds the answered tweet's time (see _frame).
    "replies": ["reply_id", "created_at", "conversation_id", "in_reply_to_tweet_id"],
}
# GX compares datetimes vectorised only in nanoseconds (row by row otherwise: 3 s a million
# rows). A nanosecond timestamp spans 1677-2262; anything beyond that is implausible for X, so it
# is clipped to these bounds, which stay outside every suite's range, rather than overflow.
NS_BOUNDS = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))
# The marts the transform checks, and the frame each suite runs on.
MART_CHECKS = {
    "mart_reciprocity_daily": (
        "reciprocity_daily",
        """SELECT snapshot_date, followers, following, mutuals, followback_given_rate,
                  followback_received_rate, reciprocity
           FROM mart.reciprocity_daily WHERE account_id = ?""",
    ),
    # The followers a churn row ends with are the next row's followers_start.
    "mart_churn_daily": (
        "churn_daily",
        """SELECT snapshot_date, churn_rate,
                  followers_start + gained - lost AS followers_after_changes,
                  lead(followers_start) OVER (ORDER BY snapshot_date) AS next_followers_start
           FROM mart.churn_daily WHERE account_id = ?""",
    ),
}


class DataQualityError(RuntimeError):
    """Data failed its checks. Retrying cannot fix it, so the DAG fails the task at once."""


class QuarantinedSnapshotError(DataQualityError):
    """Batches of an (account, date) failed validation and were not loaded."""


class UnreadableBatchError(DataQualityError):
    """A landing file is truncated or corrupt; only a new extract can replace it."""


class MartCheckError(DataQualityError):
    """A mart broke an invariant after the transform."""


class NotValidatedError(RuntimeError):
    """A landing partition has no validation outcome for its current extract."""


@dataclass
class BatchResult:
    """One suite run on one batch, as written to validation.json and meta.validation_results."""

    suite: str
    batch: str
    account_id: int
    success: bool
    evaluated: int
    # Each failed expectation: its name, arguments and what was observed.
    failed: list[dict]
    validated_at: str
    snapshot_date: str | None = None
    kind: str | None = None
    # The extract this outcome is about: a later re-extract makes it stale.
    extracted_at: str | None = None
    data_docs: str | None = None


# -- suites -------------------------------------------------------------------------------------


def _suites() -> dict[str, list]:
    import great_expectations as gx

    from pipeline.expectations import ExpectColumnIdsToBeUnique

    expect = gx.expectations

    def identifier(column: str) -> list:
        bigint = column + AS_BIGINT
        return [
            expect.ExpectColumnValuesToNotBeNull(column=column),
            expect.ExpectColumnValuesToMatchRegex(column=column, regex=NUMERIC_ID),
            # NULL where the id is not a BIGINT, which the load casts it to.
            expect.ExpectColumnValuesToNotBeNull(column=bigint),
            ExpectColumnIdsToBeUnique(column=bigint),
        ]

    def not_after_fetch(column: str, min_value=None) -> Any:
        return expect.ExpectColumnValuesToBeBetween(
            column=column, min_value=min_value, max_value={"$PARAMETER": "latest"}
        )

    def timestamps(column: str) -> list:
        return [
            expect.ExpectColumnValuesToNotBeNull(column=column),
            not_after_fetch(column, min_value={"$PARAMETER": "earliest"}),
        ]

    def share(column: str) -> Any:
        return expect.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)

    def at_least(column_a: str, column_b: str) -> Any:
        return expect.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=column_a,
            column_B=column_b,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )

    def listing() -> list:
        return [
            *identifier("user_id"),
            expect.ExpectTableRowCountToBeBetween(
                min_value={"$PARAMETER": "min_rows"}, max_value={"$PARAMETER": "max_rows"}
            ),
        ]

    return {
        "followers": listing(),
        "following": listing(),
        # A batch is one date, so a unique user_id is one row per user and date.
        "users": [
            *identifier("user_id"),
            *(
                expect.ExpectColumnValuesToBeBetween(column=column, min_value=0)
                for column in ("followers_count", "following_count", "tweet_count")
            ),
            not_after_fetch("created_at"),
        ],
        "tweets": [
            *identifier("tweet_id"),
            *timestamps("created_at"),
            expect.ExpectColumnValuesToNotBeNull(column="conversation_id"),
        ],
        "replies": [
            *identifier("reply_id"),
            *timestamps("created_at"),
            expect.ExpectColumnValuesToNotBeNull(column="conversation_id"),
            # answered_at: when the post it answers was made (_posted_at).
            at_least("created_at", "answered_at"),
        ],
        "mart_reciprocity_daily": [
            *(
                share(c)
                for c in ("followback_given_rate", "followback_received_rate", "reciprocity")
            ),
            at_least("followers", "mutuals"),
            at_least("following", "mutuals"),
        ],
        "mart_churn_daily": [
            share("churn_rate"),
            expect.ExpectColumnPairValuesToBeEqual(
                column_A="followers_after_changes",
                column_B="next_followers_start",
                ignore_row_if="either_value_is_missing",
            ),
        ],
    }


# -- the GX project -----------------------------------------------------------------------------


def _gx_lock(root: Path):
    """Serialise GX between processes: its file stores and Data Docs are not safe to share."""
    return landing.file_lock(root / ".lock")


def _project_dir(settings: Settings, day: date) -> Path:
    # One GX project per month of snapshots: GX lists every stored result whenever it renders a
    # page, so one project for all time would slow every run down as results pile up.
    return settings.validation_dir / f"{day:%Y-%m}"


@cache
def _project(root: Path) -> tuple[Any, dict[str, Any]]:
    """The File context rooted at `root` and a validation definition per suite, once a process."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every frame under this many bytes with a hash of all its rows (a second a
    # million rows) and keeps it only as metadata; a batch here is named by its landing partition.
    pandas_execution_engine.HASH_THRESHOLD = 0
    with _gx_lock(root):
        context = gx.get_context(mode="file", project_root_dir=root)
        if context.variables.config_variables_file_path:
            # Nothing here is a ${variable}. With a variables file named, GX reads and parses it
            # again at every look at a setting: about 70 times a suite run, 0.1 s a task.
            context.variables.config_variables_file_path = None
            context.variables.save()
            context = gx.get_context(mode="file", project_root_dir=root)
        if context.variables.progress_bars is None:
            # Progress bars would fill the Airflow task logs.
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            # Nothing is profiled: without that section, rendering a page lists results once
            # less.
            sites = context.variables.data_docs_sites
            sites["local_site"]["site_section_builders"] = {"profiling": "None"}
            context.variables.data_docs_sites = sites
            context.variables.save()
        try:
            source = context.data_sources.get("dataframes")
        except KeyError:
            source = context.data_sources.add_pandas("dataframes")
        definitions, rewritten = {}, False
        for name, expectations in _suites().items():
            try:
                batch = source.get_asset(name).get_batch_definition("whole")
            except LookupError:
                batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
                    "whole"
                )
            definitions[name], written = _stored_definition(context, name, batch, expectations)
            rewritten = rewritten or written
        # The suites' own pages, which the index links to, as this code defines them. Rendering
        # them costs as much as rendering a day's results, so only when a suite changed or a
        # page is missing, not in every task process.
        suites = [ExpectationSuiteIdentifier(name=name) for name in definitions]
        if rewritten or not all(_rendered(context, suite) for suite in suites):
            context.build_data_docs(resource_identifiers=suites, build_index=False)
    return context, definitions


def _stored_definition(context, name: str, batch, expectations: list) -> tuple[Any, bool]:
    """The stored validation definition of suite `name`, written only when the code changed it,
    and whether it was written.

    Every task process opens the shared project, and GX checks before each run that its suite and
    definition equal the stored ones. Saving a suite gives its expectations new ids, so a process
    that re-saved an unchanged suite would make every other running process's copy stale
    (ValidationDefinitionRelatedResourcesFreshnessError).
    """
    import great_expectations as gx

    try:
        stored = context.validation_definitions.get(name)
    except (LookupError, gx.exceptions.DataContextError):
        stored = None
    if stored is not None and _without_ids(stored.suite.expectations) == _without_ids(expectations):
        return stored, False
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    return definition, True


def _without_ids(expectations: list) -> list[dict]:
    return [
        {key: value for key, value in e.configuration.to_json_dict().items() if key != "id"}
        for e in expectations
    ]


def _rendered(context, identifier) -> bool:
    return all(
        site["site_url"] for site in context.get_docs_sites_urls(resource_identifier=identifier)
    )


def _local_path(url: str) -> str:
    return unquote(urlparse(url).path)


def build_data_docs_index(settings: Settings, day: date) -> Path:
    """Rebuild the Data Docs index of the month of `day`, listing every result; returns it."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    root = _project_dir(settings, day)
    context, definitions = _project(root)
    with _gx_lock(root):
        # Without resources GX renders every page; given the suites, their pages and the index.
        sites = context.build_data_docs(
            resource_identifiers=[ExpectationSuiteIdentifier(name=name) for name in definitions]
        )
    return Path(_local_path(sites["local_site"]))


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def _failure(result) -> dict:
    from great_expectations.util import convert_to_json_serializable

    config = result.expectation_config
    observed = {
        key: result.result[key]
        for key in ("observed_value", "unexpected_count", "partial_unexpected_list")
        if key in result.result
    }
    if result.exception_info.get("raised_exception"):
        observed["exception"] = result.exception_info["exception_message"]
    return convert_to_json_serializable(
        {
            "expectation": config.type,
            "kwargs": {k: v for k, v in config.kwargs.items() if k != "batch_id"},
            "observed": observed,
        }
    )


def _run_suites(
    settings: Settings, day: date, run_name: str, batches: list[tuple[str, pd.DataFrame, dict]]
) -> list[tuple[Any, str]]:
    """Run (suite, frame, parameters) batches; returns each GX result and its Data Docs page."""
    if not batches:
        # GX would read no resource list as "render every page".
        return []
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    root = _project_dir(settings, day)
    context, definitions = _project(root)
    with _gx_lock(root):
        outcomes = []
        for suite, frame, parameters in batches:
            run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
            result = definitions[suite].run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters,
                # The unexpected values without their row numbers, which nothing reads: finding
                # them (SUMMARY) copies the whole frame once an expectation, 1.9 s a 10M day.
                result_format="BASIC",
                run_id=run_id,
            )
            key = ValidationResultIdentifier(
                ExpectationSuiteIdentifier(name=suite), run_id, result.batch_id
            )
            outcomes.append((result, key))
        keys = [key for _, key in outcomes]
        # Rendering the index costs more the more results the month holds, so it is rebuilt only
        # when someone will look: after a failure, and by the CLI (build_data_docs_index).
        failed = not all(result.success for result, _ in outcomes)
        context.build_data_docs(resource_identifiers=keys, build_index=failed)
        pages = [
            _local_path(context.get_docs_sites_urls(resource_identifier=key)[0]["site_url"])
            for key in keys
        ]
    return [(result, page) for (result, _), page in zip(outcomes, pages, strict=True)]


# -- landing batches ----------------------------------------------------------------------------


def _batch_name(kind: str, handle: str, day: date) -> str:
    return f"{kind}/account={handle}/date={day.isoformat()}"


def result_path(settings: Settings, kind: str, handle: str, day: date) -> Path:
    return landing.partition_dir(settings.landing_dir, kind, handle, day) / RESULT_FILE


def _posted_at(post_ids: pd.Series) -> pd.Series:
    """When each post was made, read from its snowflake id to the second (X states created_at to
    the second); NULL for an id that is not a BIGINT.

    Read from the id, it needs no tweets landed so far: looking the answered tweets up in every
    tweets file grew with history (0.05 s on day 91, 0.4 ms more a day), and missed replies to
    tweets never extracted. An id older than snowflakes (2010) reads as November 2010, which
    every reply follows.
    """
    made_ms = _as_bigint(post_ids).astype("Int64") // (1 << SNOWFLAKE_TIME_SHIFT) + X_EPOCH_MS
    return pd.to_datetime(made_ms, unit="ms").dt.floor("s")


def _frame(settings: Settings, kind: str, handle: str, day: date) -> pd.DataFrame:
    try:
        frame = landing.read_partition(
            settings.landing_dir, kind, handle, day, columns=SUITE_COLUMNS[kind]
        )
    except (pa.ArrowInvalid, OSError) as error:
        path = landing.data_path(settings.landing_dir, kind, handle, day)
        raise UnreadableBatchError(
            f"{handle} {day}: the {kind} landing file {path} cannot be read ({error}). "
            "Nothing was loaded; re-extract the date."
        ) from error
    if kind == "replies":
        frame["answered_at"] = _posted_at(frame["in_reply_to_tweet_id"])
    for column in frame.columns:
        if pd.api.types.is_datetime64_dtype(frame[column]):
            frame[column] = frame[column].clip(*NS_BOUNDS).astype("datetime64[ns]")
    identifier = IDENTIFIERS[kind]
    frame[identifier + AS_BIGINT] = _as_bigint(frame[identifier])
    return frame


def _as_bigint(ids: pd.Series) -> pd.Series:
    """The ids of at most 19 ASCII digits and at most BIGINT_MAX, as BIGINT; NULL otherwise.

    For ids that match NUMERIC_ID (which the suite checks too), two are equal exactly when their
    numbers are, and 10M numbers sort in about 0.3 s (pipeline/expectations.py), against 4 to
    15 s to find duplicates among the strings here. Computed in arrow without a regex: the
    suite's regex already reads every id once, and a second pass took 1.3 s at 10M.
    """
    strings = pa.array(ids, type=pa.string())
    # 19 digits fit an unsigned 64-bit integer; BIGINT takes 63 bits of it.
    digits = pc.and_(pc.ascii_is_decimal(strings), pc.less_equal(pc.binary_length(strings), 19))
    unsigned = pc.cast(pc.if_else(digits, strings, None), pa.uint64())
    bigint = pc.cast(
        pc.if_else(pc.less_equal(unsigned, pa.scalar(BIGINT_MAX, pa.uint64())), unsigned, None),
        pa.int64(),
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(bigint), index=ids.index, name=ids.name)


def _parameters(kind: str, manifest: landing.Manifest, settings: Settings) -> dict:
    if kind in load.LIST_KINDS:
        expected = manifest.expected_count
        if expected is None:
            return {"min_rows": 0, "max_rows": None}
        return {
            "min_rows": math.floor(expected * (1 - settings.count_tolerance)),
            "max_rows": math.ceil(expected * (1 + settings.count_tolerance)),
        }
    day = date.fromisoformat(manifest.snapshot_date)
    # Nothing can be newer than the moment it was fetched, nor than the end of its date (the
    # simulated source fetches at the end of the day, the X API a little after it).
    fetched = load._naive(manifest.fetched_at) or datetime.min
    return {"earliest": X_LAUNCH, "latest": max(datetime.combine(day, time.max), fetched)}


@cache
def _allocate_with_jemalloc() -> None:
    """Have arrow allocate with jemalloc in this process, unless ARROW_DEFAULT_MEMORY_POOL chose.

    With arrow's default, mimalloc, validating a day of a 10M-follower account spent 10 to 15 s
    in the kernel here (a VM whose fresh memory is slow to fault in), and under 5 s with jemalloc.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        log.info("This pyarrow has no jemalloc; validating with its default allocator.")


def validate_day(
    account: Account, day: date, settings: Settings, kinds=SUITE_KINDS
) -> list[BatchResult]:
    """Validate every finished landing partition of (account, date) of the kinds with a suite.

    Writes each outcome to validation.json next to the partition and updates the Data Docs.
    Failures are logged, not raised: the load records them and quarantines the batch.
    """
    _allocate_with_jemalloc()
    manifests = load.finished_manifests(settings, account, day, kinds)
    batches = [
        (kind, _frame(settings, kind, account.handle, day), _parameters(kind, manifest, settings))
        for kind, manifest in manifests.items()
    ]
    outcomes = _run_suites(settings, day, f"{account.handle}-{day.isoformat()}", batches)
    results = []
    for (kind, manifest), (outcome, page) in zip(manifests.items(), outcomes, strict=True):
        result = BatchResult(
            suite=kind,
            batch=_batch_name(kind, account.handle, day),
            account_id=int(manifest.account_id),
            success=bool(outcome.success),
            evaluated=outcome.statistics["evaluated_expectations"],
            failed=[_failure(r) for r in outcome.results if not r.success],
            validated_at=_now(),
            snapshot_date=day.isoformat(),
            kind=kind,
            extracted_at=manifest.extracted_at,
            data_docs=page,
        )
        path = result_path(settings, kind, account.handle, day)
        landing._atomic_write(
            path, lambda tmp, r=result: Path(tmp).write_text(json.dumps(asdict(r)))
        )
        if result.success:
            log.info("%s: passed %d expectations", result.batch, result.evaluated)
        else:
            log.warning("%s: FAILED %s. Data Docs: %s", result.batch, _describe(result), page)
        results.append(result)
    return results


def _read_result(
    settings: Settings, account: Account, day: date, kind: str, manifest: landing.Manifest
) -> BatchResult:
    path = result_path(settings, kind, account.handle, day)
    result = BatchResult(**json.loads(path.read_text())) if path.exists() else None
    if result is None or result.extracted_at != manifest.extracted_at:
        raise NotValidatedError(
            f"{account.handle} {day}: the {kind} extract of {manifest.extracted_at} has not been "
            f"validated (no current {path}). Run `followback validate --date {day} --account "
            f"{account.handle}` or the DAG's validate task first."
        )
    return result


# -- the cross-day guard and the gated load -----------------------------------------------------


def _guard(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    account: Account,
    day: date,
    kind: str,
    manifest: landing.Manifest,
) -> BatchResult | None:
    """Fail a list that shrank by more than max_daily_shrink unless the stated count agrees."""
    account_id = int(manifest.account_id)
    previous = con.execute(
        """SELECT snapshot_date, row_count FROM meta.snapshots
           WHERE account_id = ? AND kind = ? AND status = 'complete' AND snapshot_date < ?
           ORDER BY snapshot_date DESC LIMIT 1""",
        [account_id, kind, day],
    ).fetchone()
    if previous is None or previous[1] == 0:
        return None
    previous_date, previous_count = previous
    fetched, expected = manifest.row_count, manifest.expected_count
    shrink = 1 - fetched / previous_count
    stated_agrees = expected is not None and (
        abs(fetched - expected) <= settings.count_tolerance * expected
    )
    success = shrink <= settings.max_daily_shrink or stated_agrees
    observed = {
        "previous_date": previous_date.isoformat(),
        "previous_count": previous_count,
        "fetched": fetched,
        "expected_count": expected,
        "shrink": round(shrink, 4),
    }
    return BatchResult(
        suite=GUARD_SUITE,
        batch=_batch_name(kind, account.handle, day),
        account_id=account_id,
        success=success,
        evaluated=1,
        failed=[]
        if success
        else [
            {
                "expectation": GUARD_EXPECTATION,
                "kwargs": {
                    "max_daily_shrink": settings.max_daily_shrink,
                    "count_tolerance": settings.count_tolerance,
                },
                "observed": observed,
            }
        ],
        validated_at=_now(),
        snapshot_date=day.isoformat(),
        kind=kind,
        extracted_at=manifest.extracted_at,
    )


def _record(con: duckdb.DuckDBPyConnection, results: list[BatchResult]) -> None:
    """Add results to meta.validation_results (a rerun of the same outcome adds nothing)."""
    con.executemany(
        """INSERT INTO meta.validation_results (suite, batch, account_id, snapshot_date, success,
               evaluated_expectations, failed_expectations, validated_at, data_docs)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
        [
            [
                r.suite,
                r.batch,
                r.account_id,
                r.snapshot_date,
                r.success,
                r.evaluated,
                json.dumps(r.failed),
                r.validated_at,
                r.data_docs,
            ]
            for r in results
        ],
    )


def load_validated(
    con: duckdb.DuckDBPyConnection, account: Account, day: date, settings: Settings
) -> load.LoadResult:
    """Load (account, date) with every batch that failed validation or the guard quarantined.

    The batches that passed are loaded and committed; then QuarantinedSnapshotError is raised if
    any batch failed.
    """
    manifests = load.finished_manifests(settings, account, day, landing.KINDS)
    results = [
        _read_result(settings, account, day, kind, manifest)
        for kind, manifest in manifests.items()
        if kind in SUITE_KINDS
    ]
    results += [
        guard
        for kind in load.LIST_KINDS
        if kind in manifests
        and (guard := _guard(con, settings, account, day, kind, manifests[kind])) is not None
    ]
    with transaction(con):
        _record(con, results)
    failed = [r for r in results if not r.success]
    loaded = load.load_day(
        con, account, day, settings, statuses={r.kind: "quarantined" for r in failed}
    )
    if failed:
        raise QuarantinedSnapshotError(_quarantine_message(account, day, failed, manifests))
    return loaded


def _describe(result: BatchResult) -> str:
    parts = []
    for failure in result.failed:
        kwargs, observed = failure["kwargs"], failure["observed"]
        columns = [str(kwargs[k]) for k in ("column", "column_A", "column_B") if k in kwargs]
        on = f" on {', '.join(columns)}" if columns else ""
        if failure["expectation"] == GUARD_EXPECTATION:
            seen = (
                f"shrank {observed['shrink']:.1%} from {observed['previous_count']} on "
                f"{observed['previous_date']}, more than {kwargs['max_daily_shrink']:.0%}"
            )
        elif "exception" in observed:
            seen = f"error: {observed['exception']}"
        elif observed.get("unexpected_count") is not None:
            examples = ", ".join(str(v) for v in observed.get("partial_unexpected_list", [])[:3])
            seen = f"{observed['unexpected_count']} unexpected, e.g. {examples}"
        else:
            seen = f"observed {observed.get('observed_value')}"
        parts.append(f"{failure['expectation']}{on} ({seen})")
    return "; ".join(parts)


def _quarantine_message(
    account: Account, day: date, failed: list[BatchResult], manifests: dict
) -> str:
    lines = [
        f"{account.handle} {day}: data failed validation. These batches were quarantined: not "
        "loaded, so they close no follow interval and count no unfollow."
    ]
    for kind in sorted({r.kind for r in failed}):
        manifest = manifests[kind]
        counts = f"fetched {manifest.row_count} rows"
        if kind in load.LIST_KINDS:
            stated = manifest.expected_count
            expected = (
                "no count stated" if stated is None else f"{stated} (the count the source states)"
            )
            counts = f"expected {expected}, {counts}"
        checks = "; ".join(_describe(r) for r in failed if r.kind == kind)
        lines.append(f"  {kind}: {counts}. Failed: {checks}")
    pages = sorted({r.data_docs for r in failed if r.data_docs})
    lines.append(
        "Details: SELECT * FROM meta.validation_results WHERE account_id = "
        f"{failed[0].account_id} AND snapshot_date = DATE '{day}'"
        + (f"; Data Docs: {', '.join(pages)}" if pages else "")
    )
    lines.append(
        "Re-extract the date once the source is healthy and run it again: a passing re-extract "
        "loads as complete and the transform rebuilds from it."
    )
    return "\n".join(lines)


# -- marts --------------------------------------------------------------------------------------


def check_marts(
    con: duckdb.DuckDBPyConnection, account_id: int, settings: Settings
) -> list[BatchResult]:
    """Check the account's marts after the transform; record the results, raise on a failure.

    Only the marts that exist and hold rows for the account are checked.
    """
    existing = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'mart'"
        ).fetchall()
    }
    frames = {}
    for suite, (table, query) in MART_CHECKS.items():
        if table in existing:
            frame = con.execute(query, [account_id]).df()
            if not frame.empty:
                frames[suite] = frame
    if not frames:
        return []
    handle = con.execute(
        "SELECT handle FROM meta.accounts WHERE account_id = ?", [account_id]
    ).fetchone()[0]
    latest = max(frame["snapshot_date"].max() for frame in frames.values())
    outcomes = _run_suites(
        settings,
        pd.Timestamp(latest).date(),
        f"{handle}-marts",
        [(suite, frame, {}) for suite, frame in frames.items()],
    )
    results = [
        BatchResult(
            suite=suite,
            batch=f"mart.{MART_CHECKS[suite][0]}/account={handle}",
            account_id=account_id,
            success=bool(outcome.success),
            evaluated=outcome.statistics["evaluated_expectations"],
            failed=[_failure(r) for r in outcome.results if not r.success],
            validated_at=_now(),
            data_docs=page,
        )
        for suite, (outcome, page) in zip(frames, outcomes, strict=True)
    ]
    with transaction(con):
        _record(con, results)
    failed = [r for r in results if not r.success]
    if failed:
        raise MartCheckError(
            f"{handle}: the marts broke their invariants after the transform: "
            + "; ".join(f"{r.batch}: {_describe(r)}" for r in failed)
            + ". Details: SELECT * FROM meta.validation_results WHERE suite LIKE 'mart%' AND "
            + f"account_id = {account_id}; Data Docs: "
            + ", ".join(r.data_docs for r in failed)
        )
    return results
