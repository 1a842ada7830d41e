"""The open-job with a strategy file, against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from tests.factories import quiver_record
from tests.worker_support import QUICK, assert_one_order_per_trade, run_job, trades
from trading_automation.db import CongressTradeFeed, Database, FilingSkip, TradeStatus
from trading_automation.sandbox import OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)

# The fixture days 2024-06-18 .. 06-20 hold twelve BUY filings. This strategy buys three of them
# (Ro Khanna's MSFT, Nancy Pelosi's AAPL, Zoë Lofgren's CRWD) and says why it skips each other.
STRATEGY = """
[members]
exclude = ["Kevin Hern"]
[filings]
min_trade_size_usd = 1001
exclude_tickers = ["JPM"]
max_report_lag_days = 7
[sizing]
method = "scaled"
usd = 500
brackets = [
  { from_usd = 1001, multiplier = 1 },
  { from_usd = 15001, multiplier = 2 },
  { from_usd = 1000001, multiplier = 4 },
]
max_usd = 1500
"""
SKIPPED = {
    "filings.max_report_lag_days": 6,
    "members.exclude": 1,
    "filings.exclude_tickers": 1,
    "filings.min_trade_size_usd": 1,
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


@pytest.fixture
def strategy_file(tmp_path: Path) -> str:
    path = tmp_path / "strategy.toml"
    path.write_text(STRATEGY)
    return str(path)


def _skips(database: Database) -> dict[str, FilingSkip]:
    """Each skip by symbol and rule (the last of several)."""
    with database.transaction(readonly=True) as uow:
        return {s.symbol + "/" + s.rule: s for s in uow.session.scalars(select(FilingSkip))}


def _skip_count(database: Database) -> int:
    with database.transaction(readonly=True) as uow:
        return len(list(uow.session.scalars(select(FilingSkip.id))))


def _notionals(sandbox: Sandbox) -> dict[str, Decimal]:
    return {order["symbol"]: Decimal(order["notional"]) for order in sandbox.broker.orders()}


def test_a_run_buys_what_the_strategy_decides_and_stores_why_it_skips_the_rest(
    database: Database, sandbox: Sandbox, strategy_file: str
) -> None:
    result = run_job(database, sandbox, strategy_file=strategy_file)

    assert result.exit_code == 0, result.lines
    assert _notionals(sandbox) == {
        "MSFT": Decimal(500),
        "AAPL": Decimal(1500),  # $500 x 4 for a disclosed $1,000,001, cut to max_usd
        "CRWD": Decimal(500),
    }
    assert {t.symbol: t.planned_notional for t in trades(database)} == _notionals(sandbox)
    assert result.summary is not None
    assert result.summary.orders.skipped == SKIPPED
    assert result.summary.strategy is not None
    assert result.summary.strategy["file"] == strategy_file
    skips = _skips(database)
    assert _skip_count(database) == 9
    assert skips["NVDA/filings.max_report_lag_days"].reason == (
        "filed 8 days after the trade; max_report_lag_days is 7"
    )
    assert skips["UNH/filings.min_trade_size_usd"].reason == (
        "size not disclosed; filings.min_trade_size_usd $1,001.00"
    )
    assert skips["BRK.A/members.exclude"].reason == (
        "Kevin Hern is excluded (members.exclude: Kevin Hern)"
    )
    assert all(s.congress_trade_feed_id is not None for s in skips.values())
    assert all(s.job_run_id is not None for s in skips.values())
    assert all(s.strategy_sha256 == result.summary.strategy["sha256"] for s in skips.values())


def test_a_skip_is_final_a_forced_rerun_decides_nothing_again(
    database: Database, sandbox: Sandbox, strategy_file: str
) -> None:
    run_job(database, sandbox, strategy_file=strategy_file)

    # Even without the strategy, nothing skipped before is bought now.
    again = run_job(database, sandbox, replace(QUICK, force=True))

    assert again.summary is not None
    assert sandbox.broker.accepted_count == 3
    assert again.summary.orders.already_skipped == 9
    assert again.summary.orders.already_traded == 3
    assert again.summary.orders.skipped == {}


def test_a_dry_run_says_what_the_strategy_would_buy_and_skip(
    database: Database, sandbox: Sandbox, strategy_file: str
) -> None:
    preview = run_job(database, sandbox, replace(QUICK, dry_run=True), strategy_file=strategy_file)
    real = run_job(database, sandbox, strategy_file=strategy_file)

    assert preview.summary is not None
    assert real.summary is not None
    assert preview.summary.orders.skipped == real.summary.orders.skipped == SKIPPED
    assert any(
        line.startswith("  would buy $1,500.00 of AAPL")
        and "$500.00 x 4 for a disclosed size from $1,000,001.00" in line
        for line in preview.lines
    )
    assert (
        "  would skip      NVDA   (Debbie Wasserman Schultz, filed 2024-06-18): "
        "filings.max_report_lag_days: filed 8 days after the trade; max_report_lag_days is 7"
    ) in preview.lines


def test_a_filing_filed_long_before_the_fetched_day_is_stored_and_decided(
    database: Database, tmp_path: Path
) -> None:
    old = quiver_record(Ticker="MSFT", Name="Ro Khanna", Filed="2024-05-01", Traded="2024-04-30")
    fresh = quiver_record(Ticker="AAPL", Name="Ro Khanna", Filed="2024-06-20", Traded="2024-06-18")
    (tmp_path / "2024-06-20.json").write_text(json.dumps([old, fresh]))
    path = tmp_path / "strategy.toml"
    path.write_text("[filings]\nmax_filing_age_days = 5\n")
    with Sandbox(now=OPEN, quiver_directory=tmp_path, script=OrderScript(fill_after_polls=1)) as sb:
        result = run_job(database, sb, strategy_file=str(path))
        bought = [order["symbol"] for order in sb.broker.orders()]

    with database.transaction(readonly=True) as uow:
        stored = sorted(uow.session.scalars(select(CongressTradeFeed.ticker)))
    assert stored == ["AAPL", "MSFT"]
    assert bought == ["AAPL"]
    assert _skips(database)["MSFT/filings.max_filing_age_days"].reason == (
        "filed 50 days before 2024-06-20; max_filing_age_days is 5"
    )
    assert result.summary is not None
    assert result.summary.orders.skipped == {"filings.max_filing_age_days": 1}


def test_an_amended_filing_of_a_bought_transaction_is_never_bought_again(
    database: Database, tmp_path: Path
) -> None:
    first = quiver_record(Filed="2024-06-18", Trade_Size_USD="1001 - 15000")
    amended = quiver_record(Filed="2024-06-20", Trade_Size_USD="15001 - 50000")
    later = quiver_record(Filed="2024-06-21", Name="Nancy  PELOSI", Comments="re-upload")
    (tmp_path / "2024-06-18.json").write_text(json.dumps([first]))
    (tmp_path / "2024-06-20.json").write_text(json.dumps([amended]))
    (tmp_path / "2024-06-21.json").write_text(json.dumps([later]))
    with Sandbox(now=OPEN, quiver_directory=tmp_path, script=OrderScript(fill_after_polls=1)) as sb:
        first_run = run_job(database, sb, replace(QUICK, requested_date=date(2024, 6, 18)))
        second_run = run_job(database, sb)
        sb.broker.set_now(datetime(2024, 6, 21, 13, 30, tzinfo=UTC))
        third_run = run_job(database, sb)
        accepted = sb.broker.accepted_count

    assert first_run.summary is not None
    assert second_run.summary is not None
    assert third_run.summary is not None
    assert accepted == 1
    assert [t.symbol for t in trades(database)] == ["AAPL"]
    assert second_run.summary.orders.skipped == {"amendment": 1}
    assert third_run.summary.orders.skipped == {"amendment": 1}
    with database.transaction(readonly=True) as uow:
        records = list(uow.session.scalars(select(CongressTradeFeed)))
    original = next(r for r in records if r.filing_date == date(2024, 6, 18))
    assert sorted(str(r.amends_id) for r in records if r is not original) == [str(original.id)] * 2


def test_concurrent_runs_never_exceed_the_portfolio_limits(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(
        "[sizing]\nmin_usd = 100\n[limits]\nmax_open_positions = 4\ncash_floor_usd = 6500\n"
    )
    results = []

    def run(sandbox: Sandbox, requested: date | None) -> None:
        own = Database.from_settings(make_settings(migrated_url, db_busy_timeout_ms=30_000))
        try:
            options = replace(QUICK, requested_date=requested)
            results.append(run_job(own, sandbox, options, strategy_file=str(path)))
        finally:
            own.dispose()

    with Sandbox(now=OPEN, cash="10000", script=OrderScript(fill_after_polls=1)) as sandbox:
        threads = [
            threading.Thread(target=run, args=(sandbox, day))
            for day in (None, date(2024, 6, 18), date(2024, 6, 17))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        spent = sum(
            (Decimal(order["notional"] or 0) for order in sandbox.broker.orders()), Decimal(0)
        )
        assert_one_order_per_trade(sandbox, database)

    assert len(results) == 3
    placed = [
        t for t in trades(database) if t.status not in (TradeStatus.SKIPPED, TradeStatus.FAILED)
    ]
    planned = sum((t.planned_notional or Decimal(0) for t in placed), Decimal(0))
    # $10,000 of cash, $6,500 never spent: at most $3,500 planned and sent, in four symbols.
    assert Decimal(1000) <= planned <= Decimal(3500)
    assert spent <= Decimal(3500)
    assert len({t.symbol for t in placed}) <= 4
    skipped_by = {rule for r in results if r.summary for rule in r.summary.orders.skipped}
    assert skipped_by & {"limits.cash_floor_usd", "limits.max_open_positions"}
