"""Settings and the tracked-account configuration, in one place.

Every tunable (paths, metric windows, validation tolerances) has a default here and can be
overridden in the `settings:` block of the accounts file or, for paths, by environment variables.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SOURCES = ("simulated", "x_api", "archive")
PERSONAS = ("organic", "autofollower", "brand")
FULL_SCAN_POLICIES = ("daily", "incremental")
# X handles are 1-15 letters, digits or underscores; anything else is refused before it can reach
# a path or a SQL statement.
HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")


class ConfigError(ValueError):
    """The accounts file or a setting is wrong; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_path: Path
    # Metric definitions (../shared/reference/metrics.md).
    churn_window_days: int = 7
    followback_window_days: int = 30
    lopsided_min_ratio: float = 10.0
    lopsided_min_following: int = 1000
    # A tracked account is flagged as churning its own following when it had at least this many
    # follow-then-unfollow episodes (without follow-back) in the last churn window.
    self_churn_min_episodes: int = 10
    # Question detection: when false, only the tweets an account names under `questions:` count.
    detect_questions: bool = True
    # Validation: how far a fetched list may differ from the count the source states, and how much
    # a follower list may shrink day over day before the day is quarantined.
    count_tolerance: float = 0.02
    max_daily_shrink: float = 0.10
    # Raw tables keep every row of this many latest days (at least 1); older days keep only what
    # the models need (pipeline/retention.py), so storage grows with changes, not with days.
    raw_retention_days: int = 2
    # DuckDB's own memory in a pipeline process (beyond it, it spills to disk). Its default, 80% of
    # RAM, lets one task of a 10M-follower account take most of a worker.
    duckdb_memory_limit: str = "3GB"
    # X API (../shared/reference/x-api.md): estimated USD per resource read, pay-per-use 2026.
    # "Owned" reads are the token owner's own followers, following and tweets.
    x_price_user_read: float = 0.010
    x_price_owned_read: float = 0.001
    x_price_post_read: float = 0.005
    # full_scan: incremental reads every page at least this often, even when no count says
    # a follower left.
    x_reconcile_every_days: int = 7
    # ... and whenever the profile's count says more than this share of the known and new users
    # left. At 0, any loss reconciles, so an account losing someone every day (at 0.1% a day,
    # any account over a few thousand followers) reads every page every day. Above 0, losses
    # wait for the scheduled reconcile, which dates them; keep it below count_tolerance, or the
    # list that still carries them fails validation.
    x_reconcile_min_lost_share: float = 0.0
    # A long scan writes its pages to the checkpoint this often, so a killed worker loses little.
    x_checkpoint_every_pages: int = 50
    # A 5xx or a dropped connection is retried in place this many times, backing off exponentially.
    x_server_error_attempts: int = 3
    x_server_error_backoff_seconds: float = 5.0
    # Simulation.
    seed: int = 42
    sim_epoch: str = "2026-01-01"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def validation_dir(self) -> Path:
        return self.data_dir / "validation"


@dataclass(frozen=True)
class Account:
    handle: str
    source: str = "simulated"
    persona: str | None = None
    # Simulated only: overrides the persona's follower count (used by benchmarks).
    followers: int | None = None
    full_scan: str = "daily"
    # Tweet ids named explicitly: True = is a question, False = is not (overrides auto-detection).
    questions: dict[str, bool] = field(default_factory=dict)
    # X API only: the bearer token's app belongs to this account, so its own lists and tweets are
    # billed at the Owned Reads price.
    owned: bool = False


@dataclass(frozen=True)
class Config:
    settings: Settings
    accounts: tuple[Account, ...]

    def account(self, handle: str) -> Account:
        for account in self.accounts:
            if account.handle.lower() == handle.lower():
                return account
        known = ", ".join(a.handle for a in self.accounts) or "none"
        raise ConfigError(
            f"Unknown account {handle!r}. Accounts in the config: {known}. "
            "Add it to the accounts file (FOLLOWBACK_CONFIG) first."
        )


def default_config_path() -> Path:
    return Path(os.environ.get("FOLLOWBACK_CONFIG", PROJECT_ROOT / "config" / "accounts.yml"))


def default_settings(**overrides) -> Settings:
    data_dir = Path(os.environ.get("FOLLOWBACK_DATA_DIR", PROJECT_ROOT / "data"))
    db_path = Path(os.environ.get("FOLLOWBACK_DB", data_dir / "followback.duckdb"))
    return replace(Settings(data_dir=data_dir, db_path=db_path), **overrides)


def _parse_account(raw: dict) -> Account:
    if not isinstance(raw, dict) or "handle" not in raw:
        raise ConfigError(f"Each account needs a 'handle'; got {raw!r}.")
    handle = str(raw["handle"])
    if not HANDLE_PATTERN.match(handle):
        raise ConfigError(
            f"Account handle {handle!r} is not a valid X handle (1-15 letters, digits or _)."
        )
    source = raw.get("source", "simulated")
    if source not in SOURCES:
        raise ConfigError(f"Account {handle}: source must be one of {SOURCES}, not {source!r}.")
    persona = raw.get("persona")
    if source == "simulated" and persona not in PERSONAS:
        raise ConfigError(f"Account {handle}: simulated accounts need a persona in {PERSONAS}.")
    full_scan = raw.get("full_scan", "daily")
    if full_scan not in FULL_SCAN_POLICIES:
        raise ConfigError(
            f"Account {handle}: full_scan must be one of {FULL_SCAN_POLICIES}, not {full_scan!r}."
        )
    owned = raw.get("owned", False)
    if not isinstance(owned, bool):
        raise ConfigError(f"Account {handle}: owned must be true or false, not {owned!r}.")
    questions = raw.get("questions") or {}
    if isinstance(questions, list):
        questions = {str(tweet_id): True for tweet_id in questions}
    return Account(
        handle=handle,
        source=source,
        persona=persona,
        followers=raw.get("followers"),
        full_scan=full_scan,
        questions={str(k): bool(v) for k, v in questions.items()},
        owned=owned,
    )


def load_config(path: Path | None = None) -> Config:
    path = Path(path) if path else default_config_path()
    if not path.exists():
        raise ConfigError(f"Accounts file {path} not found. Set FOLLOWBACK_CONFIG or create it.")
    raw = yaml.safe_load(path.read_text()) or {}
    known = {f.name for f in fields(Settings)} - {"data_dir", "db_path"}
    overrides = raw.get("settings") or {}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"Unknown settings in {path}: {sorted(unknown)}. Known: {sorted(known)}.")
    settings = default_settings(**overrides)
    if not 0 <= settings.x_reconcile_min_lost_share < settings.count_tolerance:
        raise ConfigError(
            f"{path}: x_reconcile_min_lost_share must be at least 0 and below count_tolerance "
            f"({settings.count_tolerance}): an incremental list carries the followers who left "
            "until the next reconcile, and more of them than count_tolerance fails validation."
        )
    accounts = tuple(_parse_account(a) for a in raw.get("accounts") or [])
    handles = [a.handle.lower() for a in accounts]
    if len(handles) != len(set(handles)):
        raise ConfigError(f"{path} lists an account twice.")
    return Config(settings=settings, accounts=accounts)
