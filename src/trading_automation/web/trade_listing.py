"""The trades page's read side: a keyset page of trades, each with its filing and its place in
the lot ledger (a buy's closed and open quantity, a sell's lot and realized P&L).

A page costs a bounded number of queries whatever the table holds: the page, the count, the
filings behind its trades, the lots its sells closed, and the closes of its lots and sells.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import CongressTradeFeed, Trade
from trading_automation.domain.enums import CloseCause, OrderSide, Party, TradeStatus
from trading_automation.domain.money import EXACT, cents, exact_product, exact_sum
from trading_automation.web import lot_queries
from trading_automation.web.lot_queries import CloseRecord, LotRecord
from trading_automation.web.pnl import fill_pnl


@dataclass(frozen=True)
class LotRef:
    """The lot a sell closed: its BUY trade, whose filing, bought when and at what price."""

    trade_id: uuid.UUID
    symbol: str
    member: str | None
    bought_on: date
    fill_price: Decimal


@dataclass(frozen=True)
class TradeRecord:
    """A trade with the filing behind it, its part in the lot ledger, and its P&L.

    A BUY with shares filled is a lot: `closed_qty` is what its closes took, `open_qty` the rest,
    `realized_pl` what its priced closes made. A SELL closes `lot` for `exit_cause`; its
    `realized_pl` is its filled quantity x (its price - the lot's). Unrealized P&L counts a lot's
    open quantity only, once a current price is known.
    """

    id: uuid.UUID
    created_at: datetime
    symbol: str
    side: OrderSide
    status: TradeStatus
    status_reason: str | None
    notional_submitted: Decimal | None
    qty_submitted: Decimal | None
    filled_qty: Decimal | None
    filled_avg_price: Decimal | None
    filled_at: datetime | None
    client_order_id: str
    alpaca_order_id: str | None
    member: str | None
    party: Party | None
    filed: date | None
    exit_cause: CloseCause | None = None
    lot_trade_id: uuid.UUID | None = None
    lot: LotRef | None = None
    closed_qty: Decimal = Decimal(0)
    open_qty: Decimal | None = None
    realized_pl: Decimal | None = None
    current_price: Decimal | None = None
    cost: Decimal | None = None
    current_value: Decimal | None = None
    unrealized_pl: Decimal | None = None
    unrealized_pl_pct: Decimal | None = None


@dataclass(frozen=True)
class TradeListing:
    """One keyset page of trades and how many match the filters."""

    trades: list[TradeRecord]
    next_cursor: str | None
    prev_cursor: str | None
    matching: int
    matching_exact: bool


Filing = tuple[str | None, Party | None, date | None]
_NO_FILING: Filing = (None, None, None)


def trade_listing(
    uow: UnitOfWork,
    *,
    symbol: str | None,
    status: TradeStatus | None,
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int,
    cursor: str | None,
) -> TradeListing:
    """A page of trades, newest first, each with its filing and ledger (five queries)."""
    page = uow.trades.page(
        symbol=symbol,
        status=status,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        cursor=cursor,
    )
    trades = list(page.items)
    filings = _filings(uow, {t.congress_trade_feed_id for t in trades} - {None})
    lots = lot_queries.lots_by_id(uow, {t.lot_trade_id for t in trades if t.lot_trade_id})
    closes = lot_queries.closes_of(
        uow,
        lot_ids=[t.id for t in trades if t.side is OrderSide.BUY and t.filled_qty],
        sell_ids=[t.id for t in trades if t.side is OrderSide.SELL],
    )
    count = uow.trades.count(
        symbol=symbol, status=status, created_from=created_from, created_to=created_to
    )
    records = [_record(trade, filings, lots, closes) for trade in trades]
    return TradeListing(records, page.next_cursor, page.prev_cursor, count.value, count.exact)


def priced_trade(record: TradeRecord, prices: dict[str, Decimal] | None) -> TradeRecord:
    """A lot with the current value and unrealized P&L of its open quantity, when priced."""
    if prices is None or record.side is not OrderSide.BUY or not record.open_qty:
        return record
    price = prices.get(record.symbol)
    result = fill_pnl(record.open_qty, record.filled_avg_price, price)
    if result is None:
        return record
    return replace(
        record,
        current_price=price,
        cost=cents(result.cost),
        current_value=cents(result.value),
        unrealized_pl=cents(result.pnl),
        unrealized_pl_pct=result.pnl_pct,
    )


def _filings(uow: UnitOfWork, feed_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, Filing]:
    ids = sorted(feed_id for feed_id in feed_ids if feed_id is not None)
    if not ids:
        return {}
    rows = uow.session.execute(
        select(
            CongressTradeFeed.id,
            CongressTradeFeed.member_name,
            CongressTradeFeed.party,
            CongressTradeFeed.filing_date,
        ).where(CongressTradeFeed.id.in_(ids))
    )
    return {feed_id: (member, party, filed) for feed_id, member, party, filed in rows}


def _record(
    trade: Trade,
    filings: dict[uuid.UUID, Filing],
    lots: dict[uuid.UUID, LotRecord],
    closes: list[CloseRecord],
) -> TradeRecord:
    member, party, filed = (
        filings.get(trade.congress_trade_feed_id, _NO_FILING)
        if trade.congress_trade_feed_id
        else _NO_FILING
    )
    base = TradeRecord(
        id=trade.id,
        created_at=trade.created_at,
        symbol=trade.symbol,
        side=trade.side,
        status=trade.status,
        status_reason=trade.status_reason,
        notional_submitted=trade.notional_submitted,
        qty_submitted=trade.qty_submitted,
        filled_qty=trade.filled_qty,
        filled_avg_price=trade.filled_avg_price,
        filled_at=trade.filled_at,
        client_order_id=trade.client_order_id,
        alpaca_order_id=trade.alpaca_order_id,
        member=member,
        party=party,
        filed=filed,
        exit_cause=trade.exit_cause,
        lot_trade_id=trade.lot_trade_id,
        closed_qty=trade.closed_qty,
    )
    if trade.side is OrderSide.SELL:
        return _sell(base, lots.get(trade.lot_trade_id) if trade.lot_trade_id else None, closes)
    if not trade.filled_qty or trade.filled_avg_price is None:
        return base
    price = trade.filled_avg_price
    priced = [c for c in closes if c.lot_trade_id == trade.id and c.price is not None]
    realized = exact_sum(
        EXACT.subtract(exact_product(c.quantity, c.price), exact_product(c.quantity, price))
        for c in priced
        if c.price is not None
    )
    return replace(
        base,
        open_qty=trade.filled_qty - trade.closed_qty,
        realized_pl=cents(realized) if priced else None,
    )


def _sell(base: TradeRecord, lot: LotRecord | None, closes: list[CloseRecord]) -> TradeRecord:
    """A sell with its lot, its lot's member when it has no filing of its own, and what it made."""
    if lot is None:
        return base
    made = next((c for c in closes if c.sell_trade_id == base.id and c.price is not None), None)
    realized = None
    if made is not None and made.price is not None:
        realized = cents(exact_product(made.quantity, EXACT.subtract(made.price, lot.fill_price)))
    return replace(
        base,
        lot=LotRef(lot.trade_id, lot.symbol, lot.member, lot.bought_on, lot.fill_price),
        member=base.member or lot.member,
        party=base.party or lot.party,
        realized_pl=realized,
    )
