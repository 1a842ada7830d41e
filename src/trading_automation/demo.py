"""The offline demonstration: the open-job against the local sandbox, on an embedded SQLite file.

No credentials and no network beyond 127.0.0.1: the sandbox serves the fixture week of Juneteenth
2024 and an in-memory paper account; the job runs for the fixture trading day (2024-06-20), once
more with --force to show that no filing is ever bought twice, then for the next trading day
(2024-06-21), whose disclosures include members' sales: their lots are closed by mirrored sales
and the realized P&L is shown.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from trading_automation import fixtures
from trading_automation.cli.tables import render_table
from trading_automation.clients import AlpacaClient, QuiverClient
from trading_automation.config import Settings
from trading_automation.db import CongressTradeFeed, Database, LotClose, Trade
from trading_automation.db.migrate import alembic_config, upgrade
from trading_automation.domain.money import (
    exact_product,
    exact_sum,
    format_price,
    format_quantity,
    format_usd,
    shorten,
)
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox import OrderScript, Sandbox
from trading_automation.worker.open_job import OpenJob, OpenJobOptions, OpenJobResult

DEMO_DATABASE = "trading_automation.db"
PROGRAM = "trading-automation"


def dashboard_hint(program: str = PROGRAM, directory: Path | None = None) -> str:
    """The line that ends the demo: how to open the dashboard on it (`directory`: the demo's
    `--dir` when it is not the default)."""
    where = f" --dir {shlex.quote(str(directory))}" if directory is not None else ""
    return (
        f"open the dashboard on this demo: {program} web --demo{where} "
        "(recreates it with its sandbox broker and serves http://127.0.0.1:8000/overview)"
    )


# Illustrative prices later on the demo day, for `web --demo`: the fills happened at the open's
# latest trades, so without a move every position would show a P&L of exactly zero.
LATER_PRICES = {
    "AAPL": Decimal("209.68"),
    "AMZN": Decimal("186.10"),
    "CRWD": Decimal("378.98"),
    "GOOGL": Decimal("177.02"),
    "JPM": Decimal("197.81"),
    "KKR": Decimal("105.11"),
    "MSFT": Decimal("449.78"),
    "NVDA": Decimal("130.78"),
    "UNH": Decimal("494.65"),
}


@dataclass(frozen=True)
class DemoResult:
    """What the demo did, for the caller to report."""

    database_file: Path
    first: OpenJobResult
    second: OpenJobResult
    broker_orders_after_first: int
    broker_orders_after_second: int
    next_day: OpenJobResult

    @property
    def ok(self) -> bool:
        """Every run succeeded, and the forced rerun ordered nothing."""
        runs = (self.first, self.second, self.next_day)
        return all(run.exit_code == 0 for run in runs) and (
            self.broker_orders_after_first == self.broker_orders_after_second
        )


def fresh_database_file(directory: Path, name: str = DEMO_DATABASE) -> Path:
    """The demo database path in `directory`, with any previous demo database removed."""
    directory.mkdir(parents=True, exist_ok=True)
    database_file = (directory / name).resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database_file}{suffix}").unlink(missing_ok=True)
    return database_file


@dataclass(frozen=True)
class LiveDemo:
    """A finished demo whose sandbox broker still runs: its positions are the demo's fills."""

    result: DemoResult
    sandbox: Sandbox
    settings: Settings


def run_demo(directory: Path, *, echo: Callable[[str], None]) -> DemoResult:
    """Run the demo in `directory`, printing as it goes."""
    with live_demo(directory, echo=echo) as demo:
        return demo.result


@contextmanager
def live_demo(directory: Path, *, echo: Callable[[str], None]) -> Iterator[LiveDemo]:
    """Run the demo in `directory`, then keep its sandbox running until the block ends."""
    database_file = fresh_database_file(directory)
    with Sandbox(script=OrderScript(fill_after_polls=1)) as sandbox:
        settings = sandbox.settings(
            database_url=f"sqlite:///{database_file}",
            trading_enabled=True,
            trade_notional_usd=Decimal("1000"),
            daily_max_filings=None,
            per_ticker_daily_max=None,
            log_level="WARNING",
        )
        upgrade(alembic_config(settings))
        database = Database.from_settings(settings)
        try:
            echo(
                f"sandbox broker at {sandbox.alpaca.url}, Quiver at {sandbox.quiver.base_url}; "
                f"market clock {sandbox.broker.now():%Y-%m-%d %H:%M} UTC "
                f"(09:30 in New York on {fixtures.DEMO_TRADING_DAY})\n"
            )
            with sandbox.alpaca_client() as alpaca, sandbox.quiver_client() as quiver:
                job = OpenJob(
                    settings=settings, database=database, alpaca=alpaca, quiver=quiver, echo=echo
                )
                first = job.run(OpenJobOptions(poll_budget_s=15))
                after_first = sandbox.broker.accepted_count
                echo("")
                echo(trades_table(database))
                skips = _skips_line(first)
                if skips:
                    echo(skips)
                echo(f"\nthe broker holds {after_first} orders\n")
                echo("running the open-job again (--force) for the same day:")
                rerun = OpenJob(
                    settings=settings, database=database, alpaca=alpaca, quiver=quiver, echo=echo
                )
                second = rerun.run(OpenJobOptions(force=True, poll_budget_s=2))
                after_second = sandbox.broker.accepted_count
                echo(
                    f"second run: {second.summary.orders.submitted if second.summary else 0} new "
                    f"orders; the broker still holds {after_second} orders\n"
                )
                next_day = _next_trading_day(
                    sandbox, settings, database, alpaca=alpaca, quiver=quiver, echo=echo
                )
        finally:
            database.dispose()
        result = DemoResult(database_file, first, second, after_first, after_second, next_day)
        yield LiveDemo(result, sandbox, settings)


def _skips_line(result: OpenJobResult) -> str:
    """With a strategy file (STRATEGY_FILE): how many filings it skipped, by rule."""
    summary = result.summary
    if summary is None or summary.strategy is None:
        return ""
    counts = ", ".join(f"{rule} {count}" for rule, count in sorted(summary.orders.skipped.items()))
    return f"\nskipped by the strategy in {summary.strategy['file']}: {counts or 'none'}"


def _next_trading_day(
    sandbox: Sandbox,
    settings: Settings,
    database: Database,
    *,
    alpaca: AlpacaClient,
    quiver: QuiverClient,
    echo: Callable[[str], None],
) -> OpenJobResult:
    """The open of 2024-06-21 at later prices: members' sales close their lots."""
    day = fixtures.DEMO_SECOND_DAY
    sandbox.broker.set_now(datetime.combine(day, time(9, 30), NEW_YORK))
    sandbox.broker.set_prices(LATER_PRICES)
    echo(f"the next trading day, {day}: members' sales close their lots")
    result = OpenJob(
        settings=settings, database=database, alpaca=alpaca, quiver=quiver, echo=echo
    ).run(OpenJobOptions(poll_budget_s=15))
    echo("")
    echo(closes_table(database))
    return result


def closes_table(database: Database) -> str:
    """Every closed (part of a) lot: who bought it, why it closed, and its realized P&L."""
    with database.transaction(readonly=True) as uow:
        rows = uow.session.execute(
            select(LotClose, Trade, CongressTradeFeed.member_name)
            .join(Trade, LotClose.lot_trade_id == Trade.id)
            .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
            .order_by(LotClose.closed_at, LotClose.id)
        ).all()
    total = Decimal(0)
    table = []
    for close, lot, member in rows:
        realized = None
        if close.price is not None and lot.filled_avg_price is not None:
            realized = exact_product(close.quantity, close.price - lot.filled_avg_price)
            total = exact_sum([total, realized])
        table.append(
            (
                lot.symbol,
                member or "",
                close.cause.value.lower().replace("_", " "),
                format_quantity(close.quantity),
                format_price(lot.filled_avg_price) if lot.filled_avg_price else "",
                format_price(close.price) if close.price is not None else "",
                format_usd(realized, signed=True) if realized is not None else "",
            )
        )
    body = render_table(
        ["symbol", "member", "closed by", "quantity", "bought at", "sold at", "realized P&L"],
        table,
    )
    return f"{body}\n\nrealized P&L: {format_usd(total, signed=True)}"


def trades_table(database: Database) -> str:
    """Every trade with the filing behind it: symbol, member, status, amount, fill price."""
    with database.transaction(readonly=True) as uow:
        rows = uow.session.execute(
            select(Trade, CongressTradeFeed.member_name)
            .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
            .order_by(Trade.created_at, Trade.id)
        ).all()
    return render_table(
        ["symbol", "member", "status", "notional / qty", "fill price", "reason"],
        [
            (
                trade.symbol,
                member or "",
                trade.status.value,
                _amount(trade),
                format_price(trade.filled_avg_price) if trade.filled_avg_price else "",
                shorten(trade.status_reason or "", 70),
            )
            for trade, member in rows
        ],
    )


def _amount(trade: Trade) -> str:
    if trade.notional_submitted is not None:
        return format_usd(trade.notional_submitted)
    if trade.qty_submitted is not None:
        return f"{format_quantity(trade.qty_submitted)} shares"
    return ""
