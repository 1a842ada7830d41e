"""Account snapshots: the account at each trading day's close, and the closes of that day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from trading_automation.db.models import LotClose, Trade
from trading_automation.db.ops_models import AccountSnapshot
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.enums import CloseCause
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.errors import InvalidValueError


@dataclass(frozen=True)
class DayClose:
    """A close of (part of) a lot: which, why, how much, at what price against what cost."""

    lot_trade_id: uuid.UUID
    sell_trade_id: uuid.UUID | None
    symbol: str
    cause: CloseCause
    quantity: Decimal
    price: Decimal | None
    fill_price: Decimal | None
    closed_at: datetime

    @property
    def realized_pl(self) -> Decimal | None:
        """quantity x (price - fill price); None for a close without a price (sold outside)."""
        if self.price is None or self.fill_price is None:
            return None
        return self.quantity * (self.price - self.fill_price)


class SnapshotRepository:
    """Write and read account snapshots; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def upsert(
        self,
        trading_date_et: date,
        *,
        taken_at: datetime,
        equity: Decimal,
        cash: Decimal,
        long_market_value: Decimal,
        day_pl: Decimal | None,
        realized_pl: Decimal,
        positions: list[dict[str, Any]],
        now: datetime,
    ) -> AccountSnapshot:
        """Store the day's snapshot, replacing one already stored for the day (a rerun)."""
        when = require_aware_utc(now, field="now")
        values: dict[str, Any] = {
            "taken_at": require_aware_utc(taken_at, field="taken_at"),
            "equity": equity,
            "cash": cash,
            "long_market_value": long_market_value,
            "day_pl": day_pl,
            "realized_pl": realized_pl,
            "positions_json": positions,
            "updated_at": when,
        }
        insert = conflict_insert(self.session, AccountSnapshot).values(
            id=uuid.uuid4(), trading_date_et=trading_date_et, created_at=when, **values
        )
        self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["trading_date_et"],
                set_={name: getattr(insert.excluded, name) for name in values},
            )
        )
        stored = self.get(trading_date_et)
        assert stored is not None
        return stored

    def get(self, trading_date_et: date) -> AccountSnapshot | None:
        """The snapshot of a trading day."""
        return self.session.scalars(
            select(AccountSnapshot)
            .where(AccountSnapshot.trading_date_et == trading_date_et)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def previous(self, before: date) -> AccountSnapshot | None:
        """The newest snapshot of a trading day before `before`."""
        return self.session.scalars(
            select(AccountSnapshot)
            .where(AccountSnapshot.trading_date_et < before)
            .order_by(AccountSnapshot.trading_date_et.desc())
            .limit(1)
        ).one_or_none()

    def latest(self) -> AccountSnapshot | None:
        """The newest snapshot."""
        return self.session.scalars(
            select(AccountSnapshot).order_by(AccountSnapshot.trading_date_et.desc()).limit(1)
        ).one_or_none()

    def equity_series(self, *, limit: int = 260) -> list[tuple[date, Decimal]]:
        """The last `limit` snapshots' equity, oldest first (one row per trading day)."""
        if not 1 <= limit <= 10_000:
            raise InvalidValueError("limit", "must be between 1 and 10000")
        rows = self.session.execute(
            select(AccountSnapshot.trading_date_et, AccountSnapshot.equity)
            .order_by(AccountSnapshot.trading_date_et.desc())
            .limit(limit)
        ).all()
        return [(row.trading_date_et, row.equity) for row in reversed(rows)]

    def closes_between(self, start: datetime, end: datetime) -> list[DayClose]:
        """Every close of a lot with `start <= closed_at < end`, oldest first, with the lot's
        symbol and fill price."""
        lot = aliased(Trade)
        rows = self.session.execute(
            select(
                LotClose.lot_trade_id,
                LotClose.sell_trade_id,
                lot.symbol,
                LotClose.cause,
                LotClose.quantity,
                LotClose.price,
                lot.filled_avg_price,
                LotClose.closed_at,
            )
            .join(lot, lot.id == LotClose.lot_trade_id)
            .where(
                LotClose.closed_at >= require_aware_utc(start, field="start"),
                LotClose.closed_at < require_aware_utc(end, field="end"),
            )
            .order_by(LotClose.closed_at, LotClose.id)
        ).all()
        return [
            DayClose(
                lot_trade_id=row.lot_trade_id,
                sell_trade_id=row.sell_trade_id,
                symbol=row.symbol,
                cause=CloseCause(row.cause),
                quantity=row.quantity,
                price=row.price,
                fill_price=row.filled_avg_price,
                closed_at=row.closed_at,
            )
            for row in rows
        ]
