"""What the pages show of the lot ledger: lots with their P&L, and the broker's positions beside
the ledger's open quantity.

A lot's realized P&L is the sum over its priced closes of quantity x (close price - fill price);
its closes outside the system have no price and are shown as a quantity only. Its unrealized P&L
is open quantity x (current price - fill price). Exact until shown, rounded half-up to the cent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from trading_automation.domain.enums import Party
from trading_automation.domain.money import EXACT, cents, exact_product, exact_sum, format_quantity
from trading_automation.web.lot_queries import CloseRecord, LotRecord
from trading_automation.web.pnl import percent
from trading_automation.web.views import PositionView


@dataclass(frozen=True)
class LotView:
    """One lot: what was bought, what its closes took, and its P&L."""

    trade_id: uuid.UUID
    symbol: str
    member: str | None
    party: Party | None
    filed: date | None
    bought_on: date
    fill_price: Decimal
    filled_qty: Decimal
    closed_qty: Decimal
    open_qty: Decimal
    current_price: Decimal | None
    current_value: Decimal | None
    unrealized_pl: Decimal | None
    unrealized_pl_pct: Decimal | None
    closes: int
    realized_pl: Decimal | None
    realized_pl_pct: Decimal | None
    outside_qty: Decimal


@dataclass(frozen=True)
class LotSums:
    """Exact parts of a lot's P&L, kept to add lots up before rounding."""

    open_cost: Decimal
    value: Decimal | None
    closed_cost: Decimal
    proceeds: Decimal


def lot_view(
    lot: LotRecord, closes: Sequence[CloseRecord], price: Decimal | None
) -> tuple[LotView, LotSums]:
    """A lot with its P&L, from its closes and its symbol's current price (None: unknown)."""
    priced = [close for close in closes if close.price is not None]
    proceeds = exact_sum(exact_product(c.quantity, c.price) for c in priced if c.price is not None)
    closed_cost = exact_sum(exact_product(c.quantity, lot.fill_price) for c in priced)
    realized = EXACT.subtract(proceeds, closed_cost)
    open_qty = lot.open_qty
    open_cost = exact_product(open_qty, lot.fill_price)
    value = exact_product(open_qty, price) if price is not None else None
    unrealized = EXACT.subtract(value, open_cost) if value is not None else None
    view = LotView(
        trade_id=lot.trade_id,
        symbol=lot.symbol,
        member=lot.member,
        party=lot.party,
        filed=lot.filed,
        bought_on=lot.bought_on,
        fill_price=lot.fill_price,
        filled_qty=lot.filled_qty,
        closed_qty=lot.closed_qty,
        open_qty=open_qty,
        current_price=price,
        current_value=cents(value) if value is not None else None,
        unrealized_pl=cents(unrealized) if unrealized is not None else None,
        unrealized_pl_pct=percent(unrealized, open_cost) if unrealized is not None else None,
        closes=len(priced),
        realized_pl=cents(realized) if priced else None,
        realized_pl_pct=percent(realized, closed_cost) if priced else None,
        outside_qty=exact_sum(c.quantity for c in closes if c.price is None),
    )
    return view, LotSums(open_cost, value, closed_cost, proceeds)


def lot_views(
    lots: Iterable[LotRecord],
    closes: Iterable[CloseRecord],
    prices: dict[str, Decimal] | None,
) -> list[tuple[LotView, LotSums]]:
    """Each lot with its P&L (`prices` None: the broker did not answer)."""
    by_lot: dict[uuid.UUID, list[CloseRecord]] = {}
    for close in closes:
        by_lot.setdefault(close.lot_trade_id, []).append(close)
    return [
        lot_view(lot, by_lot.get(lot.trade_id, []), (prices or {}).get(lot.symbol)) for lot in lots
    ]


@dataclass(frozen=True)
class Holding:
    """One symbol as the broker and the ledger hold it, and whether they agree.

    `position` is the broker's (None when it holds none, or did not answer: see `broker_ok`);
    `ledger_qty` is the sum of the open lots' open quantity.
    """

    symbol: str
    position: PositionView | None
    broker_qty: Decimal | None
    ledger_qty: Decimal
    difference: Decimal | None
    warning: str | None
    lots: list[LotView]


@dataclass(frozen=True)
class Ledger:
    """Every symbol held by the broker or the ledger, by symbol, and how many disagree."""

    holdings: list[Holding]
    disagreements: int
    open_lots: int


def ledger(positions: Sequence[PositionView] | None, open_lots: Iterable[LotView]) -> Ledger:
    """The broker's positions beside the ledger's open lots (`positions` None: unknown)."""
    by_symbol: dict[str, list[LotView]] = {}
    for view in open_lots:
        by_symbol.setdefault(view.symbol, []).append(view)
    held = {position.symbol: position for position in positions or ()}
    holdings = []
    for symbol in sorted(set(held) | set(by_symbol)):
        symbol_lots = by_symbol.get(symbol, [])
        ledger_qty = exact_sum(lot.open_qty for lot in symbol_lots)
        position = held.get(symbol)
        broker_qty = None if positions is None else position.qty if position else Decimal(0)
        difference = None if broker_qty is None else broker_qty - ledger_qty
        holdings.append(
            Holding(
                symbol=symbol,
                position=position,
                broker_qty=broker_qty,
                ledger_qty=ledger_qty,
                difference=difference,
                warning=_disagreement(broker_qty, ledger_qty),
                lots=symbol_lots,
            )
        )
    return Ledger(
        holdings=holdings,
        disagreements=sum(1 for holding in holdings if holding.warning),
        open_lots=sum(len(lots) for lots in by_symbol.values()),
    )


def _disagreement(broker_qty: Decimal | None, ledger_qty: Decimal) -> str | None:
    """Why the broker's quantity and the ledger's differ, in words; None when they agree."""
    if broker_qty is None or broker_qty == ledger_qty:
        return None
    broker, ours = format_quantity(broker_qty), format_quantity(ledger_qty)
    if broker_qty.is_zero():
        return (
            f"Alpaca holds none, but the ledger's open lots hold {ours}: "
            "sold outside the system, or a sell the ledger has not seen filled"
        )
    if ledger_qty.is_zero():
        return (
            f"Alpaca holds {broker} but the ledger has no open lot: "
            "bought outside the system, or a buy the ledger has not seen filled"
        )
    more = "more" if broker_qty > ledger_qty else "fewer"
    gap = format_quantity(abs(broker_qty - ledger_qty))
    return f"Alpaca holds {broker}, the ledger's open lots {ours}: {gap} {more} at the broker"


@dataclass(frozen=True)
class LotTotals:
    """P&L over several lots: realized from their priced closes, unrealized from their open
    quantity at current prices (None when the broker did not answer; `unpriced_lots` are open
    lots without a price, left out)."""

    lots: int
    open_lots: int
    unpriced_lots: int
    cost: Decimal | None
    current_value: Decimal | None
    unrealized_pl: Decimal | None
    unrealized_pl_pct: Decimal | None
    closes: int
    realized_pl: Decimal
    realized_pl_pct: Decimal | None
    outside_closed_lots: int


def lot_totals(lots: Sequence[tuple[LotView, LotSums]], *, priced: bool) -> LotTotals:
    """The totals of `lots` (`priced`: whether the broker's prices were known)."""
    open_lots = [(view, sums) for view, sums in lots if view.open_qty > 0]
    valued = [sums for _view, sums in open_lots if sums.value is not None]
    cost = exact_sum(sums.open_cost for sums in valued)
    value = exact_sum(sums.value for sums in valued if sums.value is not None)
    unrealized = EXACT.subtract(value, cost)
    closed_cost = exact_sum(sums.closed_cost for _view, sums in lots)
    realized = EXACT.subtract(exact_sum(sums.proceeds for _view, sums in lots), closed_cost)
    return LotTotals(
        lots=len(lots),
        open_lots=len(open_lots),
        unpriced_lots=len(open_lots) - len(valued) if priced else 0,
        cost=cents(cost) if priced else None,
        current_value=cents(value) if priced else None,
        unrealized_pl=cents(unrealized) if priced else None,
        unrealized_pl_pct=percent(unrealized, cost) if priced else None,
        closes=sum(view.closes for view, _sums in lots),
        realized_pl=cents(realized),
        realized_pl_pct=percent(realized, closed_cost),
        outside_closed_lots=sum(1 for view, _sums in lots if view.outside_qty > 0),
    )
