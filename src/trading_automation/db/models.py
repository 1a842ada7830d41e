"""The tables of SPEC §2 as typed SQLAlchemy 2 models: the feed, trades, skipped filings and lot
closes (their base, column sizes and validators: `trading_automation.db.base`; the runs'
bookkeeping: `trading_automation.db.run_models`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading_automation.db.base import (
    CLIENT_ORDER_ID_MAX_LENGTH,
    NOTIONAL,
    PRICE,
    QUANTITY,
    Base,
    enum_type,
    install_validators,
)
from trading_automation.db.types import JSONDocument, RawJSONDocument, UTCDateTime
from trading_automation.domain.enums import (
    OPEN_TRADE_STATUSES,
    CloseCause,
    FeedTransaction,
    OrderSide,
    OrderType,
    Party,
    TimeInForce,
    TradeStatus,
)
from trading_automation.domain.timestamps import utcnow


class CongressTradeFeed(Base):
    """One raw disclosure record received from Quiver, normalised alongside its raw JSON."""

    __tablename__ = "congress_trade_feed"
    __table_args__ = (
        UniqueConstraint("row_hash"),
        CheckConstraint(
            "problems IS NOT NULL OR (source_hash IS NOT NULL AND ticker IS NOT NULL "
            "AND member_name IS NOT NULL AND filing_date IS NOT NULL)",
            name="well_formed_has_keys",
        ),
        Index("ix_congress_trade_feed_source_hash", "source_hash"),
        Index("ix_congress_trade_feed_filing_date_id", "filing_date", "id"),
        Index("ix_congress_trade_feed_ticker_filing_date", "ticker", "filing_date"),
        Index("ix_congress_trade_feed_member_name_filing_date", "member_name", "filing_date"),
        Index("ix_congress_trade_feed_published_at", "published_at"),
        Index("ix_congress_trade_feed_transaction_key", "transaction_key"),
        Index("ix_congress_trade_feed_amends_id", "amends_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    row_hash: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str | None] = mapped_column(Text)
    ticker: Mapped[str | None] = mapped_column(Text)
    member_name: Mapped[str | None] = mapped_column(Text)
    transaction: Mapped[FeedTransaction] = mapped_column(
        enum_type(FeedTransaction, "feed_transaction")
    )
    trade_date: Mapped[date | None] = mapped_column(Date)
    filing_date: Mapped[date | None] = mapped_column(Date)
    party: Mapped[Party | None] = mapped_column(enum_type(Party, "party"))
    raw_json: Mapped[Any] = mapped_column(RawJSONDocument)
    problems: Mapped[list[str] | None] = mapped_column(JSONDocument)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the record became public (`domain.filings.publication_time`); null only for a
    # malformed record with no readable upload time or filing date.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Filing identity (migration 0007): the transaction the record discloses (member, ticker,
    # trade date, transaction; see `domain.filings.transaction_key`), and the first record stored
    # of that transaction when this one is a later filing of it (an amendment or a re-upload).
    transaction_key: Mapped[str | None] = mapped_column(Text)
    amends_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("congress_trade_feed.id", ondelete="SET NULL")
    )

    trades: Mapped[list[Trade]] = relationship(back_populates="feed_record", passive_deletes=True)

    def __repr__(self) -> str:
        return (
            f"CongressTradeFeed(id={self.id}, ticker={self.ticker!r}, "
            f"member_name={self.member_name!r}, filing_date={self.filing_date})"
        )


_OPEN_STATUSES_SQL = ", ".join(f"'{status.value}'" for status in sorted(OPEN_TRADE_STATUSES))


class Trade(Base):
    """One filing the system attempted to execute, and the broker's account of the order."""

    __tablename__ = "trade"
    __table_args__ = (
        UniqueConstraint("source_hash"),
        UniqueConstraint("client_order_id"),
        UniqueConstraint("alpaca_order_id"),
        # One BUY per transaction, however often it is filed (NULL for sells and old trades).
        UniqueConstraint("transaction_key"),
        CheckConstraint("notional_submitted > 0", name="notional_submitted_positive"),
        CheckConstraint("planned_notional > 0", name="planned_notional_positive"),
        CheckConstraint("qty_submitted > 0", name="qty_submitted_positive"),
        CheckConstraint("filled_qty >= 0", name="filled_qty_not_negative"),
        CheckConstraint("filled_avg_price >= 0", name="filled_avg_price_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        # A BUY is a lot: what its closes took never exceeds what was filled (the closes'
        # writer adds to closed_qty in the same transaction, under the row's lock).
        CheckConstraint("closed_qty >= 0", name="closed_qty_not_negative"),
        CheckConstraint(
            "closed_qty = 0 OR (filled_qty IS NOT NULL AND closed_qty <= filled_qty)",
            name="closed_qty_within_filled_qty",
        ),
        CheckConstraint("side = 'BUY' OR closed_qty = 0", name="only_lots_close"),
        # A SELL exits one lot, for a cause; a BUY has neither.
        CheckConstraint(
            "(side = 'SELL' AND lot_trade_id IS NOT NULL AND exit_cause IS NOT NULL) OR "
            "(side = 'BUY' AND lot_trade_id IS NULL AND exit_cause IS NULL)",
            name="sell_exits_a_lot",
        ),
        CheckConstraint(
            f"length(client_order_id) BETWEEN 1 AND {CLIENT_ORDER_ID_MAX_LENGTH}",
            name="client_order_id_length",
        ),
        # Newest-first listing with keyset pagination, optionally by symbol or status, and the
        # per-symbol daily counts of the guardrails.
        Index("ix_trade_created_at_id", "created_at", "id"),
        Index("ix_trade_symbol_created_at_id", "symbol", "created_at", "id"),
        Index("ix_trade_status_created_at_id", "status", "created_at", "id"),
        # The reconcile loop's "open trades, oldest first": small because most trades are terminal.
        Index(
            "ix_trade_open_created_at",
            "created_at",
            postgresql_where=text(f"status IN ({_OPEN_STATUSES_SQL})"),
            sqlite_where=text(f"status IN ({_OPEN_STATUSES_SQL})"),
        ),
        Index("ix_trade_congress_trade_feed_id", "congress_trade_feed_id"),
        Index("ix_trade_job_run_id", "job_run_id"),
        Index("ix_trade_lot_trade_id", "lot_trade_id"),
        # Open lots per symbol: the exits' and the positions page's work list.
        Index(
            "ix_trade_open_lots",
            "symbol",
            "created_at",
            postgresql_where=text("side = 'BUY' AND filled_qty > closed_qty"),
            sqlite_where=text("side = 'BUY' AND filled_qty > closed_qty"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source_hash: Mapped[str] = mapped_column(Text)
    client_order_id: Mapped[str] = mapped_column(Text)
    alpaca_order_id: Mapped[str | None] = mapped_column(Text)
    congress_trade_feed_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("congress_trade_feed.id", ondelete="SET NULL")
    )
    # The run that recorded the trade: another run resumes it only once that run is over.
    job_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("job_run.id", ondelete="SET NULL")
    )
    symbol: Mapped[str] = mapped_column(Text)
    side: Mapped[OrderSide] = mapped_column(
        enum_type(OrderSide, "order_side"), default=OrderSide.BUY
    )
    order_type: Mapped[OrderType] = mapped_column(
        enum_type(OrderType, "order_type"), default=OrderType.MARKET
    )
    time_in_force: Mapped[TimeInForce] = mapped_column(
        enum_type(TimeInForce, "time_in_force"), default=TimeInForce.DAY
    )
    notional_submitted: Mapped[Decimal | None] = mapped_column(NOTIONAL)
    qty_submitted: Mapped[Decimal | None] = mapped_column(QUANTITY)
    filled_qty: Mapped[Decimal | None] = mapped_column(QUANTITY)
    filled_avg_price: Mapped[Decimal | None] = mapped_column(PRICE)
    status: Mapped[TradeStatus] = mapped_column(
        enum_type(TradeStatus, "trade_status"), default=TradeStatus.NEW
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw_order_json: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # The lot ledger (migration 0004). A BUY trade with shares filled is a lot; `closed_qty` is
    # how much of it its closes took. A SELL trade exits `lot_trade_id` for `exit_cause`.
    closed_qty: Mapped[Decimal] = mapped_column(QUANTITY, server_default=text("0"))
    lot_trade_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("trade.id"))
    exit_cause: Mapped[CloseCause | None] = mapped_column(enum_type(CloseCause, "close_cause"))
    # Optimistic concurrency: every write of the row adds one (the ORM does it on flush, see
    # `version_id_col`), so an UPDATE guarded by the version a writer read applies only if nobody
    # changed the row since.
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # The strategy (migration 0007): the buy's transaction (see CongressTradeFeed) and the dollars
    # the decision chose, recorded with the intent so the limits count it before it fills.
    transaction_key: Mapped[str | None] = mapped_column(Text)
    planned_notional: Mapped[Decimal | None] = mapped_column(NOTIONAL)

    feed_record: Mapped[CongressTradeFeed | None] = relationship(back_populates="trades")

    @property
    def open_qty(self) -> Decimal:
        """For a lot (a filled BUY): the filled quantity its closes have not taken yet."""
        return (self.filled_qty or Decimal(0)) - (self.closed_qty or Decimal(0))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - declarative reads it once

    def __repr__(self) -> str:
        return (
            f"Trade(id={self.id}, symbol={self.symbol!r}, status={self.status}, "
            f"client_order_id={self.client_order_id!r})"
        )


class FilingSkip(Base):
    """A BUY filing the system decided not to buy: the rule that skipped it and why, in words.

    One row per filing (by `source_hash`), whichever rule skipped it: the strategy's (members,
    size, lag, limits …), an amendment of a transaction already decided, or a guardrail
    (TRADING_ENABLED, the daily caps, a share costing more than the order), whose SKIPPED trade
    is `trade_id`. A skipped filing is decided: no later run buys it.
    """

    __tablename__ = "filing_skip"
    __table_args__ = (
        UniqueConstraint("source_hash"),
        CheckConstraint("length(rule) > 0", name="rule_not_empty"),
        Index("ix_filing_skip_skipped_at", "skipped_at"),
        Index("ix_filing_skip_rule", "rule"),
        Index("ix_filing_skip_congress_trade_feed_id", "congress_trade_feed_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source_hash: Mapped[str] = mapped_column(Text)
    congress_trade_feed_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("congress_trade_feed.id", ondelete="SET NULL")
    )
    job_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("job_run.id", ondelete="SET NULL")
    )
    trade_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("trade.id", ondelete="SET NULL")
    )
    symbol: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    strategy_sha256: Mapped[str | None] = mapped_column(Text)
    skipped_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"FilingSkip(symbol={self.symbol!r}, rule={self.rule!r}, reason={self.reason!r})"


class LotClose(Base):
    """A close of (part of) a lot: by a SELL trade's fills, or outside the system.

    One row per SELL trade, its quantity and price following the sell's fills; rows without a
    sell record what was sold outside the system (by hand at the broker), whose price is not
    known. Realized P&L = quantity x (price - the lot's fill price).
    """

    __tablename__ = "lot_close"
    __table_args__ = (
        UniqueConstraint("sell_trade_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint(
            "(cause = 'OUTSIDE' AND sell_trade_id IS NULL) OR "
            "(cause <> 'OUTSIDE' AND sell_trade_id IS NOT NULL AND price IS NOT NULL)",
            name="outside_closes_have_no_sell",
        ),
        Index("ix_lot_close_lot_trade_id", "lot_trade_id"),
        Index("ix_lot_close_closed_at", "closed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    lot_trade_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trade.id"))
    sell_trade_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("trade.id"))
    cause: Mapped[CloseCause] = mapped_column(enum_type(CloseCause, "close_cause"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    price: Mapped[Decimal | None] = mapped_column(PRICE)
    reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return (
            f"LotClose(lot_trade_id={self.lot_trade_id}, cause={self.cause}, "
            f"quantity={self.quantity}, price={self.price})"
        )


install_validators(CongressTradeFeed, Trade, FilingSkip, LotClose)
