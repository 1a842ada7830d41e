"""The lot ledger's writes: what a sell's fills close, and what was sold outside the system.

Only `lot_close` rows are written here: the database's triggers (migration 0004) keep each lot's
`closed_qty` equal to the sum of its closes in the same statement, taking the lot's row lock, so
concurrent writers apply one after the other; `ck_trade_closed_qty_within_filled_qty` then refuses
any close that would take more than was filled (a `CheckConstraintViolationError`), whoever
writes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading_automation.db.errors import CheckConstraintViolationError
from trading_automation.db.models import LotClose, Trade
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.enums import CloseCause, OrderSide
from trading_automation.domain.jsonvalues import without_unstorable
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.errors import InvalidValueError


def require_transaction(session: Session, what: str) -> None:
    """Refuse an autocommit unit of work: the ledger's two writes must commit together."""
    if session.connection().get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        raise RuntimeError(
            f"{what} needs a transaction: the lot and its closes must change together"
        )


def take_sell_fill(session: Session, sell: Trade, now: datetime) -> Decimal:
    """Close as much of the sell's lot as the sell has filled and the ledger does not hold yet;
    returns the quantity newly closed. Safe to call again: it catches up, never repeats."""
    if sell.side is not OrderSide.SELL or sell.lot_trade_id is None or sell.exit_cause is None:
        raise InvalidValueError("trade", f"trade {sell.client_order_id} is not an exit of a lot")
    filled = sell.filled_qty or Decimal(0)
    price = sell.filled_avg_price
    if filled <= 0 or price is None:
        return Decimal(0)
    require_transaction(session, "recording a sell's fill")
    when = require_aware_utc(now, field="now")
    recorded = session.scalar(
        select(LotClose.quantity).where(LotClose.sell_trade_id == sell.id).with_for_update()
    )
    delta = filled - (recorded or Decimal(0))
    statement = conflict_insert(session, LotClose).values(
        id=uuid.uuid4(),
        lot_trade_id=sell.lot_trade_id,
        sell_trade_id=sell.id,
        cause=sell.exit_cause,
        quantity=filled,
        price=price,
        closed_at=sell.filled_at or when,
        created_at=when,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["sell_trade_id"],
            set_={
                "quantity": statement.excluded.quantity,
                "price": statement.excluded.price,
                "closed_at": statement.excluded.closed_at,
            },
        )
    )
    return max(delta, Decimal(0))


def close_outside(
    session: Session, lot: Trade, quantity: Decimal, reason: str, now: datetime
) -> bool:
    """Record `quantity` of `lot` as sold outside the system (by hand at the broker), with the
    reason; False when the lot no longer holds that much open (nothing is written)."""
    if quantity <= 0:
        raise InvalidValueError("quantity", "a close takes a positive quantity")
    require_transaction(session, "closing a lot outside the system")
    when = require_aware_utc(now, field="now")
    close = LotClose(
        lot_trade_id=lot.id,
        sell_trade_id=None,
        cause=CloseCause.OUTSIDE,
        quantity=quantity,
        price=None,
        reason=without_unstorable(reason.strip()) or None,
        closed_at=when,
        created_at=when,
    )
    try:
        with session.begin_nested():
            session.add(close)
            session.flush()
    except CheckConstraintViolationError as refused:
        if refused.constraint != "ck_trade_closed_qty_within_filled_qty":
            raise
        return False
    return True
