"""The `followback` command line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from pipeline import run, transform
from pipeline.config import ConfigError, load_config
from pipeline.warehouse import WarehouseLockedError, open_warehouse

app = typer.Typer(help="Followback: the truth behind an X account's numbers.", no_args_is_help=True)
console = Console()
ConfigOption = typer.Option(None, "--config", help="Accounts file (default: FOLLOWBACK_CONFIG).")


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


def _config(path: Path | None):
    try:
        return load_config(path)
    except ConfigError as error:
        _fail(str(error))


SUMMARY_SQL = """
WITH latest AS (
    SELECT account_id, direction, max(snapshot_date) AS snapshot_date
    FROM staging.stg_list_snapshots GROUP BY ALL
),
first_dates AS (
    SELECT account_id, direction, min(snapshot_date) AS first_date
    FROM staging.stg_list_snapshots GROUP BY ALL
),
current_edges AS (
    SELECT edges.account_id, edges.direction, edges.user_id, edges.valid_from, edges.valid_to
    FROM core.follow_edges AS edges
    INNER JOIN latest ON latest.account_id = edges.account_id
        AND latest.direction = edges.direction
)
SELECT
    accounts.handle,
    count(*) FILTER (WHERE direction = 'follower' AND valid_to IS NULL) AS followers,
    count(*) FILTER (WHERE direction = 'following' AND valid_to IS NULL) AS following,
    count(*) FILTER (WHERE direction = 'follower' AND valid_from > first_dates.first_date)
        AS gained,
    count(*) FILTER (WHERE direction = 'follower' AND valid_to IS NOT NULL) AS lost,
    (SELECT count(*) FROM current_edges AS f
     INNER JOIN current_edges AS g ON g.user_id = f.user_id AND g.account_id = f.account_id
     WHERE f.account_id = accounts.account_id AND f.direction = 'follower'
       AND g.direction = 'following' AND f.valid_to IS NULL AND g.valid_to IS NULL) AS mutuals
FROM current_edges
INNER JOIN meta.accounts AS accounts USING (account_id)
INNER JOIN first_dates USING (account_id, direction)
GROUP BY accounts.account_id, accounts.handle
ORDER BY accounts.handle
"""


def print_summary(settings) -> None:
    with open_warehouse(settings, read_only=True) as con:
        rows = con.execute(SUMMARY_SQL).fetchall()
    table = Table(title=f"Followback summary ({settings.db_path})")
    for column in ("account", "followers", "following", "gained", "lost", "mutuals"):
        table.add_column(column, justify="left" if column == "account" else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
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
    try:
        with Progress(console=console) as progress:
            job = progress.add_task("Simulating days", total=days * len(accounts))
            for offset in range(days):
                day = first + timedelta(days=offset)
                for account in accounts:
                    progress.update(job, description=f"{account.handle} {day}")
                    run.run_day(account.handle, day, config)
                    progress.advance(job)
    except WarehouseLockedError as error:
        _fail(str(error))
    print_summary(config.settings)
    console.print(f"Warehouse: {config.settings.db_path}")


@app.command("run")
def run_command(
    date_: str = typer.Option(..., "--date", help="The snapshot date, YYYY-MM-DD."),
    account: list[str] = typer.Option(None, "--account", help="Handle; repeat. Default: all."),
    config_path: Path | None = ConfigOption,
) -> None:
    """Run one day (extract, load, transform) for the configured accounts."""
    config = _config(config_path)
    try:
        day = run.parse_date(date_)
        handles = [config.account(h).handle for h in account] if account else run.tracked_accounts(config)
        for handle in handles:
            loaded = run.run_day(handle, day, config)
            console.print(f"{handle} {day}: loaded {loaded['rows']}")
    except (ValueError, ConfigError, WarehouseLockedError) as error:
        _fail(str(error))


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


if __name__ == "__main__":
    app()
