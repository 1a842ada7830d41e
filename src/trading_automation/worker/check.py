"""`trading-automation check`: did the last trading day's open-job run, and is the data fresh?

What a cron line or an uptime monitor calls at 10:00 New York time: one line, exit 0 when all is
well, 1 with what is wrong otherwise. The trading day is the broker's: the newest one whose open
was at least `GRACE` ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from trading_automation.clients.alpaca import AlpacaClient
from trading_automation.clients.errors import ApiError
from trading_automation.db import Database, JobRun, JobStatus, JobType
from trading_automation.db.errors import DatabaseError
from trading_automation.domain.enums import AlertLevel
from trading_automation.logs import SecretRedactor
from trading_automation.notify.events import Event
from trading_automation.notify.run_events import fetched_nothing_new, rerun_hint
from trading_automation.worker.schedule import new_york_time

# The open-job runs at the open and takes about a minute; a check this long after the open
# expects it done.
GRACE = timedelta(minutes=20)
CALENDAR_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True)
class CheckResult:
    """The verdict: `ok`, the one line to print, and what is wrong (a short code) when not."""

    ok: bool
    line: str
    problem: str | None = None
    day: date | None = None


def run_check(
    database: Database,
    alpaca: AlpacaClient,
    *,
    quiet_days: int,
    lease: timedelta,
    redactor: SecretRedactor,
    now: datetime | None = None,
) -> CheckResult:
    """Check the database, the broker's calendar, the last trading day's run and the data."""
    try:
        with database.transaction(readonly=True) as uow:
            uow.job_runs.list_recent(limit=1)
    except DatabaseError as error:
        return CheckResult(False, f"the database cannot be read: {error}", "database")
    try:
        moment = now or alpaca.clock().timestamp
        sessions = alpaca.calendar(moment.date() - CALENDAR_LOOKBACK, moment.date())
    except ApiError as error:
        line = f"Alpaca did not answer, so the trading calendar is unknown: {error}"
        return CheckResult(False, redactor.redact(line), "broker")
    opened = [s for s in sessions if s.open_at + GRACE <= moment]
    if not opened:
        return CheckResult(False, "the broker's calendar has no trading day yet", "calendar")
    session = max(opened, key=lambda s: s.date)
    day = session.date
    with database.transaction(readonly=True) as uow:
        runs = list(
            uow.session.scalars(
                select(JobRun)
                .where(JobRun.type == JobType.OPEN_JOB, JobRun.trading_date_et <= day)
                .order_by(JobRun.trading_date_et.desc())
                .limit(quiet_days)
            )
        )
    run = runs[0] if runs and runs[0].trading_date_et == day else None
    verdict = _run_verdict(run, day, session.open_at, now=moment, lease=lease, redactor=redactor)
    if verdict is not None:
        return verdict
    assert run is not None
    if len(runs) >= quiet_days and all(fetched_nothing_new(r) for r in runs):
        return CheckResult(
            False,
            f"stale data: Quiver returned nothing new for {quiet_days} trading days "
            f"(since {runs[-1].trading_date_et}); check Quiver and QUIVER_API_KEY",
            "stale",
            day,
        )
    finished = new_york_time(run.finished_at) if run.finished_at else "an unknown time"
    return CheckResult(True, f"ok: the open-job for {day} succeeded at {finished}", None, day)


def _run_verdict(
    run: JobRun | None,
    day: date,
    opens: datetime,
    *,
    now: datetime,
    lease: timedelta,
    redactor: SecretRedactor,
) -> CheckResult | None:
    """What is wrong with the day's run, or None when it succeeded."""
    hint = rerun_hint("open-job", day)
    if run is None:
        return CheckResult(
            False,
            f"missed: no open-job ran for {day} (the market opened at {new_york_time(opens)}); "
            f"run {hint}",
            "missed",
            day,
        )
    if run.status is JobStatus.RUNNING:
        if run.heartbeat_at is not None and run.heartbeat_at >= now - lease:
            started = new_york_time(run.started_at) if run.started_at else "an unknown time"
            return CheckResult(
                False, f"the open-job for {day} is still running (since {started})", "running", day
            )
        return CheckResult(
            False,
            f"the open-job for {day} stopped without finishing (its worker died); run {hint}",
            "stalled",
            day,
        )
    if run.status is JobStatus.FAILED:
        errors = (run.summary_json or {}).get("errors") or ["no error recorded"]
        first = redactor.redact(str(errors[0]))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return CheckResult(
            False, f"the open-job for {day} failed: {first}{more}; then run {hint}", "failed", day
        )
    if run.status is JobStatus.PENDING:
        return CheckResult(
            False, f"the open-job for {day} never started; run {hint}", "missed", day
        )
    return None


def check_event(result: CheckResult, today: date) -> Event:
    """The alert of a failed check (`check --notify`)."""
    day = result.day or today
    return Event(
        kind="check",
        level=AlertLevel.ERROR,
        trading_date=day,
        problem=result.problem or "failed",
        title=f"check failed for {day}: {result.problem}",
        happened=result.line,
        money="until the open-job has run, the day's filings are not bought and lots that "
        "should be sold are held.",
        todo="fix what the line above names, then run what it says; `trading-automation check` "
        "says ok once all is well.",
    )
