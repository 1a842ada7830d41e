"""The tables of the history: daily price bars, what is known of each symbol's bars, and how far
each fetch of Quiver's disclosure history got (migration 0006).

They share `Base.metadata` (`trading_automation.db.base`) with the other tables;
`trading_automation.db` imports this module, so the tables are registered wherever the data layer
is.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading_automation.db.base import PRICE, Base, install_validators
from trading_automation.db.types import UTCDateTime
from trading_automation.domain.bars import ADJUSTMENTS
from trading_automation.domain.timestamps import utcnow

_ADJUSTMENTS_SQL = ", ".join(f"'{name}'" for name in ADJUSTMENTS)


class PriceBar(Base):
    """One symbol's daily bar for one trading day, as Alpaca's market data gave it.

    `adjustment` says how the prices were adjusted for splits and dividends when fetched
    (`all`: both); a later fetch that returns other values for the day replaces them.
    """

    __tablename__ = "price_bar"
    __table_args__ = (
        CheckConstraint(
            "open >= 0 AND high >= 0 AND low >= 0 AND close >= 0", name="prices_not_negative"
        ),
        CheckConstraint("volume >= 0", name="volume_not_negative"),
        CheckConstraint(f"adjustment IN ({_ADJUSTMENTS_SQL})", name="adjustment_known"),
    )

    symbol: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[Decimal] = mapped_column(PRICE)
    high: Mapped[Decimal] = mapped_column(PRICE)
    low: Mapped[Decimal] = mapped_column(PRICE)
    close: Mapped[Decimal] = mapped_column(PRICE)
    volume: Mapped[int] = mapped_column(BigInteger)
    adjustment: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"PriceBar(symbol={self.symbol!r}, day={self.day}, close={self.close})"


class PriceSymbol(Base):
    """What the system knows of one symbol's daily bars.

    `covered_from`..`covered_to`: the trading days already asked for (a day without a bar in that
    range has none to give: a halt, a gap in the feed). `stale_before`: a later fetch returned
    other values for a stored day (a split or dividend adjusted them), so the bars before that day
    are to be fetched again. `unknown_reason`: the data API does not know the symbol (delisted,
    renamed, not a stock), so it is not asked for again.
    """

    __tablename__ = "price_symbol"
    __table_args__ = (
        CheckConstraint(
            "(covered_from IS NULL AND covered_to IS NULL) OR covered_from <= covered_to",
            name="covered_range",
        ),
        CheckConstraint(
            "(unknown_reason IS NULL) = (unknown_since IS NULL)", name="unknown_has_reason"
        ),
    )

    symbol: Mapped[str] = mapped_column(Text, primary_key=True)
    covered_from: Mapped[date | None] = mapped_column(Date)
    covered_to: Mapped[date | None] = mapped_column(Date)
    last_bar_day: Mapped[date | None] = mapped_column(Date)
    stale_before: Mapped[date | None] = mapped_column(Date)
    unknown_reason: Mapped[str | None] = mapped_column(Text)
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return (
            f"PriceSymbol(symbol={self.symbol!r}, covered={self.covered_from}..{self.covered_to}, "
            f"unknown={self.unknown_reason!r})"
        )


class HistoryFetch(Base):
    """How far one fetch of Quiver's paged disclosure history got: the next page to ask for.

    One row per range (`range_key`: the filing dates and page size asked for); each page's records
    and the move to the next page are committed together, so a fetch stopped at any moment (a
    kill, a spent budget, a 429) resumes where it stopped, losing and repeating nothing.
    """

    __tablename__ = "history_fetch"
    __table_args__ = (
        UniqueConstraint("range_key"),
        CheckConstraint("next_page >= 1", name="next_page_positive"),
        CheckConstraint("page_size >= 1", name="page_size_positive"),
        CheckConstraint("to_date IS NULL OR from_date <= to_date", name="range_ordered"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    range_key: Mapped[str] = mapped_column(Text)
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    page_size: Mapped[int] = mapped_column(Integer)
    next_page: Mapped[int] = mapped_column(Integer, default=1)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    records_received: Mapped[int] = mapped_column(Integer, default=0)
    records_stored: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (
            f"HistoryFetch(range_key={self.range_key!r}, next_page={self.next_page}, "
            f"completed_at={self.completed_at})"
        )


install_validators(PriceBar, PriceSymbol, HistoryFetch)
