"""The dashboard's aggregates over every trade, computed by the database in a few queries.

Nothing here loads trades one by one: counts, sums and per-day counts are SQL aggregates, and the
P&L's inputs come back as one row per (member, party, symbol). Money is summed exactly on both
backends and rounded half-up to the cent (`domain.money.cents`) only in the figures shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Numeric, String, case, func, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import PRICE, QUANTITY, CongressTradeFeed, Trade
from trading_automation.domain.enums import Party, TradeStatus
from trading_automation.domain.money import cents
from trading_automation.domain.timestamps import NEW_YORK, utcnow
from trading_automation.errors import InvalidValueError

PER_DAY_WINDOW = 30
_Column = InstrumentedAttribute[Decimal | None]


@dataclass(frozen=True)
class TradeTotals:
    """Aggregates over all trades; money rounded half-up to the cent from exact sums."""

    by_status: dict[TradeStatus, int]
    notional_submitted: Decimal
    filled_value: Decimal
    filled_qty: Decimal


@dataclass(frozen=True)
class FillGroup:
    """The filled trades of one member, party and symbol: how many, their shares, exact cost."""

    member: str | None
    party: Party | None
    symbol: str
    trades: int
    filled_qty: Decimal
    cost: Decimal


@dataclass(frozen=True)
class Activity:
    """Trade counts for the overview: totals by status and per New York day."""

    totals: TradeTotals
    per_day: dict[date, int]
    newest_day: date | None


def trade_totals(uow: UnitOfWork) -> TradeTotals:
    """Counts by status, dollars submitted as notional orders, and what was filled (two queries)."""
    by_status = dict.fromkeys(TradeStatus, 0)
    for status, count in uow.session.execute(
        select(Trade.status, func.count()).group_by(Trade.status)
    ):
        by_status[TradeStatus(status)] = int(count)
    sums = _ExactSums(uow)
    submitted = case((Trade.alpaca_order_id.is_not(None), Trade.notional_submitted))
    notional, qty, value = uow.session.execute(
        select(
            func.sum(submitted),
            sums.quantity(Trade.filled_qty),
            sums.cost(Trade.filled_qty, Trade.filled_avg_price),
        )
    ).one()
    return TradeTotals(
        by_status=by_status,
        notional_submitted=cents(notional if notional is not None else Decimal(0)),
        filled_value=cents(sums.read_cost(value)),
        filled_qty=sums.read_quantity(qty),
    )


def per_day_counts(
    uow: UnitOfWork, *, days: int = PER_DAY_WINDOW, today: date | None = None
) -> dict[date, int]:
    """Trades created per America/New_York day over the `days` days to `today`, oldest first.

    Days without trades are present with 0. The days' bounds are New York midnights worked out
    here (a day is 23 or 25 hours when the clocks change); the database counts the trades between
    them in one query, reading only the window's rows.
    """
    if days < 1:
        raise InvalidValueError("days", "must be at least 1")
    last = today or utcnow().astimezone(NEW_YORK).date()
    first = last - timedelta(days=days - 1)
    starts = [datetime.combine(first + timedelta(days=n), time(0), NEW_YORK) for n in range(days)]
    end = datetime.combine(last + timedelta(days=1), time(0), NEW_YORK)
    # The first bound a trade is before names its day: bounds in order, so one CASE decides it.
    day = case(*((Trade.created_at < bound, n) for n, bound in enumerate([*starts[1:], end])))
    # Grouped outside: PostgreSQL would not match a GROUP BY copy of the CASE (its own parameters).
    window = (
        select(day.label("day"))
        .where(Trade.created_at >= starts[0], Trade.created_at < end)
        .subquery()
    )
    counts = dict.fromkeys(range(days), 0)
    for index, count in uow.session.execute(
        select(window.c.day, func.count()).group_by(window.c.day)
    ):
        counts[int(index)] = int(count)
    return {first + timedelta(days=n): counts[n] for n in range(days)}


def fill_groups(uow: UnitOfWork) -> list[FillGroup]:
    """Trades with shares filled, summed per member, party and symbol of their filing (one query).

    A trade whose filing is not stored has no member and no party.
    """
    sums = _ExactSums(uow)
    member, party = CongressTradeFeed.member_name, CongressTradeFeed.party
    rows = uow.session.execute(
        select(
            member,
            party,
            Trade.symbol,
            func.count(),
            sums.quantity(Trade.filled_qty),
            sums.cost(Trade.filled_qty, Trade.filled_avg_price),
        )
        .select_from(Trade)
        .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
        .where(Trade.filled_qty > 0, Trade.filled_avg_price.is_not(None))
        .group_by(member, party, Trade.symbol)
    )
    return [
        FillGroup(
            member=name,
            party=Party(side) if side is not None else None,
            symbol=symbol,
            trades=int(count),
            filled_qty=sums.read_quantity(qty),
            cost=sums.read_cost(cost),
        )
        for name, side, symbol, count, qty, cost in rows
    ]


def activity(uow: UnitOfWork, *, days: int = PER_DAY_WINDOW) -> Activity:
    """Totals by status, and trades per day over the `days` days ending on the newest trade's."""
    newest = uow.session.scalar(select(func.max(Trade.created_at)))
    newest_day = newest.astimezone(NEW_YORK).date() if newest is not None else None
    per_day = per_day_counts(uow, days=days, today=newest_day) if newest_day else {}
    return Activity(totals=trade_totals(uow), per_day=per_day, newest_day=newest_day)


class _ExactSums:
    """Exact SUM(qty) and SUM(qty x price) on the unit of work's backend.

    PostgreSQL's NUMERIC arithmetic is exact as it is. SQLite stores a decimal as a 64-bit
    integer scaled by 10**scale (`db.types.ExactDecimal`), so qty x price is scaled by 10**18 and
    overflows 64 bits for ordinary trades (10 shares at $100 is 10**21), and a sum of many
    quantities can too; SQLite's SUM would then fail, and TOTAL would round through a float.
    There, aggregate functions registered on the connection add the stored integers as Python
    integers, which have no size limit, and return the exact result as text.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        connection = uow.session.connection()
        self.sqlite = connection.dialect.name == "sqlite"
        if self.sqlite:
            driver: Any = connection.connection.driver_connection
            driver.create_aggregate("ta_exact_sum", 1, _ExactSum)
            driver.create_aggregate("ta_exact_product_sum", 2, _ExactProductSum)

    def quantity(self, column: _Column) -> ColumnElement[Any]:
        """SUM(column) of a QUANTITY column."""
        if self.sqlite:
            return func.ta_exact_sum(type_coerce(column, Integer), type_=String)
        return func.sum(type_coerce(column, Numeric(asdecimal=True)), type_=Numeric())

    def cost(self, qty: _Column, price: _Column) -> ColumnElement[Any]:
        """SUM(qty x price) of a QUANTITY and a PRICE column (rows with either NULL left out)."""
        if self.sqlite:
            return func.ta_exact_product_sum(
                type_coerce(qty, Integer), type_coerce(price, Integer), type_=String
            )
        product = type_coerce(qty, Numeric()) * type_coerce(price, Numeric())
        return func.sum(product, type_=Numeric(asdecimal=True))

    def read_quantity(self, value: Any) -> Decimal:
        """The Decimal of a `quantity()` result (0 over no rows)."""
        return self._read(value, QUANTITY.scale)

    def read_cost(self, value: Any) -> Decimal:
        """The Decimal of a `cost()` result (0 over no rows)."""
        return self._read(value, QUANTITY.scale + PRICE.scale)

    def _read(self, value: Any, scale: int) -> Decimal:
        if value is None:
            return Decimal(0)
        if self.sqlite:
            # From text: exact whatever the digits (Decimal.scaleb would round to 28 of them).
            return Decimal(f"{int(value)}E-{scale}")
        return Decimal(value)


class _ExactSum:
    """SQLite aggregate: the sum of integers as a Python int, returned as text."""

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, value: int | None) -> None:
        if value is not None:
            self.total = (self.total or 0) + value

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


class _ExactProductSum:
    """SQLite aggregate: the sum of products of integers as a Python int, returned as text."""

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, left: int | None, right: int | None) -> None:
        if left is not None and right is not None:
            self.total = (self.total or 0) + left * right

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)
