"""The runs' bookkeeping: each job run per trading day (the row is its lock), every attempt at
it, the requests counted against a rate-limited API's budget, and the ingest checkpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
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
from sqlalchemy.orm import Mapped, mapped_column

from trading_automation.db.base import Base, enum_type, install_validators
from trading_automation.db.types import JSONDocument, UTCDateTime
from trading_automation.domain.enums import JobStatus, JobType
from trading_automation.domain.timestamps import utcnow


class JobRun(Base):
    """One run of a scheduled job for one trading day; the row is the lock that makes it unique."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("type", "trading_date_et"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        Index("ix_job_run_trading_date_et", "trading_date_et"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    type: Mapped[JobType] = mapped_column(enum_type(JobType, "job_type"))
    trading_date_et: Mapped[date] = mapped_column(Date)
    status: Mapped[JobStatus] = mapped_column(
        enum_type(JobStatus, "job_status"), default=JobStatus.PENDING
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
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus, "job_status"))
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


install_validators(JobRun, JobRunAttempt, ApiRequest, IngestCheckpoint)
