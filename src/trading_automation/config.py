"""Validated settings read from the environment and `.env` (SPEC §6).

`load_settings()` is the one way in: it either returns a complete `Settings` or raises
`ConfigurationError` naming every bad variable at once. Nothing here runs at import time.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from trading_automation.errors import ConfigurationError
from trading_automation.urls import (
    APPRISE_URL,
    HOST_NAME,
    MASK,
    PAPER_ALPACA_BASE_URL,
    is_ip_address,
    is_loopback_host,
    is_paper_alpaca_url,
    mask_url,
    normalize_database_url,
    split_notify_urls,
)

DEFAULT_DATABASE_URL = "sqlite:///trading_automation.db"
DEFAULT_ENV_FILE = ".env"

PoolMode = Literal["direct", "session", "transaction"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
NotifyLevel = Literal["info", "warning", "error"]

MIN_DASHBOARD_PASSWORD_LENGTH = 8


class Settings(BaseSettings):
    """Every setting the system reads. Field names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    # Database
    database_url: str = DEFAULT_DATABASE_URL
    direct_database_url: str | None = None
    database_pool_mode: PoolMode = "direct"
    db_pool_size: int = Field(default=5, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    db_pool_timeout_s: float = Field(default=30.0, gt=0)
    db_connect_timeout_s: int = Field(default=10, ge=1)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    db_busy_timeout_ms: int = Field(default=10_000, ge=0)
    db_log_queries: bool = False

    # Broker (PAPER_TRADING comes first: the base URL is checked against it)
    paper_trading: bool = True
    alpaca_key_id: SecretStr | None = None
    alpaca_secret_key: SecretStr | None = None
    alpaca_base_url: str = PAPER_ALPACA_BASE_URL
    alpaca_data_base_url: str = "https://data.alpaca.markets"
    # The market-data feed: iex (free plans) or sip (every US exchange; a paid subscription).
    alpaca_data_feed: Literal["iex", "sip"] = "iex"

    # Disclosures
    quiver_api_key: SecretStr | None = None
    quiver_base_url: str = "https://api.quiverquant.com/beta"
    quiver_bulk_requests_per_hour: int = Field(default=5, ge=1, le=10_000)

    # HTTP clients (Alpaca and Quiver)
    http_connect_timeout_s: float = Field(default=5.0, gt=0)
    http_read_timeout_s: float = Field(default=15.0, gt=0)
    http_retry_attempts: int = Field(default=4, ge=1, le=20)
    http_retry_budget_s: float = Field(default=30.0, gt=0)
    http_retry_backoff_s: float = Field(default=0.5, ge=0)

    # Trading
    trading_enabled: bool = True
    trade_notional_usd: Decimal = Field(
        default=Decimal("1000"), gt=0, max_digits=18, decimal_places=2
    )
    daily_max_filings: int | None = Field(default=None, ge=0)
    per_ticker_daily_max: int | None = Field(default=None, ge=0)
    # The strategy (TOML, see strategy_file.py); unset: TRADE_NOTIONAL_USD for every BUY filing.
    strategy_file: str | None = None

    # Exits (see domain.exits): what a member's partial sale does, the holding limit in trading
    # days, and the stops in percent of a lot's fill price (unset: off).
    exit_on_partial_sale: Literal["all", "half", "none"] = "all"
    max_hold_days: int | None = Field(default=None, ge=1, le=10_000)
    stop_loss_pct: Decimal | None = Field(default=None, gt=0, lt=100, decimal_places=4)
    take_profit_pct: Decimal | None = Field(default=None, gt=0, le=100_000, decimal_places=4)

    # The backtest: the yearly risk-free rate its Sharpe and Sortino ratios subtract (0.04 = 4%).
    backtest_risk_free_rate: Decimal = Field(default=Decimal(0), ge=0, lt=1, decimal_places=6)

    # The open-job
    open_job_poll_s: float = Field(default=60.0, ge=0, le=3600)
    job_lease_s: float = Field(default=300.0, ge=10)

    # The dashboard (`trading-automation web`)
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8000, ge=0, le=65535)
    dashboard_username: str | None = None
    dashboard_password: SecretStr | None = None
    dashboard_cache_s: float = Field(default=60.0, ge=0, le=86_400)
    dashboard_rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)

    # Alerts (see trading_automation.notify): Apprise URLs, unset = no alerts; the least level
    # sent; how long a run waits for them; trading days without new filings before an alert.
    notify_urls: SecretStr | None = None
    notify_level: NotifyLevel = "info"
    notify_timeout_s: float = Field(default=10.0, gt=0, le=300)
    quiet_days: int = Field(default=3, ge=1, le=250)

    log_level: LogLevel = "INFO"

    @field_validator("database_url", "direct_database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_database_url(value)

    @field_validator("alpaca_base_url", "alpaca_data_base_url", "quiver_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("expected an http(s) URL such as https://host/path")
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in the URL; use the key variables")
        return value.strip().rstrip("/")

    @field_validator("dashboard_host")
    @classmethod
    def _dashboard_host(cls, value: str) -> str:
        text = value.strip()
        if not HOST_NAME.match(text) and not is_ip_address(text):
            raise ValueError("expected a host name or an IP address such as 127.0.0.1 or 0.0.0.0")
        return text

    @field_validator("dashboard_password")
    @classmethod
    def _dashboard_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_DASHBOARD_PASSWORD_LENGTH:
            raise ValueError(f"must be at least {MIN_DASHBOARD_PASSWORD_LENGTH} characters long")
        return value

    @field_validator("alpaca_data_feed", mode="before")
    @classmethod
    def _data_feed(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("exit_on_partial_sale", mode="before")
    @classmethod
    def _partial_sale(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("notify_urls")
    @classmethod
    def _notify_urls(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        urls = split_notify_urls(value.get_secret_value())
        bad = [index for index, url in enumerate(urls, 1) if not APPRISE_URL.match(url)]
        if bad:
            # The URLs themselves are not shown: they carry tokens and passwords.
            raise ValueError(
                f"URL {', '.join(map(str, bad))} of {len(urls)} is not an Apprise URL "
                "(scheme://..., e.g. json://host/path, mailto://user:pass@host, ntfy://topic)"
            )
        return value if urls else None

    @field_validator("notify_level", mode="before")
    @classmethod
    def _notify_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("alpaca_base_url")
    @classmethod
    def _paper_only(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("paper_trading", True) and not is_paper_alpaca_url(value):
            raise ValueError(
                f"not the paper endpoint ({PAPER_ALPACA_BASE_URL}) while PAPER_TRADING is true; "
                "set PAPER_TRADING=false to trade a live account"
            )
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # repr() and str() must be as safe to log as `config show`.
        for name, value in super().__repr_args__():
            if name in _URL_FIELDS and isinstance(value, str):
                yield name, mask_url(value)
            else:
                yield name, value

    @property
    def job_lease(self) -> timedelta:
        """How long a run stays held without a heartbeat before another run may take it over."""
        return timedelta(seconds=self.job_lease_s)

    @property
    def dashboard_auth(self) -> tuple[str, str] | None:
        """The dashboard's basic-auth user name and password, when both are set."""
        if self.dashboard_username and self.dashboard_password is not None:
            return self.dashboard_username, self.dashboard_password.get_secret_value()
        return None

    def dashboard_problems(self) -> list[str]:
        """Why the dashboard must not start with these settings (empty when it may)."""
        has_user = bool(self.dashboard_username)
        has_password = self.dashboard_password is not None
        if has_user != has_password:
            return [
                "DASHBOARD_USERNAME/DASHBOARD_PASSWORD: set both for HTTP basic auth, or neither"
            ]
        if not has_user and not is_loopback_host(self.dashboard_host):
            return [
                f"DASHBOARD_HOST: {self.dashboard_host} is reachable from other machines; set "
                "DASHBOARD_USERNAME and DASHBOARD_PASSWORD (HTTP basic auth) or bind 127.0.0.1"
            ]
        return []

    @property
    def notify_url_list(self) -> list[str]:
        """The Apprise URLs of NOTIFY_URLS, in order (empty: alerts are off)."""
        if self.notify_urls is None:
            return []
        return split_notify_urls(self.notify_urls.get_secret_value())

    @property
    def migration_database_url(self) -> str:
        """The URL migrations connect with: DIRECT_DATABASE_URL when set, else DATABASE_URL."""
        return self.direct_database_url or self.database_url

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds, for redaction of logs and messages."""
        values = [
            secret.get_secret_value()
            for secret in (
                self.alpaca_key_id,
                self.alpaca_secret_key,
                self.quiver_api_key,
                self.dashboard_password,
            )
            if secret is not None and secret.get_secret_value()
        ]
        for url in (self.database_url, self.direct_database_url, *self.notify_url_list):
            password = urlsplit(url).password if url else None
            if password:
                values.append(password)
        # A notification URL is a credential as a whole (its path often holds the token).
        values.extend(self.notify_url_list)
        return values

    def masked(self) -> dict[str, str]:
        """Every setting as the environment variable name and a printable, secret-free value."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = MASK if value.get_secret_value() else "(empty)"
            elif value is None:
                text = "(not set)"
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif name in {"database_url", "direct_database_url"}:
                text = mask_url(str(value))
            else:
                text = str(value)
            shown[name.upper()] = text
        return shown


_SECRET_FIELDS = frozenset(
    {"alpaca_key_id", "alpaca_secret_key", "quiver_api_key", "dashboard_password", "notify_urls"}
)
_URL_FIELDS = frozenset({"database_url", "direct_database_url"})


def _first_line(text: str, line: int) -> int:
    # A binding starts with the blank lines before it; its own line is the first that is not.
    blank = text[: len(text) - len(text.lstrip())]
    return line + len(blank.replace("\r\n", "\n").replace("\r", "\n").split("\n")) - 1


def _describe(error: dict[str, Any]) -> str:
    location = [str(part) for part in error.get("loc", ())]
    field = location[0] if location else ""
    variable = field.upper() if field else "configuration"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if (
        field
        and field not in _SECRET_FIELDS
        and "input" in error
        and error.get("type") != "missing"
    ):
        shown = error["input"]
        if isinstance(shown, str):
            shown = mask_url(shown) if field in _URL_FIELDS else shown
            return f"{variable}: {message} (got {shown!r})"
    return f"{variable}: {message}"


def load_settings(*, warn: Callable[[str], None] | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; raise `ConfigurationError` on any problem.

    `_env_file` names another file (None: none); `warn` receives one line per unknown key in it.
    """
    env_file = overrides.get("_env_file", DEFAULT_ENV_FILE)
    if isinstance(env_file, str | PathLike) and Path(env_file).is_file():
        for warning in check_env_file(env_file):
            if warn is not None:
                warn(warning)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [_describe(dict(error)) for error in exc.errors(include_url=False)]
        raise ConfigurationError(problems) from None


def check_env_file(path: str | PathLike[str]) -> list[str]:
    """A warning for each key of a `.env` file that is no setting (naming the closest one);
    raise `ConfigurationError` naming the file and line of anything that is not KEY=value."""
    from dotenv.parser import parse_stream

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError([f"{path}: not UTF-8 text"]) from None
    except OSError as error:
        raise ConfigurationError([f"{path}: cannot be read ({error.strerror})"]) from None
    known = sorted(name.upper() for name in Settings.model_fields)
    warnings: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        where = f"{path}, line {_first_line(binding.original.string, binding.original.line)}"
        if binding.error:
            # The line itself is not shown: it may hold a secret.
            raise ConfigurationError(
                [f"{where}: not KEY=value (an unclosed quote or a stray character?)"]
            )
        if binding.key is None or binding.key.upper() in known:
            continue
        import difflib

        close = difflib.get_close_matches(binding.key.upper(), known, n=1)
        hint = f"did you mean {close[0]}?" if close else ".env.example lists every setting"
        warnings.append(f"{where}: {binding.key} is not a setting and is ignored; {hint}")
    return warnings
