"""`strategy explain` and `strategy check` on a database a real run decided, as a subprocess."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.test_cli import run_cli
from tests.test_strategy_job import STRATEGY
from tests.worker_support import run_job
from trading_automation.db import Database
from trading_automation.db.migrate import alembic_config, upgrade
from trading_automation.sandbox import OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


@pytest.fixture
def decided_url(make_empty_url: Callable[[str], str], tmp_path: Path) -> tuple[str, Path]:
    """A SQLite database after a run of the fixture day with the test strategy, and its file."""
    url = make_empty_url("sqlite")
    upgrade(alembic_config(make_settings(url)))
    path = tmp_path / "strategy.toml"
    path.write_text(STRATEGY)
    database = Database.from_settings(make_settings(url))
    try:
        with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as sandbox:
            assert run_job(database, sandbox, strategy_file=str(path)).exit_code == 0
    finally:
        database.dispose()
    return url, path


def test_explain_shows_each_filing_of_the_day_with_its_decision_and_what_was_recorded(
    decided_url: tuple[str, Path], tmp_path: Path
) -> None:
    url, path = decided_url

    result = run_cli(
        "strategy",
        "explain",
        "--date",
        "2024-06-19",
        env={"DATABASE_URL": url, "STRATEGY_FILE": str(path)},
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("\n\n")
    assert blocks[0].splitlines() == [
        f"strategy: {path} (sha256 {blocks[0].split('sha256 ')[1][:12]})",
        "5 filings stored with filing date 2024-06-19",
    ]
    assert (
        "Ro Khanna · MSFT · BUY, traded 2024-06-12 · filed 2024-06-19\n"
        "  now:      buy $500.00 ($500.00 x 1 for a disclosed size from $1,001.00)\n"
        "  recorded: bought $500.00, FILLED"
    ) in blocks
    assert (
        "Michael T. McCaul · JPM · BUY, traded 2024-06-12 · filed 2024-06-19\n"
        "  now:      skip by filings.exclude_tickers: JPM is in filings.exclude_tickers\n"
        "  recorded: skipped by filings.exclude_tickers: JPM is in filings.exclude_tickers"
    ) in blocks
    assert (
        "Dan Crenshaw · TSLA · SELL, traded 2024-06-07 · filed 2024-06-19\n"
        "  now:      not bought: its transaction is SELL, not a purchase\n"
        "  recorded: —"
    ) in blocks


def test_explain_with_another_strategy_says_what_it_would_decide_beside_what_happened(
    decided_url: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = decided_url

    result = run_cli(
        "strategy", "explain", "--date", "2024-06-19", env={"DATABASE_URL": url}, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "strategy: no strategy file (TRADE_NOTIONAL_USD for every BUY filing)" in result.stdout
    assert (
        "  now:      buy $1,000.00 (fixed $1,000.00)\n"
        "  recorded: skipped by filings.exclude_tickers: JPM is in filings.exclude_tickers"
    ) in result.stdout


def test_check_warns_about_a_member_no_stored_filing_names(
    decided_url: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = decided_url
    path = tmp_path / "names.toml"
    path.write_text('[members]\ninclude = ["Nancy Pelosy", "Tommy Tuberville"]\n')

    result = run_cli("strategy", "check", str(path), env={"DATABASE_URL": url}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        "warning: members.include: 'Nancy Pelosy' matches no stored filing; closest names "
        "seen: Nancy Pelosi"
    )


def test_explain_refuses_a_date_that_is_not_one(tmp_path: Path) -> None:
    result = run_cli("strategy", "explain", "--date", "2024-02-30", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "2024-02-30 is not a date" in result.stderr


def test_open_job_prints_skips_per_rule_and_warns_about_an_unknown_member(
    make_empty_url: Callable[[str], str], tmp_path: Path
) -> None:
    url = make_empty_url("sqlite")
    upgrade(alembic_config(make_settings(url)))
    path = tmp_path / "strategy.toml"
    path.write_text(STRATEGY + "\n# a name no filing carries\n")
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as sandbox:
        # A first run stores the week's filings; the second names a member none of them has.
        env = {**sandbox.env(), "DATABASE_URL": url, "OPEN_JOB_POLL_S": "2"}
        first = run_cli("open-job", env=env | {"STRATEGY_FILE": str(path)}, cwd=tmp_path)
        other = tmp_path / "other.toml"
        other.write_text('[members]\ninclude = ["Nancy Pelosy"]\n')
        second = run_cli(
            "open-job", "--force", env=env | {"STRATEGY_FILE": str(other)}, cwd=tmp_path
        )

    assert first.returncode == 0, first.stderr
    assert re.search(r"skipped: strategy rule filings\.max_report_lag_days +6\n", first.stdout)
    assert re.search(r"skipped: strategy rule members\.exclude +1\n", first.stdout)
    assert second.returncode == 0, second.stderr
    assert (
        "warning: members.include: 'Nancy Pelosy' matches no stored filing; closest names "
        "seen: Nancy Pelosi"
    ) in second.stderr
    assert "already skipped (a skip is final)" in second.stdout
