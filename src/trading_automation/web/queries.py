"""The dashboard's read side: what each page needs from the database, in few queries.

Everything here runs inside the caller's read-only unit of work. The repositories do the keyset
pages and counts; the plain selects here add what only the dashboard needs (the filing behind each
trade of a page, in one query). The overview's aggregates are in `read_models`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import CongressTradeFeed, JobRun, JobRunAttempt, Trade
from trading_automation.domain.enums import FeedTransaction, JobStatus, Party, TradeStatus
from trading_automation.web.formatting import duration
from trading_automation.web.jsonout import DOCUMENT


@dataclass(frozen=True)
class TradeRecord:
    """A trade with the filing behind it, and its P&L once a current price is known."""

    id: uuid.UUID
    created_at: datetime
    symbol: str
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


@dataclass(frozen=True)
class FilingRecord:
    """A stored Quiver record with its normalised fields and whether it was traded."""

    id: uuid.UUID
    filing_date: date | None
    trade_date: date | None
    member: str | None
    party: Party | None
    ticker: str | None
    transaction: FeedTransaction
    problems: list[str] | None
    traded: bool
    ingested_at: datetime
    raw: Any = field(metadata=DOCUMENT)


@dataclass(frozen=True)
class FilingListing:
    """One keyset page of filings."""

    filings: list[FilingRecord]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt at a job run: who ran it, when, how it ended, and what it did."""

    attempt: int
    owner: str | None
    status: JobStatus
    started_at: datetime
    finished_at: datetime | None
    duration_s: Decimal | None
    duration: str | None
    records_stored: int | None
    orders_sent: int | None
    found_placed: int | None
    filled: int | None
    errors: int
    summary: dict[str, Any] | None = field(metadata=DOCUMENT)


@dataclass(frozen=True)
class JobRunRecord:
    """A job run with its duration, in seconds and as read (`28 ms`, `2 min 5 s`)."""

    id: uuid.UUID
    type: str
    trading_date_et: date
    status: JobStatus
    attempt: int
    owner: str | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    duration_s: Decimal | None
    duration: str | None
    summary: dict[str, Any] | None = field(metadata=DOCUMENT)
    # Every attempt, the latest first (a retry or a forced rerun adds one).
    attempts: list[AttemptRecord] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointRecord:
    """A trading day's ingest high-water mark."""

    trading_date_et: date
    last_filed_ts_processed_et: datetime | None
    updated_at: datetime


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
    """A page of trades, newest first, each with its filing (two queries, plus the count)."""
    page = uow.trades.page(
        symbol=symbol,
        status=status,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        cursor=cursor,
    )
    feed_ids = {t.congress_trade_feed_id for t in page.items if t.congress_trade_feed_id}
    filings: dict[uuid.UUID, tuple[str | None, Party | None, date | None]] = {}
    if feed_ids:
        for feed_id, member, party, filed in uow.session.execute(
            select(
                CongressTradeFeed.id,
                CongressTradeFeed.member_name,
                CongressTradeFeed.party,
                CongressTradeFeed.filing_date,
            ).where(CongressTradeFeed.id.in_(sorted(feed_ids)))
        ):
            filings[feed_id] = (member, party, filed)
    count = uow.trades.count(
        symbol=symbol, status=status, created_from=created_from, created_to=created_to
    )
    records = []
    for trade in page.items:
        member, party, filed = (
            filings.get(trade.congress_trade_feed_id, (None, None, None))
            if trade.congress_trade_feed_id
            else (None, None, None)
        )
        records.append(
            TradeRecord(
                id=trade.id,
                created_at=trade.created_at,
                symbol=trade.symbol,
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
            )
        )
    return TradeListing(records, page.next_cursor, page.prev_cursor, count.value, count.exact)


def latest_run(uow: UnitOfWork) -> JobRunRecord | None:
    """The most recent job run."""
    runs = job_runs(uow, limit=1)
    return runs[0] if runs else None


def filing_listing(
    uow: UnitOfWork,
    *,
    ticker: str | None,
    member: str | None,
    filed_from: date | None,
    filed_to: date | None,
    malformed: bool | None,
    limit: int,
    cursor: str | None,
) -> FilingListing:
    """A page of stored Quiver records, newest filing first."""
    page = uow.feed.page(
        ticker=ticker,
        member=member,
        filed_from=filed_from,
        filed_to=filed_to,
        malformed=malformed,
        limit=limit,
        cursor=cursor,
    )
    records = [
        FilingRecord(
            id=entry.record.id,
            filing_date=entry.record.filing_date,
            trade_date=entry.record.trade_date,
            member=entry.record.member_name,
            party=entry.record.party,
            ticker=entry.record.ticker,
            transaction=entry.record.transaction,
            problems=entry.record.problems,
            traded=entry.traded,
            ingested_at=entry.record.ingested_at,
            raw=entry.record.raw_json,
        )
        for entry in page.items
    ]
    return FilingListing(records, page.next_cursor, page.prev_cursor)


def job_runs(uow: UnitOfWork, *, limit: int = 50) -> list[JobRunRecord]:
    """The most recent job runs, newest trading day first, each with every attempt (two
    queries)."""
    runs = uow.job_runs.list_recent(limit=limit)
    attempts = uow.job_runs.attempts([run.id for run in runs])
    return [
        replace(
            _run_record(run),
            attempts=[_attempt_record(attempt) for attempt in reversed(attempts[run.id])],
        )
        for run in runs
    ]


def checkpoints(uow: UnitOfWork, *, limit: int = 50) -> list[CheckpointRecord]:
    """The most recent ingest checkpoints, newest trading day first."""
    return [
        CheckpointRecord(c.trading_date_et, c.last_filed_ts_processed_et, c.updated_at)
        for c in uow.checkpoints.list_recent(limit=limit)
    ]


def check_schema(uow: UnitOfWork) -> None:
    """Raise unless the database answers and holds the schema."""
    uow.session.execute(select(JobRun.id).limit(1))
    uow.session.execute(select(Trade.id).limit(1))


def _attempt_record(attempt: JobRunAttempt) -> AttemptRecord:
    seconds = _seconds(attempt.started_at, attempt.finished_at)
    summary = attempt.summary_json if isinstance(attempt.summary_json, dict) else {}
    orders = summary.get("orders") if isinstance(summary.get("orders"), dict) else {}
    windows = [w for w in summary.get("windows") or [] if isinstance(w, dict)]
    stored = [w["stored"] for w in windows if isinstance(w.get("stored"), int)]
    errors = summary.get("errors")
    return AttemptRecord(
        attempt=attempt.attempt,
        owner=attempt.owner,
        status=attempt.status,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        duration_s=seconds,
        duration=duration(seconds) if seconds is not None else None,
        records_stored=sum(stored) if stored else None,
        orders_sent=_count(orders, "submitted"),
        found_placed=_count(orders, "found_at_broker"),
        filled=_count(orders, "filled"),
        errors=len(errors) if isinstance(errors, list) else 0,
        summary=attempt.summary_json,
    )


def _count(counts: Any, name: str) -> int | None:
    value = counts.get(name) if isinstance(counts, dict) else None
    return value if isinstance(value, int) else None


def _seconds(started: datetime | None, finished: datetime | None) -> Decimal | None:
    if started is None or finished is None:
        return None
    return Decimal(str((finished - started).total_seconds()))


def _run_record(run: JobRun) -> JobRunRecord:
    seconds = _seconds(run.started_at, run.finished_at)
    return JobRunRecord(
        id=run.id,
        type=run.type.value,
        trading_date_et=run.trading_date_et,
        status=run.status,
        attempt=run.attempt,
        owner=run.owner,
        started_at=run.started_at,
        finished_at=run.finished_at,
        heartbeat_at=run.heartbeat_at,
        duration_s=seconds,
        duration=duration(seconds) if seconds is not None else None,
        summary=run.summary_json,
    )
