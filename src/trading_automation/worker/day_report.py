"""What a trading day did, read from the database: its orders and its closes of lots, and the
daily summary the close-job sends (orders, fills, exits, P&L, anything that needs a person)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from trading_automation.db import Database, Trade, TradeStatus
from trading_automation.db.repositories.snapshots import DayClose
from trading_automation.domain.enums import AlertLevel, OrderSide
from trading_automation.domain.money import exact_sum, format_quantity
from trading_automation.domain.money import format_usd as usd
from trading_automation.notify.events import Event
from trading_automation.notify.run_events import CAUSE_WORDS, UNFILLED
from trading_automation.worker.guards import day_bounds


@dataclass(frozen=True)
class DayActivity:
    """The trades created on a New York day and the closes of lots made that day."""

    trades: list[Trade]
    closes: list[DayClose]

    @property
    def realized_pl(self) -> Decimal:
        """What the day's priced closes realized, exactly."""
        return exact_sum(pl for close in self.closes if (pl := close.realized_pl) is not None)

    def counts(self) -> Counter[str]:
        """Buys and sells of the day by status."""
        return Counter(f"{t.side.value.lower()} {t.status.value}" for t in self.trades)


def day_activity(database: Database, day: date) -> DayActivity:
    """The day's trades (oldest first) and closes (one read-only transaction)."""
    start, end = day_bounds(day)
    with database.transaction(readonly=True) as uow:
        trades = list(
            uow.session.scalars(
                select(Trade)
                .where(Trade.created_at >= start, Trade.created_at < end)
                .order_by(Trade.created_at, Trade.id)
            )
        )
        closes = uow.snapshots.closes_between(start, end)
    return DayActivity(trades, closes)


@dataclass(frozen=True)
class Balances:
    """The account at the close, and the day's P&L."""

    equity: Decimal
    cash: Decimal
    long_market_value: Decimal
    positions: int
    day_pl: Decimal | None


def daily_summary(
    day: date, activity: DayActivity, balances: Balances | None, attention: list[str]
) -> Event:
    """The day's summary as one alert (INFO, or WARNING when something needs a person)."""
    trades = activity.trades
    buys = [t for t in trades if t.side is OrderSide.BUY]
    filled = [t for t in buys if (t.filled_qty or 0) > 0]
    unfilled = [t for t in trades if t.status in UNFILLED]
    skipped = [t for t in trades if t.status is TradeStatus.SKIPPED]
    priced = [c for c in activity.closes if c.price is not None]
    outside = [c for c in activity.closes if c.price is None]
    realized = usd(activity.realized_pl, signed=True)
    if balances is not None:
        change = (
            f" ({usd(balances.day_pl, signed=True)} today)" if balances.day_pl is not None else ""
        )
        title = f"Daily summary {day}: equity {usd(balances.equity)}{change}"
        money = (
            f"equity {usd(balances.equity)}, cash {usd(balances.cash)}, positions "
            f"{usd(balances.long_market_value)} in {balances.positions} symbols; "
            + (
                f"day P&L {usd(balances.day_pl, signed=True)} (equity against the last close); "
                if balances.day_pl is not None
                else "no earlier close to compare with; "
            )
            + f"realized by today's closes {realized}."
        )
    else:
        title = f"Daily summary {day}: the account could not be read"
        money = f"unknown: Alpaca did not give the account; realized by today's closes {realized}."
    details = [
        f"bought {t.symbol} {format_quantity(t.filled_qty or Decimal(0))} shares"
        + (f" for {usd(t.filled_qty * t.filled_avg_price)}" if t.filled_avg_price else "")
        for t in filled
        if t.filled_qty is not None
    ]
    details += [
        f"sold {c.symbol} {format_quantity(c.quantity)} ({CAUSE_WORDS.get(c.cause, c.cause)})"
        + (f", P&L {usd(pl, signed=True)}" if (pl := c.realized_pl) is not None else "")
        for c in priced
    ]
    details += [
        f"{c.symbol} {format_quantity(c.quantity)} recorded as sold outside the system"
        for c in outside
    ]
    details += [f"{t.symbol} {t.side.value.lower()}: {t.status.value}" for t in unfilled]
    return Event(
        kind="daily_summary",
        level=AlertLevel.WARNING if attention else AlertLevel.INFO,
        trading_date=day,
        problem="",
        title=title,
        happened=(
            f"the market closed. Orders today: {len(buys)} buys ({len(filled)} filled, "
            f"{len(skipped)} skipped by a guardrail), {len(trades) - len(buys)} sells; "
            f"{len(priced)} lot closes by exits, {len(outside)} sold outside the system; "
            f"{len(unfilled)} orders failed or ended unfilled."
        ),
        money=money,
        todo="; ".join(attention) if attention else "nothing.",
        details=details,
    )
