"""`trading-automation open-job` and `reconcile` as a person runs them: one line per problem, the
summary in words and dollars. A real subprocess against an in-process sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.test_cli import run_cli
from trading_automation.db.migrate import alembic_config, upgrade
from trading_automation.sandbox import OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


@pytest.fixture
def env(sandbox: Sandbox, make_empty_url: Callable[[str], str]) -> dict[str, str]:
    url = make_empty_url("sqlite")
    upgrade(alembic_config(make_settings(url)))
    return {**sandbox.env(), "DATABASE_URL": url, "OPEN_JOB_POLL_S": "2"}


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        ("2024-06-22", "2024-06-22 is not a trading day (weekend or holiday)"),
        ("2024-06-21", "the market has not opened on 2024-06-21 yet"),
    ],
)
def test_a_date_that_cannot_run_is_one_error_line_and_exit_2(
    env: dict[str, str], tmp_path: Path, day: str, problem: str
) -> None:
    result = run_cli("open-job", "--date", day, env=env, cwd=tmp_path)

    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: --date {day}: {problem}")
    assert result.stdout == ""


def test_a_scheduled_run_on_a_closed_day_exits_0_saying_so(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.broker.set_now(datetime(2024, 6, 22, 13, 30, tzinfo=UTC))

    result = run_cli("open-job", env=env, cwd=tmp_path)

    assert result.returncode == 0
    assert "nothing to do: 2024-06-22 is not a trading day" in result.stdout


def test_the_summary_speaks_in_words_and_dollars(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("open-job", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "skipped: one share costs more than TRADE_NOTIONAL_USD" in result.stdout
    assert "zero_shares" not in result.stdout
    assert "orders sent and placed" in result.stdout
    cash_line = next(line for line in result.stdout.splitlines() if "account after" in line)
    assert "cash $" in cash_line
    assert "," in cash_line.split("cash $")[1]  # thousands separators: $89,059.32


def test_a_rerun_counts_orders_found_at_the_broker_apart_from_new_ones(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, make_empty_url: Callable[[str], str]
) -> None:
    first = run_cli("open-job", env=env, cwd=tmp_path)
    fresh = make_empty_url("sqlite")
    upgrade(alembic_config(make_settings(fresh)))

    # A new database against the same broker: every order already exists there.
    again = run_cli("open-job", env={**env, "DATABASE_URL": fresh}, cwd=tmp_path)

    rows = {
        line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1]
        for line in again.stdout.splitlines()
        if line.strip() and line.rsplit(None, 1)[-1].isdigit()
    }
    assert first.returncode == 0
    assert rows["orders sent and placed"] == "0"
    assert rows["orders found already placed (not sent again)"] == "11"


def test_a_dry_run_on_a_database_without_the_schema_plans_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import sqlite3

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()

    result = run_cli(
        "open-job",
        "--dry-run",
        env={**sandbox.env(), "DATABASE_URL": f"sqlite:///{empty}"},
        cwd=tmp_path,
    )

    assert result.returncode != 0
    assert "would buy" not in result.stdout
    assert "trading-automation db upgrade" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_warnings_only_unless_log_level_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trading_automation.cli.context import terminal_log_level
    from trading_automation.config import load_settings

    monkeypatch.setattr("sys.stderr", _Terminal())

    assert terminal_log_level(load_settings(_env_file=None)) == "WARNING"
    assert terminal_log_level(load_settings(_env_file=None, log_level="INFO")) == "INFO"
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    assert terminal_log_level(load_settings(_env_file=None)) == "DEBUG"


def test_logs_kept_by_a_scheduler_keep_the_default_level(monkeypatch: pytest.MonkeyPatch) -> None:
    from trading_automation.cli.context import terminal_log_level
    from trading_automation.config import load_settings

    monkeypatch.delenv("LOG_LEVEL", raising=False)

    assert terminal_log_level(load_settings(_env_file=None)) == "INFO"  # stderr is a pipe here
