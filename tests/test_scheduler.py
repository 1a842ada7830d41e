"""The built-in scheduler: run times across both daylight-saving switches, one run per job at a
time, and the commands it runs (no waiting: triggers are asked for their times directly)."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime

from click.testing import CliRunner

from trading_automation.cli import cli
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.scheduler import SCHEDULE, JobRunner, build_scheduler, command, next_runs


def _utc(runs: list[tuple[str, datetime]]) -> list[tuple[str, str]]:
    return [(name, moment.astimezone(UTC).strftime("%a %m-%d %H:%M")) for name, moment in runs]


def test_in_spring_the_jobs_keep_new_york_time_as_utc_moves_an_hour_earlier() -> None:
    # Daylight saving starts on Sunday 2024-03-10.
    runs = next_runs(datetime(2024, 3, 8, 12, 0, tzinfo=UTC), 6)

    assert _utc(runs) == [
        ("open-job", "Fri 03-08 14:30"),
        ("check", "Fri 03-08 15:00"),
        ("close-job", "Fri 03-08 21:15"),
        ("open-job", "Mon 03-11 13:30"),
        ("check", "Mon 03-11 14:00"),
        ("close-job", "Mon 03-11 20:15"),
    ]
    assert {moment.astimezone(NEW_YORK).strftime("%H:%M") for _, moment in runs} == {
        "09:30",
        "10:00",
        "16:15",
    }


def test_in_autumn_the_jobs_keep_new_york_time_as_utc_moves_an_hour_later() -> None:
    # Daylight saving ends on Sunday 2024-11-03.
    runs = next_runs(datetime(2024, 11, 1, 12, 0, tzinfo=UTC), 4)

    assert _utc(runs) == [
        ("open-job", "Fri 11-01 13:30"),
        ("check", "Fri 11-01 14:00"),
        ("close-job", "Fri 11-01 20:15"),
        ("open-job", "Mon 11-04 14:30"),
    ]


def test_weekends_have_no_runs() -> None:
    runs = next_runs(datetime(2024, 6, 22, 0, 0, tzinfo=UTC), 3)  # a Saturday

    assert {moment.astimezone(NEW_YORK).date().isoformat() for _, moment in runs} == {"2024-06-24"}


def test_a_job_whose_previous_run_is_still_going_is_skipped_never_run_twice() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def run(argv: list[str]) -> int:
        calls.append(argv)
        started.set()
        release.wait(10)
        return 0

    runner = JobRunner(run)
    open_job, check = SCHEDULE[0], SCHEDULE[1]
    first = threading.Thread(target=runner, args=(open_job,))
    first.start()
    assert started.wait(10)
    second = runner(open_job)
    release.set()
    first.join(10)
    other = runner(check)
    third = runner(open_job)

    assert second is None
    assert other == third == 0
    assert [argv[-1] for argv in calls] == ["open-job", "--notify", "open-job"]


def test_each_job_runs_the_command_the_readme_documents() -> None:
    assert command(("open-job",)) == [sys.executable, "-m", "trading_automation", "open-job"]
    assert command(("check", "--notify"), "/etc/ta.env")[3:] == [
        "--env-file",
        "/etc/ta.env",
        "check",
        "--notify",
    ]


def test_the_scheduler_holds_one_instance_of_each_job_on_new_york_time() -> None:
    scheduler = build_scheduler(lambda job: None)

    jobs = {job.id: job for job in scheduler.get_jobs()}

    assert set(jobs) == {"open-job", "check", "close-job"}
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    assert str(jobs["open-job"].trigger.timezone) == "America/New_York"
    assert jobs["open-job"].misfire_grace_time == 25 * 60


def test_schedule_list_prints_the_next_runs_in_new_york_and_utc() -> None:
    result = CliRunner().invoke(cli, ["--env-file", "/dev/null", "schedule", "--list", "3"])

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert len(lines) == 3
    assert all("New York time (" in line and "UTC)" in line for line in lines)
    assert {line.split()[-1] for line in lines} <= {"open-job", "check", "close-job"}
