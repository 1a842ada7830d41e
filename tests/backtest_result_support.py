"""Backtest results built by hand for the metrics', attribution's and report's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from trading_automation.backtest.result import (
    BacktestResult,
    ClosedPart,
    EquityDay,
    Fill,
    OpenPosition,
    Params,
    Skip,
    Who,
)
from trading_automation.domain.enums import CloseCause, OrderSide

FIRST_CLOSE = date(2024, 1, 2)
ALICE = Who("Alice Adams", "DEMOCRAT", "House")
BOB = Who("Bob Brown", "REPUBLICAN", "Senate")
CAROL = Who("Carol Clark", "DEMOCRAT", "Senate")


def close_day(index: int) -> date:
    """The day of close `index` (0 is the first close): consecutive weekdays."""
    day = FIRST_CLOSE
    for _ in range(index):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def make_result(
    equity: Sequence[Decimal | int | str],
    *,
    capital: Decimal | int | str = 100,
    benchmark: Sequence[Decimal | int | str | None] | None = None,
    cash: Sequence[Decimal | int | str] | None = None,
    risk_free_rate: Decimal | str = "0",
    fills: Sequence[Fill] = (),
    closed: Sequence[ClosedPart] = (),
    open_lots: Sequence[OpenPosition] = (),
    skips: Sequence[Skip] = (),
    sales_without_lot: int = 0,
) -> BacktestResult:
    """A result whose closes have these equities (all invested unless `cash` says otherwise)
    and, when given, these benchmark closes."""
    closes = benchmark if benchmark is not None else [None] * len(equity)
    cash_held = cash if cash is not None else [0] * len(equity)
    days = [
        EquityDay(
            day=close_day(index),
            cash=Decimal(held),
            market_value=Decimal(value) - Decimal(held),
            benchmark_close=None if close is None else Decimal(close),
        )
        for index, (value, held, close) in enumerate(zip(equity, cash_held, closes, strict=True))
    ]
    last = days[-1].day if days else FIRST_CLOSE
    return BacktestResult(
        params=Params(
            start=FIRST_CLOSE,
            end=last,
            capital=Decimal(capital),
            risk_free_rate=Decimal(risk_free_rate),
        ),
        strategy_sha256="ab" * 32,
        benchmark="SPY",
        equity=days,
        fills=list(fills),
        closed=list(closed),
        skips=list(skips),
        sales_without_lot=sales_without_lot,
        open_lots=list(open_lots),
    )


def part(
    lot: int,
    pnl: Decimal | int | str,
    *,
    who: Who = ALICE,
    cause: CloseCause = CloseCause.MIRRORED_SALE,
    held_days: int = 5,
    closed: date | None = None,
    cost: Decimal | int | str = 100,
) -> ClosedPart:
    """A closed part of `lot` with this P&L (proceeds = cost + pnl)."""
    return ClosedPart(
        lot=lot,
        symbol="AAA",
        who=who,
        cause=cause,
        opened=FIRST_CLOSE,
        closed=closed or close_day(held_days),
        held_days=held_days,
        quantity=Decimal(1),
        cost=Decimal(cost),
        proceeds=Decimal(cost) + Decimal(pnl),
    )


def position(lot: int, pnl: Decimal | int | str, *, who: Who = ALICE) -> OpenPosition:
    """A lot still open at the end with this unrealized P&L (value = 100 + pnl)."""
    return OpenPosition(
        lot=lot,
        symbol="BBB",
        who=who,
        opened=FIRST_CLOSE,
        quantity=Decimal(2),
        cost=Decimal(100),
        value=Decimal(100) + Decimal(pnl),
    )


def fill(
    index: int,
    side: OrderSide,
    amount: Decimal | int | str,
    *,
    lot: int = 1,
    who: Who = ALICE,
    cause: CloseCause | None = None,
    reason: str = "",
) -> Fill:
    """A fill on close `index`'s day of 2 shares for `amount`."""
    total = Decimal(amount)
    return Fill(
        day=close_day(index),
        symbol="AAA",
        side=side,
        quantity=Decimal(2),
        price=total / 2,
        amount=total,
        lot=lot,
        who=who,
        cause=cause,
        reason=reason,
    )
