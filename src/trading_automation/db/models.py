"""The tables of SPEC §2 as typed SQLAlchemy 2 models.

Table, column and constraint names are the contract with migrations and with operators reading the
database; every constraint is named (see `NAMING_CONVENTION`) so errors can report it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from trading_automation.db.types import ExactDecimal, JSONDocument, RawJSONDocument, UTCDateTime
from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.enums import (
    OPEN_TRADE_STATUSES,
    CloseCause,
    FeedTransaction,
    JobStatus,
    JobType,
    OrderSide,
    OrderType,
    Party,
    TimeInForce,
    TradeStatus,
)
from trading_automation.domain.timestamps import require_aware_utc, utcnow
from trading_automation.domain.trade_rules import NOTIONAL_DIGITS, PRICE_DIGITS, QUANTITY_DIGITS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column sizes. Precision stays within 18 digits so SQLite can hold every value exactly.
NOTIONAL = ExactDecimal(*NOTIONAL_DIGITS)
QUANTITY = ExactDecimal(*QUANTITY_DIGITS)
PRICE = ExactDecimal(*PRICE_DIGITS)
CLIENT_ORDER_ID_MAX_LENGTH = 128


def _enum(enum_class: type[PyEnum], name: str) -> Enum:
    """A real ENUM type on PostgreSQL, a VARCHAR with a named CHECK on SQLite."""
    return Enum(
        enum_class,
        name=name,
        native_enum=True,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    """Declarative base sharing one metadata with explicit constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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
    transaction: Mapped[FeedTransaction] = mapped_column(_enum(FeedTransaction, "feed_transaction"))
    trade_date: Mapped[date | None] = mapped_column(Date)
    filing_date: Mapped[date | None] = mapped_column(Date)
    party: Mapped[Party | None] = mapped_column(_enum(Party, "party"))
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
    side: Mapped[OrderSide] = mapped_column(_enum(OrderSide, "order_side"), default=OrderSide.BUY)
    order_type: Mapped[OrderType] = mapped_column(
        _enum(OrderType, "order_type"), default=OrderType.MARKET
    )
    time_in_force: Mapped[TimeInForce] = mapped_column(
        _enum(TimeInForce, "time_in_force"), default=TimeInForce.DAY
    )
    notional_submitted: Mapped[Decimal | None] = mapped_column(NOTIONAL)
    qty_submitted: Mapped[Decimal | None] = mapped_column(QUANTITY)
    filled_qty: Mapped[Decimal | None] = mapped_column(QUANTITY)
    filled_avg_price: Mapped[Decimal | None] = mapped_column(PRICE)
    status: Mapped[TradeStatus] = mapped_column(
        _enum(TradeStatus, "trade_status"), default=TradeStatus.NEW
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
    exit_cause: Mapped[CloseCause | None] = mapped_column(_enum(CloseCause, "close_cause"))
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


class JobRun(Base):
    """One run of a scheduled job for one trading day; the row is the lock that makes it unique."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("type", "trading_date_et"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        Index("ix_job_run_trading_date_et", "trading_date_et"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    type: Mapped[JobType] = mapped_column(_enum(JobType, "job_type"))
    trading_date_et: Mapped[date] = mapped_column(Date)
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), default=JobStatus.PENDING
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    owner: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary_json: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return (
            f"JobRun(type={self.type}, trading_date_et={self.trading_date_et}, "
            f"status={self.status}, attempt={self.attempt})"
        )


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
    cause: Mapped[CloseCause] = mapped_column(_enum(CloseCause, "close_cause"))
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


class JobRunAttempt(Base):
    """One attempt at a job run: who ran it, when, how it ended and its summary.

    `job_run` holds the latest attempt; this table keeps every one, so a retry or a forced rerun
    never erases what an earlier attempt did.
    """

    __tablename__ = "job_run_attempt"
    __table_args__ = (
        UniqueConstraint("job_run_id", "attempt"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        CheckConstraint(
            "finished_at IS NULL OR finished_at >= started_at", name="finished_after_start"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job_run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("job_run.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(Text)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary_json: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)

    def __repr__(self) -> str:
        return (
            f"JobRunAttempt(job_run_id={self.job_run_id}, attempt={self.attempt}, "
            f"status={self.status})"
        )


class ApiRequest(Base):
    """One request made to a rate-limited API, kept to share its budget across processes.

    Quiver allows its bulk endpoints 5 requests an hour per account: every process counts the
    requests of the last hour here before making one, and a 429's `Retry-After` is remembered as
    `retry_until`, so no process asks again before then.
    """

    __tablename__ = "api_request"
    __table_args__ = (Index("ix_api_request_api_requested_at", "api", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    api: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(Text)
    what: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    retry_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"ApiRequest(api={self.api!r}, requested_at={self.requested_at}, what={self.what!r})"


class IngestCheckpoint(Base):
    """High-water mark of the filings processed for one trading day."""

    __tablename__ = "ingest_checkpoint"

    trading_date_et: Mapped[date] = mapped_column(Date, primary_key=True)
    last_filed_ts_processed_et: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return (
            f"IngestCheckpoint(trading_date_et={self.trading_date_et}, "
            f"last_filed_ts_processed_et={self.last_filed_ts_processed_et})"
        )


def _decimal_validator(field: str, column_type: ExactDecimal) -> Any:
    def validate(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        if value is None:
            return None
        return fit_decimal(
            value, field=field, precision=column_type.precision, scale=column_type.scale
        )

    return validate


def _datetime_validator(field: str) -> Any:
    def validate(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        return None if value is None else require_aware_utc(value, field=field)

    return validate


def install_validators(*models: type[Base]) -> None:
    """Check decimals and datetimes when they are assigned, naming the column at fault.

    The column types check again when binding, which also covers Core statements; this layer
    makes the ORM report `trade.filled_qty` instead of a bare value, at the line that set it.
    """
    for model in models:
        for attribute in inspect(model).column_attrs:
            column = attribute.columns[0]
            assert isinstance(column, Column)
            field = f"{model.__tablename__}.{column.name}"
            if isinstance(column.type, ExactDecimal):
                validator = _decimal_validator(field, column.type)
            elif isinstance(column.type, UTCDateTime):
                validator = _datetime_validator(field)
            else:
                continue
            event.listen(getattr(model, attribute.key), "set", validator, retval=True)


install_validators(
    CongressTradeFeed, Trade, JobRun, JobRunAttempt, ApiRequest, IngestCheckpoint, LotClose
)
