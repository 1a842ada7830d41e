"""The dashboard's aggregates over every trade, computed by the database in a few queries.

Nothing here loads trades one by one: counts, sums and per-day counts are SQL aggregates, and the
P&L's inputs come back as one row per (member, party, symbol): the lots' filled and open
quantities and costs, and what their closes realized. Money is summed exactly on both backends
(`exact_sums`) and rounded half-up to the cent (`domain.money.cents`) only in the figures shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import CongressTradeFeed, LotClose, Trade
from trading_automation.domain.enums import OrderSide, Party, TradeStatus
from trading_automation.domain.money import EXACT, cents, exact_sum
from trading_automation.domain.timestamps import NEW_YORK, utcnow
from trading_automation.errors import InvalidValueError
from trading_automation.web.exact_sums import ExactSums

PER_DAY_WINDOW = 30

# A lot: a BUY with shares filled at a known price (the trades whose P&L the dashboard shows).
LOT = (Trade.side == OrderSide.BUY, Trade.filled_qty > 0, Trade.filled_avg_price.is_not(None))
_ZERO = Decimal(0)


@dataclass(frozen=True)
class TradeTotals:
    """Aggregates over all trades; money rounded half-up to the cent from exact sums."""

    by_status: dict[TradeStatus, int]
    notional_submitted: Decimal
    filled_value: Decimal
    filled_qty: Decimal
    sells: int = 0


@dataclass(frozen=True)
class LotGroup:
    """The lots of one member, party and symbol, and their closes, as exact sums.

    Open quantity is what the closes have not taken (`filled_qty - closed_qty`). Closes with a
    price are realized P&L (`proceeds - closed_cost`); closes outside the system have no price
    and are only counted.
    """

    member: str | None
    party: Party | None
    symbol: str
    lots: int
    filled_qty: Decimal
    cost: Decimal
    open_lots: int = 0
    open_qty: Decimal = _ZERO
    open_cost: Decimal = _ZERO
    closes: int = 0
    closed_qty: Decimal = _ZERO
    closed_cost: Decimal = _ZERO
    proceeds: Decimal = _ZERO
    outside_closes: int = 0
    outside_qty: Decimal = _ZERO

    @property
    def key(self) -> tuple[str | None, Party | None, str]:
        """(member, party, symbol)."""
        return self.member, self.party, self.symbol

    @property
    def realized_pl(self) -> Decimal:
        """What the priced closes made over the lots' fill prices, exact."""
        return EXACT.subtract(self.proceeds, self.closed_cost)


@dataclass(frozen=True)
class Activity:
    """Trade counts for the overview: totals by status and per New York day."""

    totals: TradeTotals
    per_day: dict[date, int]
    newest_day: date | None


def trade_totals(uow: UnitOfWork) -> TradeTotals:
    """Counts by status and of sells, dollars submitted as notional orders, and the lots' filled
    shares and cost (four queries)."""
    sums = ExactSums(uow)
    row = uow.session.execute(
        select(*sums.columns(Trade.filled_qty, Trade.filled_avg_price)).where(*LOT)
    ).one()
    qty, cost = sums.read(row)
    return _totals(uow, qty, cost)


def _totals(uow: UnitOfWork, filled_qty: Decimal, filled_cost: Decimal) -> TradeTotals:
    by_status = dict.fromkeys(TradeStatus, 0)
    for status, count in uow.session.execute(
        select(Trade.status, func.count()).group_by(Trade.status)
    ):
        by_status[TradeStatus(status)] = int(count)
    # A trade is a sell exactly when it names its lot (ck_trade_sell_exits_a_lot): counted on the
    # lot's index instead of reading every trade's side.
    sells = uow.session.scalar(
        select(func.count()).select_from(Trade).where(Trade.lot_trade_id.is_not(None))
    )
    notional = uow.session.scalar(
        select(func.sum(Trade.notional_submitted)).where(Trade.alpaca_order_id.is_not(None))
    )
    return TradeTotals(
        by_status=by_status,
        notional_submitted=cents(notional if notional is not None else Decimal(0)),
        filled_value=cents(filled_cost),
        filled_qty=filled_qty,
        sells=int(sells or 0),
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


def lot_groups(uow: UnitOfWork) -> list[LotGroup]:
    """Every lot summed per member, party and symbol of its filing, with its closes (two queries).

    A lot whose filing is not stored has no member and no party.
    """
    sums = ExactSums(uow)
    groups = {group.key: group for group in _lot_sums(uow, sums)}
    for key, closes in _close_sums(uow, sums).items():
        if key in groups:  # a close belongs to a lot: it always is, the lot is counted above
            groups[key] = replace(groups[key], **closes)
    return list(groups.values())


def _lot_sums(uow: UnitOfWork, sums: ExactSums) -> list[LotGroup]:
    member, party = CongressTradeFeed.member_name, CongressTradeFeed.party
    open_qty = Trade.filled_qty - Trade.closed_qty
    rows = uow.session.execute(
        select(
            member,
            party,
            Trade.symbol,
            func.count(),
            func.count(case((open_qty > 0, 1))),
            *sums.columns(Trade.filled_qty, Trade.filled_avg_price),
            *sums.columns(open_qty, Trade.filled_avg_price),
        )
        .select_from(Trade)
        .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
        .where(*LOT)
        .group_by(member, party, Trade.symbol)
    )
    groups = []
    for row in rows:
        filled_qty, cost = sums.read(row[5 : 5 + sums.width])
        open_qty_sum, open_cost = sums.read(row[5 + sums.width :])
        groups.append(
            LotGroup(
                member=row[0],
                party=Party(row[1]) if row[1] is not None else None,
                symbol=row[2],
                lots=int(row[3]),
                filled_qty=filled_qty,
                cost=cost,
                open_lots=int(row[4]),
                open_qty=open_qty_sum,
                open_cost=open_cost,
            )
        )
    return groups


def _close_sums(
    uow: UnitOfWork, sums: ExactSums
) -> dict[tuple[str | None, Party | None, str], dict[str, Any]]:
    """Per (member, party, symbol): the priced closes' quantity, proceeds and cost at the lots'
    fill prices, and the closes without a price (sold outside the system)."""
    member, party = CongressTradeFeed.member_name, CongressTradeFeed.party
    priced = LotClose.price.is_not(None)
    outside_qty: ColumnElement[Any] = case((~priced, LotClose.quantity))
    rows = uow.session.execute(
        select(
            member,
            party,
            Trade.symbol,
            func.count(case((priced, 1))),
            func.count(case((~priced, 1))),
            *sums.columns(LotClose.quantity, LotClose.price),
            *sums.columns(case((priced, LotClose.quantity)), Trade.filled_avg_price),
            *sums.columns(outside_qty, Trade.filled_avg_price),
        )
        .select_from(LotClose)
        .join(Trade, LotClose.lot_trade_id == Trade.id)
        .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
        .where(*LOT)
        .group_by(member, party, Trade.symbol)
    )
    found = {}
    width = sums.width
    for row in rows:
        closed_qty, proceeds = sums.read(row[5 : 5 + width])
        _same_qty, closed_cost = sums.read(row[5 + width : 5 + 2 * width])
        outside, _outside_cost = sums.read(row[5 + 2 * width :])
        key = (row[0], Party(row[1]) if row[1] is not None else None, row[2])
        found[key] = {
            "closes": int(row[3]),
            "outside_closes": int(row[4]),
            "closed_qty": closed_qty,
            "proceeds": proceeds,
            "closed_cost": closed_cost,
            "outside_qty": outside,
        }
    return found


@dataclass(frozen=True)
class Aggregates:
    """What the overview reads over every trade: the activity and the P&L's lot groups."""

    activity: Activity
    lot_groups: list[LotGroup]


def aggregates(uow: UnitOfWork, *, days: int = PER_DAY_WINDOW) -> Aggregates:
    """The overview's aggregates; the filled totals are the sums of the lot groups."""
    groups = lot_groups(uow)
    totals = _totals(
        uow,
        exact_sum(group.filled_qty for group in groups),
        exact_sum(group.cost for group in groups),
    )
    return Aggregates(activity=_activity(uow, totals, days), lot_groups=groups)


def _activity(uow: UnitOfWork, totals: TradeTotals, days: int) -> Activity:
    """`totals`, and trades per day over the `days` days ending on the newest trade's."""
    newest = uow.session.scalar(select(func.max(Trade.created_at)))
    newest_day = newest.astimezone(NEW_YORK).date() if newest is not None else None
    per_day = per_day_counts(uow, days=days, today=newest_day) if newest_day else {}
    return Activity(totals=totals, per_day=per_day, newest_day=newest_day)
