"""Configuration: validation, defaults, URL handling, masking, and the shipped `.env.example`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from trading_automation.config import Settings, check_env_file, load_settings
from trading_automation.errors import ConfigurationError
from trading_automation.urls import mask_url

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_use_an_embedded_sqlite_file_and_the_paper_endpoint() -> None:
    settings = load_settings(_env_file=None)

    assert settings.database_url == "sqlite:///trading_automation.db"
    assert settings.migration_database_url == settings.database_url
    assert settings.database_pool_mode == "direct"
    assert settings.alpaca_base_url == "https://paper-api.alpaca.markets"
    assert settings.paper_trading is True
    assert settings.trading_enabled is True
    assert settings.trade_notional_usd == Decimal("1000")
    assert settings.daily_max_filings is None
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@db:5432/app",
        "postgresql://u:p@db:5432/app",
        "postgresql+psycopg://u:p@db:5432/app",
    ],
)
def test_postgres_urls_select_the_psycopg3_driver(url: str) -> None:
    settings = load_settings(_env_file=None, database_url=url)

    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/app"


def test_direct_url_is_used_for_migrations_when_set() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgres://app@pooler:6432/db",
        direct_database_url="postgres://app@primary:5432/db",
    )

    assert settings.migration_database_url == "postgresql+psycopg://app@primary:5432/db"


def test_every_invalid_variable_is_reported_in_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:pw-in-url@db/app")
    monkeypatch.setenv("DATABASE_POOL_MODE", "sometimes")
    monkeypatch.setenv("DB_POOL_SIZE", "0")
    monkeypatch.setenv("TRADE_NOTIONAL_USD", "12.345")
    monkeypatch.setenv("DAILY_MAX_FILINGS", "-1")
    monkeypatch.setenv("TRADING_ENABLED", "perhaps")
    monkeypatch.setenv("ALPACA_BASE_URL", "ftp://example.com")

    with pytest.raises(ConfigurationError) as raised:
        load_settings(_env_file=None)

    message = str(raised.value)
    assert raised.value.exit_code == 2
    assert len(raised.value.problems) == 7
    for variable in (
        "DATABASE_URL",
        "DATABASE_POOL_MODE",
        "DB_POOL_SIZE",
        "TRADE_NOTIONAL_USD",
        "DAILY_MAX_FILINGS",
        "TRADING_ENABLED",
        "ALPACA_BASE_URL",
    ):
        assert variable in message
    assert "pw-in-url" not in message


def test_live_endpoint_is_refused_while_paper_trading() -> None:
    with pytest.raises(ConfigurationError, match="ALPACA_BASE_URL: not the paper endpoint"):
        load_settings(_env_file=None, alpaca_base_url="https://api.alpaca.markets")


def test_live_endpoint_is_accepted_when_paper_trading_is_off() -> None:
    settings = load_settings(
        _env_file=None, paper_trading=False, alpaca_base_url="https://api.alpaca.markets"
    )

    assert settings.alpaca_base_url == "https://api.alpaca.markets"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8123", "http://localhost:9000/"])
def test_local_sandbox_counts_as_paper(url: str) -> None:
    settings = load_settings(_env_file=None, alpaca_base_url=url)

    assert settings.alpaca_base_url == url.rstrip("/")


def test_secret_values_never_appear_in_an_invalid_configuration_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALPACA_SECRET_KEY", "sk-live-very-secret")
    monkeypatch.setenv("QUIVER_API_KEY", "quiver-very-secret")
    monkeypatch.setenv("DB_POOL_SIZE", "many")

    with pytest.raises(ConfigurationError) as raised:
        load_settings(_env_file=None)

    assert "very-secret" not in str(raised.value)


def test_masked_settings_hide_secrets_and_database_passwords() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgres://app:db-pass-123@db/app",
        direct_database_url="postgres://admin:admin-pass-456@db/app",
        alpaca_key_id="AKID-123456",
        alpaca_secret_key="alpaca-secret-789",
        quiver_api_key="quiver-key-000",
    )

    shown = settings.masked()
    text = "\n".join(f"{name}={value}" for name, value in shown.items())

    for secret in (
        "db-pass-123",
        "admin-pass-456",
        "AKID-123456",
        "alpaca-secret-789",
        "quiver-key-000",
    ):
        assert secret not in text
    assert shown["DATABASE_URL"] == "postgresql+psycopg://app:********@db/app"
    assert shown["ALPACA_SECRET_KEY"] == "********"
    assert shown["DAILY_MAX_FILINGS"] == "(not set)"
    assert "app:db-pass-123" not in repr(settings)
    assert "alpaca-secret-789" not in repr(settings)


def test_secret_values_lists_every_secret_for_redaction() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgres://app:db-pass-123@db/app",
        alpaca_secret_key="alpaca-secret-789",
    )

    assert set(settings.secret_values()) == {"db-pass-123", "alpaca-secret-789"}


def test_settings_are_read_from_an_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TRADE_NOTIONAL_USD=250.50\nDAILY_MAX_FILINGS=\nLOG_LEVEL=debug\n")

    settings = load_settings(_env_file=env_file)

    assert settings.trade_notional_usd == Decimal("250.50")
    assert settings.daily_max_filings is None
    assert settings.log_level == "DEBUG"


def test_mask_url_leaves_urls_without_password_unchanged() -> None:
    assert mask_url("postgresql://app@db/app") == "postgresql://app@db/app"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url("postgresql://app:p%40ss@db/app") == "postgresql://app:********@db/app"


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = dict(
        line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")
    )

    assert set(documented) == {name.upper() for name in Settings.model_fields}
    defaults = load_settings(_env_file=None)
    example = load_settings(_env_file=ROOT / ".env.example")
    assert example == defaults


def test_the_dashboard_binds_loopback_by_default_and_may_start_without_auth() -> None:
    settings = load_settings(_env_file=None)

    assert settings.dashboard_host == "127.0.0.1"
    assert settings.dashboard_port == 8000
    assert settings.dashboard_auth is None
    assert settings.dashboard_problems() == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "dashboard.example.com"])
def test_the_dashboard_off_loopback_requires_a_user_name_and_password(host: str) -> None:
    without = load_settings(_env_file=None, dashboard_host=host)
    with_auth = load_settings(
        _env_file=None,
        dashboard_host=host,
        dashboard_username="ops",
        dashboard_password="correct horse",
    )

    [problem] = without.dashboard_problems()
    assert problem.startswith(f"DASHBOARD_HOST: {host} is reachable from other machines")
    assert with_auth.dashboard_problems() == []
    assert with_auth.dashboard_auth == ("ops", "correct horse")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_need_no_auth(host: str) -> None:
    assert load_settings(_env_file=None, dashboard_host=host).dashboard_problems() == []


def test_a_dashboard_user_name_without_a_password_is_refused_even_on_loopback() -> None:
    settings = load_settings(_env_file=None, dashboard_username="ops")

    assert settings.dashboard_problems() == [
        "DASHBOARD_USERNAME/DASHBOARD_PASSWORD: set both for HTTP basic auth, or neither"
    ]


def test_a_short_dashboard_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=None, dashboard_password="short")

    assert "DASHBOARD_PASSWORD: must be at least 8 characters long" in str(caught.value)
    assert "'short'" not in str(caught.value)


def test_the_dashboard_password_is_a_secret() -> None:
    settings = load_settings(
        _env_file=None, dashboard_username="ops", dashboard_password="dash-pass-4567"
    )

    assert "dash-pass-4567" in settings.secret_values()
    assert settings.masked()["DASHBOARD_PASSWORD"] == "********"
    assert "dash-pass-4567" not in repr(settings)


@pytest.mark.parametrize("host", ["http://0.0.0.0", "host name", "a/b", ""])
def test_a_dashboard_host_that_is_no_address_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match="DASHBOARD_HOST"):
        load_settings(_env_file=None, dashboard_host=host or " ")


def test_load_settings_reports_each_unknown_env_file_key_with_the_closest_setting(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "settings.env"
    env_file.write_text("export paper_trading=true\nDB_POOL_SIZ=3\nCRON_TZ=UTC\n")
    warnings: list[str] = []

    settings = load_settings(_env_file=env_file, warn=warnings.append)

    assert settings.db_pool_size == 5
    assert warnings == [
        f"{env_file}, line 2: DB_POOL_SIZ is not a setting and is ignored; "
        "did you mean DB_POOL_SIZE?",
        f"{env_file}, line 3: CRON_TZ is not a setting and is ignored; "
        ".env.example lists every setting",
    ]


def test_an_env_file_line_that_cannot_be_parsed_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=debug\n\nQUIVER_API_KEY='qk-unclosed-777\n")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=env_file)

    assert caught.value.problems == [
        f"{env_file}, line 3: not KEY=value (an unclosed quote or a stray character?)"
    ]
    assert "qk-unclosed-777" not in str(caught.value)


def test_an_env_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"LOG_LEVEL=\xff\xfe\n")

    with pytest.raises(ConfigurationError, match="not UTF-8 text"):
        load_settings(_env_file=env_file)


def test_the_shipped_env_example_draws_no_warning() -> None:
    assert check_env_file(ROOT / ".env.example") == []
