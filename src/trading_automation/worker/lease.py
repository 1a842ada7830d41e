"""The run's hold on its (job, trading day): claim it, keep it with heartbeats, finish it.

A run is claimed atomically (one winner among concurrent workers); the owner heartbeats while it
works, and a run whose owner stopped (dead process, or no heartbeat within the lease) may be taken
over. A worker that finds another holding its run stops (`LeaseLostError`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from trading_automation.db import ClaimOutcome, ClaimResult, JobStatus, JobType
from trading_automation.errors import TradingAutomationError
from trading_automation.worker.owner import is_dead_local_owner

if TYPE_CHECKING:
    from trading_automation.db import Database
    from trading_automation.logs import SecretRedactor
    from trading_automation.worker.clock import RunClock

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY_S = 10.0


class LeaseLostError(TradingAutomationError):
    """Another worker took this run over (this one stopped heartbeating in time); this worker
    stopped. Check for long pauses (suspended host, slow broker) and the job lease."""

    MESSAGE = "another worker took over this run; stopping"


class FinishedRun(Protocol):
    """What a run's end stores: its day, whether it failed, and its summary."""

    @property
    def trading_date(self) -> date: ...

    @property
    def failed(self) -> bool: ...

    @property
    def errors(self) -> list[str]: ...

    def to_json(self) -> dict[str, Any]: ...


class RunLease:
    """One worker's hold on a job's run of a trading day (the open-job's unless told)."""

    def __init__(
        self,
        *,
        database: Database,
        owner: str,
        monotonic: Callable[[], float],
        redactor: SecretRedactor,
        say: Callable[[str], None],
        job_type: JobType = JobType.OPEN_JOB,
    ) -> None:
        self.job_type = job_type
        self.database = database
        self.owner = owner
        self.monotonic = monotonic
        self.redactor = redactor
        self._say = say
        self._last_heartbeat = float("-inf")

    def claim(self, day: date, clock: RunClock, *, lease: timedelta, force: bool) -> ClaimResult:
        """Claim the day's run (see the module docstring); says why when another has it."""
        with self.database.transaction(readonly=True) as uow:
            existing = uow.job_runs.get(self.job_type, day)
        dead = (
            existing.owner
            if existing is not None
            and existing.status is JobStatus.RUNNING
            and is_dead_local_owner(existing.owner)
            else None
        )
        with self.database.transaction() as uow:
            result = uow.job_runs.claim(
                self.job_type,
                day,
                owner=self.owner,
                lease=lease,
                force=force,
                dead_owner=dead,
                now=clock.now(),
            )
        log.info(
            "claim",
            trading_date=day.isoformat(),
            outcome=result.outcome.value,
            attempt=result.run.attempt,
        )
        if not result.won:
            messages = {
                ClaimOutcome.ALREADY_SUCCEEDED: "already succeeded (use --force to run it again)",
                ClaimOutcome.ALREADY_SKIPPED: "was skipped (use --force to run it)",
                ClaimOutcome.HELD_BY_OTHER: f"is held by another run ({result.run.owner})",
            }
            job = self.job_type.value.lower().replace("_", "-")
            self._say(f"nothing to do: the {job} for {day} {messages[result.outcome]}")
        return result

    def heartbeat(self, run_id: uuid.UUID, clock: RunClock, *, force: bool = False) -> None:
        """Renew the lease (at most every HEARTBEAT_EVERY_S); stop if another run took it."""
        if not force and self.monotonic() - self._last_heartbeat < HEARTBEAT_EVERY_S:
            return
        self._last_heartbeat = self.monotonic()
        with self.database.transaction() as uow:
            alive = uow.job_runs.heartbeat(run_id, owner=self.owner, now=clock.now())
        if not alive:
            raise LeaseLostError(LeaseLostError.MESSAGE)

    def finish(self, run_id: uuid.UUID, summary: FinishedRun, clock: RunClock) -> bool:
        """Store the run's end; False when another worker holds the run by now."""
        status = JobStatus.FAILED if summary.failed else JobStatus.SUCCESS
        with self.database.transaction() as uow:
            finished = uow.job_runs.finish(
                run_id,
                owner=self.owner,
                status=status,
                summary=self.redactor.redact(summary.to_json()),
                now=clock.now(),
            )
        if not finished:
            log.error("lease_lost", trading_date=summary.trading_date.isoformat())
            return False
        log.info(
            "run_finished",
            trading_date=summary.trading_date.isoformat(),
            status=status.value,
            errors=len(summary.errors),
        )
        return True
