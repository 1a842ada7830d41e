"""`trading-automation strategy check [FILE]` and `strategy explain --date YYYY-MM-DD`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from trading_automation.cli.context import AppContext, pass_app
from trading_automation.cli.params import DATE

if TYPE_CHECKING:
    from trading_automation.db import CongressTradeFeed, FilingSkip, Trade
    from trading_automation.domain.strategy import Decision, Strategy
    from trading_automation.strategy_file import LoadedStrategy


@click.group()
def strategy() -> None:
    """Check the strategy file and explain the decisions it makes."""


@strategy.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@pass_app
def check(app: AppContext, file: str | None) -> None:
    """Validate FILE (default: STRATEGY_FILE) and print the strategy in effect, defaults filled in.

    Exit status 0 when it is valid, 2 (with every problem named) when it is not.
    """
    from trading_automation.strategy_toml import render

    app.strategy_file = file
    settings = app.plain_settings
    loaded = app.strategy
    click.echo(render(loaded, settings))
    for warning in member_warnings_for(app, loaded.strategy):
        click.echo(f"warning: {warning}", err=True)


def member_warnings_for(app: AppContext, strategy: Strategy) -> list[str]:
    """The strategy's member names no stored filing carries (none when there is no database)."""
    if not (strategy.members.include or strategy.members.exclude):
        return []
    from trading_automation.cli.context import sqlite_file
    from trading_automation.db.errors import DatabaseError
    from trading_automation.strategy_file import member_warnings

    settings = app.settings
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        return []
    try:
        with app.database.transaction(readonly=True) as uow:
            names = uow.feed.member_names()
    except DatabaseError:
        return []
    return member_warnings(strategy, names)


@strategy.command("explain")
@click.option("--date", "day", type=DATE, required=True, help="The filing date to explain.")
@pass_app
def explain(app: AppContext, day: date) -> None:
    """For each stored filing of a day: what the strategy decides now, and what was recorded."""
    from trading_automation.domain.filings import normalize_record

    loaded = app.strategy
    with app.database.transaction(readonly=True) as uow:
        records = uow.feed.filed_on(day)
        hashes = [r.source_hash for r in records if r.source_hash]
        trades = uow.trades.by_source_hashes(hashes)
        skips = uow.skips.by_source_hash(hashes)
        firsts = uow.feed.originals(r.transaction_key for r in records)
    click.echo(f"strategy: {loaded.label}")
    noun = "filing" if len(records) == 1 else "filings"
    click.echo(f"{len(records)} {noun} stored with filing date {day}")
    for record in records:
        filing = normalize_record(record.raw_json)
        first = firsts.get(record.transaction_key or "")
        amends = None
        if first is not None and first.source_hash != record.source_hash:
            amends = first.filing_date
        click.echo()
        click.echo(_heading(record))
        click.echo(f"  now:      {_now(filing, amends, loaded, day)}")
        click.echo(f"  recorded: {_recorded(record, trades, skips)}")


def _heading(record: CongressTradeFeed) -> str:
    traded = f", traded {record.trade_date}" if record.trade_date else ""
    return (
        f"{record.member_name or 'unknown member'} · {record.ticker or 'no ticker'} · "
        f"{record.transaction.value}{traded} · filed {record.filing_date}"
    )


def _now(filing: object, amends: date | None, loaded: LoadedStrategy, day: date) -> str:
    """What the strategy decides for the filing today, the account's limits aside."""
    from trading_automation.domain.decide import FilingFacts, decide, screen
    from trading_automation.domain.enums import FeedTransaction
    from trading_automation.domain.filings import NormalizedFiling
    from trading_automation.domain.strategy import Limits

    assert isinstance(filing, NormalizedFiling)
    if filing.malformed:
        return f"not traded: malformed ({'; '.join(filing.problems)})"
    if filing.transaction is not FeedTransaction.BUY:
        return f"not bought: its transaction is {filing.transaction.value}, not a purchase"
    facts = FilingFacts.from_filing(filing, amends=amends)
    strategy = loaded.strategy
    skip = screen(facts, strategy, today=day)
    if skip is not None:
        return _words(skip)
    if strategy.sizing.method == "equity_pct":
        return f"buy {strategy.sizing.equity_pct}% of equity at the run{_limits(loaded)}"
    unlimited = strategy.model_copy(update={"limits": Limits()})
    decision = decide(facts, unlimited, None, today=day)
    return _words(decision) + (_limits(loaded) if decision.buys else "")


def _limits(loaded: LoadedStrategy) -> str:
    return "; the limits are checked at the run" if loaded.strategy.needs_account else ""


def _words(decision: Decision) -> str:
    from trading_automation.domain.money import format_usd

    if decision.amount is not None:
        return f"buy {format_usd(decision.amount)} ({decision.reason})"
    return f"skip by {decision.rule}: {decision.reason}"


def _recorded(
    record: CongressTradeFeed, trades: dict[str, Trade], skips: dict[str, FilingSkip]
) -> str:
    from decimal import Decimal

    from trading_automation.domain.enums import FeedTransaction
    from trading_automation.domain.money import format_quantity, format_usd

    if record.problems or record.transaction is not FeedTransaction.BUY:
        return "—"
    key = record.source_hash or ""
    skip = skips.get(key)
    trade = trades.get(key)
    if skip is not None:
        return f"skipped by {skip.rule}: {skip.reason}"
    if trade is None:
        return "nothing yet (no run has decided it)"
    amount = trade.notional_submitted or trade.planned_notional
    size = (
        format_usd(amount)
        if amount is not None
        else f"{format_quantity(trade.qty_submitted or Decimal(0))} shares"
    )
    reason = f": {trade.status_reason}" if trade.status_reason else ""
    return f"bought {size}, {trade.status.value}{reason}"
