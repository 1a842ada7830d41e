"""`trading-automation schedule`: the jobs on New York time, for hosts without cron.

APScheduler (3.x) fires each job on weekdays at a New York wall-clock time, so daylight saving
never moves it: the open-job at 09:30, `check --notify` at 10:00, the close-job at 16:15. The
broker's calendar still decides inside each job whether the day is a trading day (a holiday's
runs exit 0 saying so). Each run is the same command cron would run, in a process of its own;
a job whose previous run is still going is skipped (never two of the same job at once), and
every decision is logged.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from trading_automation.domain.timestamps import NEW_YORK

if TYPE_CHECKING:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ScheduledJob:
    """A command run on weekdays at `hour:minute` New York time; a run that starts more than
    `grace` late (the host slept, the scheduler was down) is skipped and logged."""

    name: str
    args: tuple[str, ...]
    hour: int
    minute: int
    grace: timedelta


SCHEDULE = (
    # The open-job's own gate accepts 09:15-10:00 New York time; a later start would be refused.
    ScheduledJob("open-job", ("open-job",), 9, 30, timedelta(minutes=25)),
    ScheduledJob("check", ("check", "--notify"), 10, 0, timedelta(hours=1)),
    # After the 16:00 close (13:00 on half days); a missed close can run any time that evening.
    ScheduledJob("close-job", ("close-job",), 16, 15, timedelta(hours=6)),
)


def trigger(job: ScheduledJob) -> CronTrigger:
    """The job's weekday trigger on New York time."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(day_of_week="mon-fri", hour=job.hour, minute=job.minute, timezone=NEW_YORK)


def next_runs(
    after: datetime, count: int, jobs: Sequence[ScheduledJob] = SCHEDULE
) -> list[tuple[str, datetime]]:
    """The next `count` runs after `after` (aware), in order: (job name, instant in New York)."""
    upcoming: list[tuple[str, datetime]] = []
    for job in jobs:
        fire: datetime | None = None
        moment = after
        while len([u for u in upcoming if u[0] == job.name]) < count:
            fire = trigger(job).get_next_fire_time(fire, moment)
            if fire is None:  # pragma: no cover - a weekday trigger always fires again
                break
            upcoming.append((job.name, fire))
            moment = fire + timedelta(seconds=1)
    return sorted(upcoming, key=lambda item: item[1])[:count]


def command(args: Sequence[str], env_file: str | None = None) -> list[str]:
    """The command line of a job: this installation's `trading-automation` with `args`."""
    prefix = ["--env-file", env_file] if env_file else []
    return [sys.executable, "-m", "trading_automation", *prefix, *args]


class JobRunner:
    """Runs jobs' commands, never two of the same job at once, logging what it decides."""

    def __init__(self, run: Callable[[list[str]], int], *, env_file: str | None = None) -> None:
        self.run = run
        self.env_file = env_file
        self._locks = {job.name: threading.Lock() for job in SCHEDULE}
        self._guard = threading.Lock()

    def __call__(self, job: ScheduledJob) -> int | None:
        """Run `job` now; None when its previous run is still going (then nothing is run)."""
        with self._guard:
            lock = self._locks.setdefault(job.name, threading.Lock())
        if not lock.acquire(blocking=False):
            log.warning("schedule_skipped", job=job.name, reason="its previous run is still going")
            return None
        try:
            log.info("schedule_start", job=job.name, args=list(job.args))
            code = self.run(command(job.args, self.env_file))
            log.log(20 if code == 0 else 40, "schedule_finished", job=job.name, exit_code=code)
            return code
        finally:
            lock.release()


def run_process(argv: list[str]) -> int:
    """Run a command to its end, its output going where the scheduler's goes."""
    return subprocess.run(argv, check=False).returncode  # noqa: S603 - our own command


def build_scheduler(runner: Callable[[ScheduledJob], Any]) -> BlockingScheduler:
    """A blocking scheduler holding every job of `SCHEDULE` (started by the caller)."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=NEW_YORK)
    for job in SCHEDULE:
        scheduler.add_job(
            runner,
            trigger(job),
            args=[job],
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(job.grace.total_seconds()),
        )

    def decided(event: Any) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("schedule_missed", job=event.job_id, due=str(event.scheduled_run_time))
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("schedule_skipped", job=event.job_id, reason="already running")
        else:
            log.error("schedule_error", job=event.job_id, error=str(event.exception))

    scheduler.add_listener(decided, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    return scheduler
