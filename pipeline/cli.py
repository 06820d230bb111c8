"""The `followback` command line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from pipeline import catalog, publish, report, run, transform, validate
from pipeline.config import ConfigError, load_config
from pipeline.sources import RateLimited, SourceAccessError
from pipeline.sources.x_api import XApiError
from pipeline.warehouse import WarehouseLockedError, open_warehouse

app = typer.Typer(help="Followback: the truth behind an X account's numbers.", no_args_is_help=True)
console = Console()
ConfigOption = typer.Option(None, "--config", help="Accounts file (default: FOLLOWBACK_CONFIG).")
AccountOption = typer.Option(None, "--account", help="Handle; repeat. Default: all.")
ReportOutOption = typer.Option(
    None, "--out", help="The HTML file (default: report.html in the data directory)."
)


# Errors whose message already says what is wrong and what to do: shown without a traceback.
USER_ERRORS = (
    ValueError,
    ConfigError,
    WarehouseLockedError,
    SourceAccessError,
    RateLimited,
    XApiError,
)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


def _config(path: Path | None):
    try:
        return load_config(path)
    except ConfigError as error:
        _fail(str(error))


# The seed 001 experiment side by side: follower counts against how many followers answer.
SUMMARY_SQL = """
WITH latest_reciprocity AS (
    SELECT account_id, followers, following, reciprocity, is_churning_own_following
    FROM mart.reciprocity_daily
    QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY snapshot_date DESC) = 1
),

churn AS (
    SELECT account_id, sum(lost) / nullif(sum(followers_start * gap_days), 0) AS daily_churn_rate
    FROM mart.churn_daily
    GROUP BY account_id
),

final_questions AS (
    SELECT
        account_id,
        count(*) AS questions,
        avg(follower_repliers_24h) AS follower_repliers_per_question,
        avg(response_rate) AS response_rate
    FROM mart.question_response
    WHERE status = 'final'
    GROUP BY account_id
)

SELECT
    accounts.handle,
    latest_reciprocity.followers,
    latest_reciprocity.following,
    latest_reciprocity.reciprocity,
    churn.daily_churn_rate,
    coalesce(final_questions.questions, 0) AS questions,
    final_questions.follower_repliers_per_question,
    final_questions.response_rate,
    latest_reciprocity.is_churning_own_following
FROM meta.accounts AS accounts
LEFT JOIN latest_reciprocity ON latest_reciprocity.account_id = accounts.account_id
LEFT JOIN churn ON churn.account_id = accounts.account_id
LEFT JOIN final_questions ON final_questions.account_id = accounts.account_id
ORDER BY latest_reciprocity.followers NULLS LAST, accounts.handle
"""
SUMMARY_METRICS = (
    "followers",
    "following",
    "reciprocity",
    "follower churn per day",
    "questions (final)",
    "follower answers per question",
    "response rate",
    "churns its own following",
)


def _summary_cells(row: tuple) -> list[str]:
    followers, following, reciprocity, churn, questions, repliers, rate, churning = row

    def share(value, digits):
        return "-" if value is None else f"{value:.{digits}%}"

    return [
        "-" if followers is None else f"{followers:,}",
        "-" if following is None else f"{following:,}",
        share(reciprocity, 1),
        share(churn, 2),
        str(questions),
        "-" if repliers is None else f"{repliers:.1f}",
        share(rate, 2),
        "-" if churning is None else ("yes" if churning else "no"),
    ]


def print_summary(settings) -> None:
    """One column per account, so the accounts compare side by side."""
    with open_warehouse(settings, read_only=True) as con:
        rows = con.execute(SUMMARY_SQL).fetchall()
    table = Table(
        title=f"Followers vs. engagement, the seed 001 experiment ({settings.db_path})",
        caption="Latest reciprocity; churn per day over the run; questions with final 24-hour "
        "counts (response rate = follower repliers / followers at post time, averaged).",
    )
    table.add_column("")
    for row in rows:
        table.add_column(row[0], justify="right")
    columns = [_summary_cells(row[1:]) for row in rows]
    for index, metric in enumerate(SUMMARY_METRICS):
        table.add_row(metric, *(cells[index] for cells in columns))
    console.print(table)


@app.command()
def demo(
    days: int = typer.Option(30, min=1, max=730, help="How many simulated days to run."),
    config_path: Path | None = ConfigOption,
) -> None:
    """Simulate DAYS days for the configured simulated accounts and run them end to end."""
    config = _config(config_path)
    accounts = [a for a in config.accounts if a.source == "simulated"]
    if not accounts:
        _fail("The config has no simulated accounts to run the demo on.")
    first = date.fromisoformat(config.settings.sim_epoch)
    last = first + timedelta(days=days - 1)
    try:
        _run_days(config, [a.handle for a in accounts], first, last)
        print_summary(config.settings)
        console.print(f"Warehouse: {config.settings.db_path}")
        docs = validate.build_data_docs_index(config.settings, last)
        console.print(f"Data Docs: {docs}", soft_wrap=True)
        publish.publish(config.settings)
    except WarehouseLockedError as error:
        _fail(str(error))
    console.print(f"Published copy for BI tools: {publish.published_dir(config.settings)}")
    out = report.write_report(config.settings, config.settings.data_dir / "report.html")
    console.print(f"Report: {out.resolve()}")


def _run_days(config, handles: list[str], first: date, last: date) -> None:
    """Run every date from first to last for each handle, in date order, with a progress bar."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    with Progress(console=console) as progress:
        job = progress.add_task("Running days", total=len(days) * len(handles))
        for day in days:
            for handle in handles:
                progress.update(job, description=f"{handle} {day}")
                run.run_day(handle, day, config)
                progress.advance(job)


@app.command()
def backfill(
    first: str = typer.Option(..., "--from", help="The first snapshot date, YYYY-MM-DD."),
    last: str = typer.Option(..., "--to", help="The last snapshot date, YYYY-MM-DD (included)."),
    account: list[str] = AccountOption,
    config_path: Path | None = ConfigOption,
) -> None:
    """Run every date from --from to --to for the configured accounts, then publish."""
    config = _config(config_path)
    try:
        start, end = run.parse_date(first), run.parse_date(last)
        if end < start:
            raise ValueError(f"--to {end} is before --from {start}.")
        handles = [config.account(h).handle for h in account] if account else None
        _run_days(config, handles or run.tracked_accounts(config), start, end)
        publication = publish.publish(config.settings)
    except (*USER_ERRORS, validate.DataQualityError) as error:
        _fail(str(error))
    console.print(f"Backfilled {start} to {end}; published version {publication.version}.")


@app.command("run")
def run_command(
    date_: str = typer.Option(..., "--date", help="The snapshot date, YYYY-MM-DD."),
    account: list[str] = typer.Option(None, "--account", help="Handle; repeat. Default: all."),
    config_path: Path | None = ConfigOption,
) -> None:
    """Run one day (extract, validate, load, transform) for the configured accounts."""
    config = _config(config_path)
    quarantined = False
    try:
        day = run.parse_date(date_)
        handles = (
            [config.account(h).handle for h in account] if account else run.tracked_accounts(config)
        )
        for handle in handles:
            try:
                loaded = run.run_day(handle, day, config)
            except validate.DataQualityError as error:
                # The other accounts still run; the command fails at the end.
                console.print(f"[bold red]quarantined:[/] {error}")
                quarantined = True
                continue
            console.print(f"{handle} {day}: loaded {loaded['rows']}")
    except USER_ERRORS as error:
        _fail(str(error))
    if quarantined:
        raise typer.Exit(code=1)


@app.command("validate")
def validate_command(
    date_: str = typer.Option(..., "--date", help="The snapshot date, YYYY-MM-DD."),
    account: list[str] = AccountOption,
    config_path: Path | None = ConfigOption,
) -> None:
    """Validate a date's extracted landing files (loads nothing) and print where Data Docs are."""
    config = _config(config_path)
    try:
        day = run.parse_date(date_)
        handles = [config.account(h).handle for h in account or []] or run.tracked_accounts(config)
        outcomes = {handle: run.validate_snapshot(handle, day, config) for handle in handles}
    except (ValueError, ConfigError) as error:
        _fail(str(error))
    table = Table(title=f"Validation of {day}")
    for column in ("account", "batch", "result"):
        table.add_column(column)
    for handle, outcome in outcomes.items():
        if not outcome["validated"]:
            table.add_row(handle, "-", "nothing extracted for this date")
        for kind in outcome["validated"]:
            failed = outcome["failed"].get(kind)
            table.add_row(
                handle, kind, f"[red]failed: {', '.join(failed)}" if failed else "[green]passed"
            )
    console.print(table)
    docs = validate.build_data_docs_index(config.settings, day)
    console.print(f"Data Docs: {docs}", soft_wrap=True)
    if any(outcome["failed"] for outcome in outcomes.values()):
        raise typer.Exit(code=1)


@app.command()
def rebuild(config_path: Path | None = ConfigOption) -> None:
    """Recompute core and mart tables of every account from the raw tables."""
    config = _config(config_path)
    try:
        with open_warehouse(config.settings) as con:
            rebuilt = transform.rebuild(con, config.settings)
    except WarehouseLockedError as error:
        _fail(str(error))
    console.print(f"Rebuilt {len(rebuilt)} account(s).")


@app.command("catalog")
def catalog_command(
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown, as in the README."),
    readme: bool = typer.Option(
        False, "--readme", help="Rewrite the README's catalogue from the code's SQL."
    ),
    config_path: Path | None = ConfigOption,
) -> None:
    """Print every table and column with its definition, from DuckDB's own metadata."""
    settings = _config(config_path).settings
    if readme:
        catalog.write_readme(catalog.to_markdown(catalog.code_catalog(settings)))
        console.print(f"Rewrote the table catalogue in {catalog.README}.")
        return
    if Path(settings.db_path).exists():
        try:
            with open_warehouse(settings, read_only=True) as con:
                relations = catalog.read_catalog(con)
        except WarehouseLockedError as error:
            _fail(str(error))
    else:
        # Before the first load: the tables the code would build, with the same comments.
        relations = catalog.code_catalog(settings)
    if markdown:
        print(catalog.to_markdown(relations), end="")
        return
    for relation in relations:
        console.print(f"\n[bold]{relation.qualified_name}[/] ({relation.kind})")
        if relation.comment:
            console.print(relation.comment, markup=False)
        table = Table()
        for column in ("column", "type", "description"):
            table.add_column(column, overflow="fold")
        for column in relation.columns:
            # Text, not markup: definitions contain brackets such as [t1, t2).
            table.add_row(column.name, column.type, Text(column.comment))
        console.print(table)


@app.command("publish")
def publish_command(config_path: Path | None = ConfigOption) -> None:
    """Publish the marts as Parquet and a read-only DuckDB copy for BI tools (as the DAG does)."""
    settings = _config(config_path).settings
    try:
        publication = publish.publish(settings)
    except (FileNotFoundError, WarehouseLockedError) as error:
        _fail(str(error))
    console.print(
        f"Published {publication.tables} tables and {publication.parquet_files} Parquet files "
        f"to {publication.path} (version {publication.version})."
    )


@app.command("report")
def report_command(
    account: list[str] = AccountOption,
    out: Path | None = ReportOutOption,
    config_path: Path | None = ConfigOption,
) -> None:
    """Write a self-contained HTML report with charts from the published copy."""
    settings = _config(config_path).settings
    try:
        written = report.write_report(settings, out or settings.data_dir / "report.html", account)
    except (FileNotFoundError, ConfigError) as error:
        _fail(str(error))
    console.print(f"Report: {written.resolve()}")


ArchivePathArgument = typer.Argument(..., help="The zip from X's 'Download an archive'.")
ArchiveAccountOption = typer.Option(
    None, "--account", help="Handle it must belong to (default: the archive's owner)."
)


@app.command("import-archive")
def import_archive_command(
    path: Path = ArchivePathArgument,
    account: str | None = ArchiveAccountOption,
    config_path: Path | None = ConfigOption,
) -> None:
    """Load an X data archive as the snapshot of the day it was generated."""
    from pipeline.sources.archive import ArchiveError, import_archive

    config = _config(config_path)
    try:
        # One call with no steps to count: the bar pulses until the import returns.
        with Progress(console=console, transient=True) as progress:
            progress.add_task(f"Importing {path.name}", total=None)
            imported = import_archive(path, account, config)
    except (ArchiveError, ConfigError, WarehouseLockedError) as error:
        _fail(f"{error} Nothing was imported.")
    except validate.DataQualityError as error:
        _fail(str(error))
    console.print(
        f"Imported the archive of @{imported['handle']} as its snapshot of "
        f"{imported['snapshot_date']}: {imported['followers']} followers, "
        f"{imported['following']} following, {imported['tweets']} tweets."
    )


if __name__ == "__main__":
    app()
