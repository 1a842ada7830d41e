"""The `trading-automation` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import make_settings
from trading_automation.db import migrate, migrations

VERSIONS = Path(migrations.__file__).parent / "versions"

SECRETS = {
    "ALPACA_KEY_ID": "AKID-cli-0001",
    "ALPACA_SECRET_KEY": "alpaca-cli-secret-0002",
    "QUIVER_API_KEY": "quiver-cli-secret-0003",
}


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DB_", "ALPACA_", "QUIVER_", "TRADE", "PAPER_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "trading_automation", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")

    assert result.returncode == 0
    for command in ("config", "db", "demo"):
        assert command in result.stdout


def test_invalid_configuration_exits_2_naming_every_bad_variable_without_traceback(
    tmp_path: Path,
) -> None:
    result = run_cli(
        "config",
        "show",
        env={
            "DB_POOL_SIZE": "zero",
            "DATABASE_POOL_MODE": "sideways",
            "ALPACA_BASE_URL": "https://api.alpaca.markets",
            "DATABASE_URL": "oracle://scott:tiger-pass@db/x",
            **SECRETS,
        },
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid configuration (4 problems)" in result.stderr
    for variable in ("DB_POOL_SIZE", "DATABASE_POOL_MODE", "ALPACA_BASE_URL", "DATABASE_URL"):
        assert variable in result.stderr
    for secret in [*SECRETS.values(), "tiger-pass"]:
        assert secret not in result.stderr + result.stdout


def test_config_show_prints_every_setting_with_secrets_masked(tmp_path: Path) -> None:
    result = run_cli(
        "config",
        "show",
        env={"DATABASE_URL": "postgres://app:db-cli-pass@db:5432/app", **SECRETS},
        cwd=tmp_path,
    )

    assert result.returncode == 0
    shown = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())
    assert shown["DATABASE_URL"] == "postgresql+psycopg://app:********@db:5432/app"
    assert shown["ALPACA_SECRET_KEY"] == "********"
    for secret in [*SECRETS.values(), "db-cli-pass"]:
        assert secret not in result.stdout + result.stderr


def test_config_show_reads_the_env_file_option(tmp_path: Path) -> None:
    (tmp_path / "custom.env").write_text("TRADE_NOTIONAL_USD=42.50\n")

    result = run_cli("--env-file", "custom.env", "config", "show", cwd=tmp_path)

    assert result.returncode == 0
    shown = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())
    assert shown["TRADE_NOTIONAL_USD"] == "42.50"


@pytest.fixture
def empty_url(backend: str, make_empty_url: Callable[[str], str]) -> str:
    return make_empty_url(backend)


def test_db_commands_migrate_report_and_check(empty_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": empty_url}
    if empty_url.startswith("sqlite:///"):
        Path(empty_url.removeprefix("sqlite:///")).touch()  # an empty SQLite database

    before = run_cli("db", "current", env=env, cwd=tmp_path)
    behind = run_cli("db", "check", env=env, cwd=tmp_path)
    upgraded = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    current = run_cli("db", "current", env=env, cwd=tmp_path)
    history = run_cli("db", "history", env=env, cwd=tmp_path)
    check = run_cli("db", "check", env=env, cwd=tmp_path)
    status = run_cli("db", "status", env=env, cwd=tmp_path)
    downgraded = run_cli("db", "downgrade", "base", env=env, cwd=tmp_path)

    assert before.stdout.strip() == "base (empty schema)"
    assert behind.returncode == 1
    [said] = behind.stderr.splitlines()  # no "Detected added table" line per table
    assert said.endswith("run `trading-automation db upgrade` first")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at 0008_backtest (head)" in upgraded.stdout
    assert current.stdout.strip() == "0008_backtest (head)"
    assert "0007_strategy -> 0008_backtest (head)" in history.stdout
    assert "<base> -> 0001" in history.stdout
    assert check.returncode == 0, check.stderr
    assert "no differences" in check.stdout
    assert check.stderr == ""  # no Alembic plugin set-up chatter
    assert "revision  0008_backtest (head 0008_backtest, up to date)" in status.stdout
    assert "trade" in status.stdout
    assert downgraded.returncode == 0, downgraded.stderr
    assert "is at base" in downgraded.stdout


def test_db_check_exits_1_and_shows_the_difference(empty_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": empty_url}
    run_cli("db", "upgrade", env=env, cwd=tmp_path)
    engine = create_engine(make_settings(empty_url).database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_trade_status_created_at_id"))
    engine.dispose()

    result = run_cli("db", "check", env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert "models and migrations disagree" in result.stderr
    assert "ix_trade_status_created_at_id" in result.stderr


def test_db_revision_writes_nothing_and_says_so_when_the_models_match(
    empty_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": empty_url}
    run_cli("db", "upgrade", env=env, cwd=tmp_path)
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    shipped = sorted(path.name for path in VERSIONS.glob("*.py"))

    head = migrate.head_revision(migrate.alembic_config(make_settings(empty_url)))

    result = run_cli(
        "db", "revision", "-m", "probe", "--version-path", str(drafts), env=env, cwd=tmp_path
    )
    try:
        in_the_package = run_cli("db", "revision", "-m", "probe", env=env, cwd=tmp_path)
        written = sorted(path.name for path in VERSIONS.glob("*.py"))
    finally:
        for path in VERSIONS.glob("*_probe.py"):
            path.unlink()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"no changes: the models match revision {head}; nothing written"
    assert list(drafts.iterdir()) == []
    assert in_the_package.returncode == 0, in_the_package.stderr
    assert "no changes" in in_the_package.stdout
    assert written == shipped


def test_db_revision_empty_still_writes_the_blank_revision_asked_for(tmp_path: Path) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()

    result = run_cli(
        "db", "revision", "-m", "blank", "--empty", "--version-path", str(drafts), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    [written] = list(drafts.glob("*.py"))
    assert str(written) in result.stdout
    head = migrate.head_revision(migrate.alembic_config(make_settings("sqlite://")))
    assert f"down_revision: str | None = '{head}'" in written.read_text()
    assert not (tmp_path / "trading_automation.db").exists()


def test_unreachable_database_is_one_clear_line_with_the_password_masked(tmp_path: Path) -> None:
    result = run_cli(
        "db",
        "upgrade",
        env={"DATABASE_URL": "postgresql://app:cli-secret-pw@127.0.0.1:1/x"},
        cwd=tmp_path,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: database unavailable" in result.stderr
    assert "cli-secret-pw" not in result.stderr


def test_demo_buys_the_fixture_filings_once_and_says_where_the_database_is(
    tmp_path: Path,
) -> None:
    result = run_cli("demo", cwd=tmp_path)

    database_file = tmp_path / "demo-data" / "trading_automation.db"
    assert result.returncode == 0, result.stderr
    assert database_file.exists()
    assert f"database file: {database_file}" in result.stdout
    assert "the broker holds 11 orders" in result.stdout
    assert "second run: 0 new orders; the broker still holds 11 orders" in result.stdout
    assert (
        result.stdout.rstrip()
        .splitlines()[-1]
        .startswith("open the dashboard on this demo: trading-automation web --demo (")
    )
    kkr = next(line for line in result.stdout.splitlines() if line.startswith("KKR"))
    brka = next(line for line in result.stdout.splitlines() if line.startswith("BRK.A"))
    assert "FILLED" in kkr
    assert "9 shares" in kkr
    assert "SKIPPED" in brka


def test_the_lazy_command_list_matches_each_commands_own_help() -> None:
    import importlib

    from trading_automation.cli import LAZY_COMMANDS

    for name, (module, attribute, short_help) in LAZY_COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert command.get_short_help_str(1000) == short_help, name


@dataclass(frozen=True)
class HelpProbe:
    """What a command line printed, and every module loaded by then."""

    stdout: str
    modules: frozenset[str]


def help_probe(
    module: str, columns: str = "80", args: tuple[str, ...] = ("--help",), cwd: Path | None = None
) -> HelpProbe:
    """`trading-automation ARGS` through `module`'s main in a fresh interpreter, COLUMNS set."""
    code = (
        "import json, sys\n"
        f"from {module} import main\n"
        f"sys.argv = ['trading-automation', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**environment, "COLUMNS": columns},
        cwd=cwd,
        check=True,
        timeout=60,
    )
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    return HelpProbe(result.stdout, frozenset(modules))


@pytest.mark.parametrize("columns", ["60", "100"])
def test_the_entry_point_prints_clicks_own_help_without_a_kept_copy(columns: str) -> None:
    through_entry = help_probe("trading_automation.entry", columns)

    assert through_entry.stdout == help_probe("trading_automation.cli", columns).stdout
    assert "click" in through_entry.modules
    assert max(len(line) for line in through_entry.stdout.splitlines()) <= int(columns)
    assert "version" in through_entry.stdout


def test_help_imports_no_command_module() -> None:
    loaded = help_probe("trading_automation.cli").modules

    assert sorted(m for m in loaded if m.startswith("trading_automation.cli.")) == [
        "trading_automation.cli.context"
    ]


HEAVY = {"sqlalchemy", "alembic", "httpx", "structlog", "psycopg", "starlette", "uvicorn"}


@pytest.mark.parametrize("args", [("--help",), ("open-job", "--help"), ("db", "upgrade", "-h")])
def test_help_loads_neither_settings_nor_database_nor_http_nor_logging(
    args: tuple[str, ...],
) -> None:
    loaded = {
        name.split(".")[0] for name in help_probe("trading_automation.entry", args=args).modules
    }

    assert loaded & (HEAVY | {"pydantic", "pydantic_settings", "dotenv"}) == set()


def test_config_show_loads_the_settings_but_no_database_http_or_logging(tmp_path: Path) -> None:
    probe = help_probe("trading_automation.entry", args=("config", "show"), cwd=tmp_path)
    loaded = {name.split(".")[0] for name in probe.modules}

    assert "DATABASE_URL" in probe.stdout
    assert "pydantic_settings" in loaded
    assert loaded & HEAVY == set()
