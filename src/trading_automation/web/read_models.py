"""The dashboard's aggregates over every trade, computed by the database in a few queries.

Nothing here loads trades one by one: counts, sums and per-day counts are SQL aggregates, and the
P&L's inputs come back as one row per (member, party, symbol). Money is summed exactly on both
backends and rounded half-up to the cent (`domain.money.cents`) only in the figures shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Numeric, String, case, func, select, type_coerce

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import PRICE, QUANTITY, CongressTradeFeed, Trade
from trading_automation.domain.enums import Party, TradeStatus
from trading_automation.domain.money import cents, exact_sum
from trading_automation.domain.timestamps import NEW_YORK, utcnow
from trading_automation.errors import InvalidValueError

PER_DAY_WINDOW = 30


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
    """Counts by status, dollars submitted as notional orders, and what was filled (three queries).

    Filled means shares filled at a known price: the trades whose P&L the overview shows.
    """
    sums = _FillSums(uow)
    row = uow.session.execute(select(*sums.columns()).where(*_FILLED)).one()
    qty, cost = sums.read(row)
    return _totals(uow, qty, cost)


def _totals(uow: UnitOfWork, filled_qty: Decimal, filled_cost: Decimal) -> TradeTotals:
    by_status = dict.fromkeys(TradeStatus, 0)
    for status, count in uow.session.execute(
        select(Trade.status, func.count()).group_by(Trade.status)
    ):
        by_status[TradeStatus(status)] = int(count)
    notional = uow.session.scalar(
        select(func.sum(Trade.notional_submitted)).where(Trade.alpaca_order_id.is_not(None))
    )
    return TradeTotals(
        by_status=by_status,
        notional_submitted=cents(notional if notional is not None else Decimal(0)),
        filled_value=cents(filled_cost),
        filled_qty=filled_qty,
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
    sums = _FillSums(uow)
    member, party = CongressTradeFeed.member_name, CongressTradeFeed.party
    rows = uow.session.execute(
        select(member, party, Trade.symbol, func.count(), *sums.columns())
        .select_from(Trade)
        .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
        .where(*_FILLED)
        .group_by(member, party, Trade.symbol)
    )
    groups = []
    for row in rows:
        qty, cost = sums.read(row[4:])
        groups.append(
            FillGroup(
                member=row[0],
                party=Party(row[1]) if row[1] is not None else None,
                symbol=row[2],
                trades=int(row[3]),
                filled_qty=qty,
                cost=cost,
            )
        )
    return groups


@dataclass(frozen=True)
class Aggregates:
    """What the overview reads over every trade: the activity and the P&L's fill groups."""

    activity: Activity
    fill_groups: list[FillGroup]


def aggregates(uow: UnitOfWork, *, days: int = PER_DAY_WINDOW) -> Aggregates:
    """The overview's aggregates; the filled totals are the sums of the fill groups."""
    groups = fill_groups(uow)
    totals = _totals(
        uow,
        exact_sum(group.filled_qty for group in groups),
        exact_sum(group.cost for group in groups),
    )
    return Aggregates(activity=_activity(uow, totals, days), fill_groups=groups)


def _activity(uow: UnitOfWork, totals: TradeTotals, days: int) -> Activity:
    """`totals`, and trades per day over the `days` days ending on the newest trade's."""
    newest = uow.session.scalar(select(func.max(Trade.created_at)))
    newest_day = newest.astimezone(NEW_YORK).date() if newest is not None else None
    per_day = per_day_counts(uow, days=days, today=newest_day) if newest_day else {}
    return Activity(totals=totals, per_day=per_day, newest_day=newest_day)


_FILLED = (Trade.filled_qty > 0, Trade.filled_avg_price.is_not(None))


class _FillSums:
    """Exact SUM(filled_qty) and SUM(filled_qty x filled_avg_price) on the unit of work's backend.

    PostgreSQL's NUMERIC arithmetic is exact as it is. SQLite stores a decimal as a 64-bit
    integer scaled by 10**scale (`db.types.ExactDecimal`), so qty x price is scaled by 10**18 and
    overflows 64 bits for ordinary trades (10 shares at $100 is 10**21), and a sum of many
    quantities can too; SQLite's SUM would then fail, and TOTAL would round through a float.
    There, an aggregate function registered on the connection adds the stored integers as Python
    integers, which have no size limit, and returns both exact sums as text.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        connection = uow.session.connection()
        self.sqlite = connection.dialect.name == "sqlite"
        if self.sqlite:
            driver: Any = connection.connection.driver_connection
            driver.create_aggregate(_SQLITE_FILL_SUMS, 2, _ExactFillSums)

    def columns(self) -> list[ColumnElement[Any]]:
        """The sums, as the columns to select (rows with no fill must be filtered out)."""
        qty, price = Trade.filled_qty, Trade.filled_avg_price
        if self.sqlite:
            both = getattr(func, _SQLITE_FILL_SUMS)
            return [both(type_coerce(qty, Integer), type_coerce(price, Integer), type_=String)]
        return [
            func.sum(type_coerce(qty, Numeric()), type_=Numeric(asdecimal=True)),
            func.sum(
                type_coerce(qty, Numeric()) * type_coerce(price, Numeric()),
                type_=Numeric(asdecimal=True),
            ),
        ]

    def read(self, values: Sequence[Any]) -> tuple[Decimal, Decimal]:
        """(sum of qty, sum of qty x price) from the selected `columns()` (zeros over no rows)."""
        if self.sqlite:
            if values[0] is None:
                return Decimal(0), Decimal(0)
            qty, cost = str(values[0]).split()
            # From text: exact whatever the digits (Decimal.scaleb would round to 28 of them).
            return (
                Decimal(f"{qty}E-{QUANTITY.scale}"),
                Decimal(f"{cost}E-{QUANTITY.scale + PRICE.scale}"),
            )
        qty, cost = values
        return (
            Decimal(qty) if qty is not None else Decimal(0),
            Decimal(cost) if cost is not None else Decimal(0),
        )


_SQLITE_FILL_SUMS = "ta_exact_fill_sums"


class _ExactFillSums:
    """SQLite aggregate: the sums of qty and of qty x price as Python ints, as `"qty cost"`."""

    def __init__(self) -> None:
        self.qty = 0
        self.cost = 0
        self.rows = 0

    def step(self, qty: int | None, price: int | None) -> None:
        if qty is not None and price is not None:
            self.qty += qty
            self.cost += qty * price
            self.rows += 1

    def finalize(self) -> str | None:
        return f"{self.qty} {self.cost}" if self.rows else None
