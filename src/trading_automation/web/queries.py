"""The dashboard's read side for filings, job runs and checkpoints.

Everything here runs inside the caller's read-only unit of work; the repositories do the keyset
pages. Trades are read by `trade_listing`, lots by `lot_queries`, a member's page by
`member_queries`, and the overview's aggregates by `read_models`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import Trade
from trading_automation.db.run_models import JobRun, JobRunAttempt
from trading_automation.domain.enums import FeedTransaction, JobStatus, Party
from trading_automation.web.formatting import duration
from trading_automation.web.jsonout import DOCUMENT


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
    # Why the filing was not bought (its rule and the values compared), and, for a later filing
    # of a transaction (an amendment or a re-upload), the filing date of its first filing.
    skip_rule: str | None = None
    skip_reason: str | None = None
    amends_filed: date | None = None


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
    decision: str | None = None,
) -> FilingListing:
    """A page of stored Quiver records, newest filing first."""
    page = uow.feed.page(
        ticker=ticker,
        member=member,
        filed_from=filed_from,
        filed_to=filed_to,
        malformed=malformed,
        decision=decision,
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
            skip_rule=entry.skip[0] if entry.skip else None,
            skip_reason=entry.skip[1] if entry.skip else None,
            amends_filed=entry.amends_filed,
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
