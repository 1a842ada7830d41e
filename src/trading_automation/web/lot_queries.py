"""The lot ledger as the dashboard's pages read it: lots with their filing, and their closes.

Plain selects of the columns the pages show, inside the caller's read-only unit of work. Each
page reads a bounded set: the open lots (positions), one member's lots, or the lots and sells
of one page of trades.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, or_, select

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import CongressTradeFeed, LotClose, Trade
from trading_automation.domain.enums import CloseCause, Party
from trading_automation.domain.timestamps import trading_date_et
from trading_automation.web.read_models import LOT

# SQL `IN` lists stay well below every backend's parameter limit.
_CHUNK = 1000


@dataclass(frozen=True)
class LotRecord:
    """A lot (a BUY trade with shares filled) and the filing behind it."""

    trade_id: uuid.UUID
    symbol: str
    member: str | None
    party: Party | None
    filed: date | None
    bought_on: date
    filled_qty: Decimal
    closed_qty: Decimal
    fill_price: Decimal

    @property
    def open_qty(self) -> Decimal:
        """The filled quantity no close has taken yet."""
        return self.filled_qty - self.closed_qty


@dataclass(frozen=True)
class CloseRecord:
    """A close of (part of) a lot: by a SELL trade of the system, or outside it (no price)."""

    lot_trade_id: uuid.UUID
    sell_trade_id: uuid.UUID | None
    cause: CloseCause
    quantity: Decimal
    price: Decimal | None
    reason: str | None
    closed_at: datetime


def open_lots(uow: UnitOfWork) -> list[LotRecord]:
    """Every lot with quantity still open, by symbol, oldest first (one query)."""
    query = _lots().where(Trade.filled_qty > Trade.closed_qty)
    return _read(uow, query.order_by(Trade.symbol, Trade.created_at, Trade.id))


def member_lots(uow: UnitOfWork, member: str) -> list[LotRecord]:
    """Every lot, open or closed, of the filings of `member` (exact name), newest first."""
    query = _lots().where(CongressTradeFeed.member_name == member)
    return _read(uow, query.order_by(Trade.created_at.desc(), Trade.id.desc()))


def lots_by_id(uow: UnitOfWork, trade_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LotRecord]:
    """These lots (trades that are not lots are left out), by trade id."""
    ids = sorted(set(trade_ids))
    found: dict[uuid.UUID, LotRecord] = {}
    for start in range(0, len(ids), _CHUNK):
        query = _lots().where(Trade.id.in_(ids[start : start + _CHUNK]))
        found.update((lot.trade_id, lot) for lot in _read(uow, query))
    return found


def closes_of(
    uow: UnitOfWork,
    *,
    lot_ids: Iterable[uuid.UUID] = (),
    sell_ids: Iterable[uuid.UUID] = (),
) -> list[CloseRecord]:
    """The closes of these lots and those made by these sells, oldest first."""
    lots, sells = sorted(set(lot_ids)), sorted(set(sell_ids))
    found: dict[uuid.UUID, CloseRecord] = {}
    for start in range(0, max(len(lots), len(sells)), _CHUNK):
        conditions = []
        if lots[start : start + _CHUNK]:
            conditions.append(LotClose.lot_trade_id.in_(lots[start : start + _CHUNK]))
        if sells[start : start + _CHUNK]:
            conditions.append(LotClose.sell_trade_id.in_(sells[start : start + _CHUNK]))
        for row in uow.session.scalars(select(LotClose).where(or_(*conditions))):
            found[row.id] = CloseRecord(
                lot_trade_id=row.lot_trade_id,
                sell_trade_id=row.sell_trade_id,
                cause=row.cause,
                quantity=row.quantity,
                price=row.price,
                reason=row.reason,
                closed_at=row.closed_at,
            )
    return sorted(found.values(), key=lambda close: (close.closed_at, str(close.lot_trade_id)))


def _lots() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Trade.id,
            Trade.symbol,
            CongressTradeFeed.member_name,
            CongressTradeFeed.party,
            CongressTradeFeed.filing_date,
            Trade.filled_at,
            Trade.created_at,
            Trade.filled_qty,
            Trade.closed_qty,
            Trade.filled_avg_price,
        )
        .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
        .where(*LOT)
    )


def _read(uow: UnitOfWork, query: Select[*tuple[Any, ...]]) -> list[LotRecord]:
    return [
        LotRecord(
            trade_id=row.id,
            symbol=row.symbol,
            member=row.member_name,
            party=row.party,
            filed=row.filing_date,
            bought_on=trading_date_et(row.filled_at or row.created_at),
            filled_qty=row.filled_qty,
            closed_qty=row.closed_qty,
            fill_price=row.filled_avg_price,
        )
        for row in uow.session.execute(query)
    ]
