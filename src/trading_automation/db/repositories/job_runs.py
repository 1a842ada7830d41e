"""Job runs: the row that makes each (job, trading day) run once, and its lease."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.db.run_models import JobRun, JobRunAttempt
from trading_automation.domain.enums import JobStatus, JobType
from trading_automation.domain.timestamps import require_aware_utc, utcnow
from trading_automation.errors import InvalidValueError

DEFAULT_LEASE = timedelta(minutes=5)


class ClaimOutcome(enum.StrEnum):
    """Why a claim did or did not give the caller the run."""

    CREATED = "created"  # first run of the day
    RETRY = "retry"  # the previous attempt failed (or never started)
    TAKEOVER = "takeover"  # the previous owner stopped heartbeating
    FORCED = "forced"  # a finished run re-run on request
    ALREADY_SUCCEEDED = "already_succeeded"
    ALREADY_SKIPPED = "already_skipped"
    HELD_BY_OTHER = "held_by_other"


WON = frozenset(
    {ClaimOutcome.CREATED, ClaimOutcome.RETRY, ClaimOutcome.TAKEOVER, ClaimOutcome.FORCED}
)


@dataclass(frozen=True)
class ClaimResult:
    """The run after the claim, and whether the caller now holds it (and why, either way)."""

    run: JobRun
    outcome: ClaimOutcome

    @property
    def won(self) -> bool:
        """True when the caller holds the run and must do the work."""
        return self.outcome in WON


@dataclass(frozen=True)
class RunState:
    """What decides whether a run is still at work: its status, owner and last heartbeat."""

    id: uuid.UUID
    status: JobStatus
    owner: str | None
    heartbeat_at: datetime | None


FINAL_STATUSES = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.SKIPPED})


def _final(status: JobStatus) -> JobStatus:
    """`status`, refused unless a run can end with it."""
    final = JobStatus(status)
    if final not in FINAL_STATUSES:
        raise InvalidValueError("status", "a run finishes as SUCCESS, FAILED or SKIPPED")
    return final


class JobRunRepository:
    """Claim, heartbeat and finish job runs; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(
        self,
        job_type: JobType,
        trading_date_et: date,
        *,
        owner: str,
        lease: timedelta = DEFAULT_LEASE,
        force: bool = False,
        dead_owner: str | None = None,
        now: datetime | None = None,
    ) -> ClaimResult:
        """Take the run of `job_type` for a trading day, atomically.

        Exactly one of many concurrent claimers wins (commit right after claiming so the others
        see it). A FAILED or PENDING run is claimed again with `attempt` + 1; a RUNNING run whose
        owner has not heartbeated within `lease` is taken over, and so is one held by
        `dead_owner` (an owner the caller knows has died) without waiting for the lease; a
        SUCCESS or SKIPPED run is only re-run with `force`.
        """
        if not owner.strip():
            raise InvalidValueError("owner", "an owner (host and process) is required")
        if lease <= timedelta(0):
            raise InvalidValueError("lease", "must be positive")
        when = require_aware_utc(now, field="now") if now else utcnow()
        job_type = JobType(job_type)
        created = self._insert(job_type, trading_date_et, owner, when)
        if created is not None:
            run = self._load(created)
            self._start_attempt(run, when)
            return ClaimResult(run, ClaimOutcome.CREATED)

        reclaimable = [
            JobRun.status.in_([JobStatus.FAILED, JobStatus.PENDING]),
            and_(JobRun.status == JobStatus.RUNNING, JobRun.heartbeat_at < when - lease),
            and_(JobRun.status == JobStatus.RUNNING, JobRun.heartbeat_at.is_(None)),
        ]
        if force:
            reclaimable.append(JobRun.status.in_([JobStatus.SUCCESS, JobStatus.SKIPPED]))
        if dead_owner:
            reclaimable.append(and_(JobRun.status == JobStatus.RUNNING, JobRun.owner == dead_owner))
        before = self.session.execute(
            select(JobRun.status, JobRun.id).where(
                JobRun.type == job_type, JobRun.trading_date_et == trading_date_et
            )
        ).one()
        claimed = self.session.execute(
            update(JobRun)
            .where(
                JobRun.type == job_type,
                JobRun.trading_date_et == trading_date_et,
                or_(*reclaimable),
            )
            .values(
                status=JobStatus.RUNNING,
                attempt=JobRun.attempt + 1,
                owner=owner,
                heartbeat_at=when,
                started_at=when,
                finished_at=None,
                updated_at=when,
            )
            .returning(JobRun.id, JobRun.attempt)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        run = self._load(before.id)
        if claimed is not None:
            self._start_attempt(run, when)
            previous = JobStatus(before.status)
            if previous in (JobStatus.SUCCESS, JobStatus.SKIPPED):
                outcome = ClaimOutcome.FORCED
            elif previous is JobStatus.RUNNING:
                outcome = ClaimOutcome.TAKEOVER
            else:
                outcome = ClaimOutcome.RETRY
            return ClaimResult(run, outcome)
        if run.status is JobStatus.SUCCESS:
            return ClaimResult(run, ClaimOutcome.ALREADY_SUCCEEDED)
        if run.status is JobStatus.SKIPPED:
            return ClaimResult(run, ClaimOutcome.ALREADY_SKIPPED)
        return ClaimResult(run, ClaimOutcome.HELD_BY_OTHER)

    def _start_attempt(self, run: JobRun, when: datetime) -> None:
        """Record the attempt the claim began; an earlier attempt still RUNNING was abandoned by
        a worker that stopped without finishing, and is closed as FAILED saying so."""
        self.session.execute(
            update(JobRunAttempt)
            .where(JobRunAttempt.job_run_id == run.id, JobRunAttempt.status == JobStatus.RUNNING)
            .values(
                status=JobStatus.FAILED,
                # Another process's clock may lag this one's: never end before the start.
                finished_at=case(
                    (JobRunAttempt.started_at > when, JobRunAttempt.started_at), else_=when
                ),
                summary_json={
                    "errors": [f"stopped without finishing; attempt {run.attempt} took over"]
                },
            )
            .execution_options(synchronize_session=False)
        )
        self.session.execute(
            conflict_insert(self.session, JobRunAttempt)
            .values(
                id=uuid.uuid4(),
                job_run_id=run.id,
                attempt=run.attempt,
                owner=run.owner,
                status=JobStatus.RUNNING,
                started_at=when,
            )
            .on_conflict_do_nothing(index_elements=["job_run_id", "attempt"])
        )

    def _insert(self, job_type: JobType, day: date, owner: str, when: datetime) -> uuid.UUID | None:
        statement = (
            conflict_insert(self.session, JobRun)
            .values(
                id=uuid.uuid4(),
                type=job_type,
                trading_date_et=day,
                status=JobStatus.RUNNING,
                attempt=1,
                owner=owner,
                heartbeat_at=when,
                started_at=when,
                created_at=when,
                updated_at=when,
            )
            .on_conflict_do_nothing(index_elements=["type", "trading_date_et"])
            .returning(JobRun.id)
        )
        return self.session.execute(statement).scalar_one_or_none()

    def _load(self, run_id: uuid.UUID) -> JobRun:
        return self.session.scalars(
            select(JobRun).where(JobRun.id == run_id).execution_options(populate_existing=True)
        ).one()

    def record_finished(
        self,
        job_type: JobType,
        trading_date_et: date,
        *,
        status: JobStatus,
        owner: str,
        started_at: datetime,
        finished_at: datetime,
        attempt: int = 1,
        summary: dict[str, Any] | None = None,
    ) -> bool:
        """Store a finished run unless the day already has one (imports and seed data).

        Returns True when the row was created; an existing run is left exactly as it was.
        """
        status = _final(status)
        if attempt < 1:
            raise InvalidValueError("attempt", "must be at least 1")
        began = require_aware_utc(started_at, field="started_at")
        ended = require_aware_utc(finished_at, field="finished_at")
        if ended < began:
            raise InvalidValueError("finished_at", "must not be before started_at")
        statement = (
            conflict_insert(self.session, JobRun)
            .values(
                id=uuid.uuid4(),
                type=JobType(job_type),
                trading_date_et=trading_date_et,
                status=status,
                attempt=attempt,
                owner=owner,
                heartbeat_at=ended,
                started_at=began,
                finished_at=ended,
                summary_json=summary,
                created_at=began,
                updated_at=ended,
            )
            .on_conflict_do_nothing(index_elements=["type", "trading_date_et"])
            .returning(JobRun.id)
        )
        created = self.session.execute(statement).scalar_one_or_none()
        if created is None:
            return False
        self.session.add(
            JobRunAttempt(
                job_run_id=created,
                attempt=attempt,
                owner=owner,
                status=status,
                started_at=began,
                finished_at=ended,
                summary_json=summary,
            )
        )
        self.session.flush()
        return True

    def heartbeat(self, run_id: uuid.UUID, *, owner: str, now: datetime | None = None) -> bool:
        """Renew the lease; False means the run is no longer ours (stop working)."""
        when = require_aware_utc(now, field="now") if now else utcnow()
        result = self.session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.owner == owner, JobRun.status == JobStatus.RUNNING)
            .values(heartbeat_at=when, updated_at=when)
            .returning(JobRun.id)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        return result is not None

    def finish(
        self,
        run_id: uuid.UUID,
        *,
        owner: str,
        status: JobStatus,
        summary: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> bool:
        """End a run we hold as SUCCESS, FAILED or SKIPPED with its summary; False if not ours."""
        status = _final(status)
        when = require_aware_utc(now, field="now") if now else utcnow()
        result = self.session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.owner == owner, JobRun.status == JobStatus.RUNNING)
            .values(status=status, finished_at=when, summary_json=summary, updated_at=when)
            .returning(JobRun.attempt)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if result is None:
            return False
        self.session.execute(
            update(JobRunAttempt)
            .where(JobRunAttempt.job_run_id == run_id, JobRunAttempt.attempt == result.attempt)
            .values(
                status=status,
                finished_at=case(
                    (JobRunAttempt.started_at > when, JobRunAttempt.started_at), else_=when
                ),
                summary_json=summary,
            )
            .execution_options(synchronize_session=False)
        )
        self._load(run_id)
        return True

    def get(self, job_type: JobType, trading_date_et: date) -> JobRun | None:
        """The run of a job for a trading day."""
        return self.session.scalar(
            select(JobRun).where(
                JobRun.type == JobType(job_type), JobRun.trading_date_et == trading_date_et
            )
        )

    def list_recent(self, *, limit: int = 20) -> list[JobRun]:
        """The most recent runs, newest trading day first."""
        if not 1 <= limit <= 1000:
            raise InvalidValueError("limit", "must be between 1 and 1000")
        return list(
            self.session.scalars(
                select(JobRun)
                .order_by(JobRun.trading_date_et.desc(), JobRun.created_at.desc())
                .limit(limit)
            )
        )

    def attempts(self, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[JobRunAttempt]]:
        """Every attempt of these runs, first attempt first (one query)."""
        found: dict[uuid.UUID, list[JobRunAttempt]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return found
        for attempt in self.session.scalars(
            select(JobRunAttempt)
            .where(JobRunAttempt.job_run_id.in_(run_ids))
            .order_by(JobRunAttempt.job_run_id, JobRunAttempt.attempt)
        ):
            found[attempt.job_run_id].append(attempt)
        return found

    def states(self, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, RunState]:
        """Status, owner and last heartbeat of these runs (one query)."""
        if not run_ids:
            return {}
        rows = self.session.execute(
            select(JobRun.id, JobRun.status, JobRun.owner, JobRun.heartbeat_at).where(
                JobRun.id.in_(run_ids)
            )
        )
        return {
            row.id: RunState(row.id, JobStatus(row.status), row.owner, row.heartbeat_at)
            for row in rows
        }
