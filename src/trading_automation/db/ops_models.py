"""The operations tables: the account at each day's close, and the alerts sent.

Kept beside `models` (same metadata, same naming convention and column types): the close-job
writes `account_snapshot`, the notifier `alert`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, Integer, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from trading_automation.db.base import Base, enum_type, install_validators
from trading_automation.db.types import ExactDecimal, JSONDocument, UTCDateTime
from trading_automation.domain.enums import AlertLevel
from trading_automation.domain.timestamps import utcnow

# Account balances: dollars with up to 6 decimal places (Alpaca sends a few), up to $10^12.
BALANCE = ExactDecimal(18, 6)


class AccountSnapshot(Base):
    """The account after one trading day's close: balances, positions and the day's P&L.

    One row per trading day; the close-job writes it with an upsert, so a rerun replaces it.
    """

    __tablename__ = "account_snapshot"
    __table_args__ = (UniqueConstraint("trading_date_et"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    trading_date_et: Mapped[date] = mapped_column(Date)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    equity: Mapped[Decimal] = mapped_column(BALANCE)
    cash: Mapped[Decimal] = mapped_column(BALANCE)
    long_market_value: Mapped[Decimal] = mapped_column(BALANCE)
    # Equity minus the previous snapshot's equity (None for the first snapshot).
    day_pl: Mapped[Decimal | None] = mapped_column(BALANCE)
    # What the day's closes of lots realized: quantity x (price - fill price), priced closes only.
    realized_pl: Mapped[Decimal] = mapped_column(BALANCE)
    positions_json: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"AccountSnapshot(trading_date_et={self.trading_date_et}, equity={self.equity})"


class Alert(Base):
    """One problem (or report) alerted for a trading day, however often it recurred.

    `alert_key` names the problem; a repeat on the same day only counts an occurrence, so a job
    failing every minute pages once. `delivered`/`failed` count the URLs that took the message.
    """

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("alert_key", "trading_date_et"),
        CheckConstraint("occurrences >= 1", name="occurrences_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alert_key: Mapped[str] = mapped_column(Text)
    trading_date_et: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Text)
    level: Mapped[AlertLevel] = mapped_column(enum_type(AlertLevel, "alert_level"))
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    failed: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    def __repr__(self) -> str:
        return (
            f"Alert(alert_key={self.alert_key!r}, trading_date_et={self.trading_date_et}, "
            f"occurrences={self.occurrences})"
        )


install_validators(AccountSnapshot, Alert)
