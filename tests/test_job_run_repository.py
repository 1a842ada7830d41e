"""Job runs and ingest checkpoints on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from trading_automation.db import ClaimOutcome, Database, InvalidValueError, JobStatus, JobType
from trading_automation.domain.timestamps import NaiveDatetimeError

DAY = date(2024, 6, 20)
T0 = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _claim(database: Database, owner: str, *, now: datetime = T0, force: bool = False) -> object:
    with database.transaction() as uow:
        return uow.job_runs.claim(
            JobType.OPEN_JOB, DAY, owner=owner, lease=LEASE, force=force, now=now
        )


def _finish(database: Database, result: object, owner: str, status: JobStatus) -> bool:
    with database.transaction() as uow:
        return uow.job_runs.finish(
            result.run.id,  # type: ignore[attr-defined]
            owner=owner,
            status=status,
            summary={"orders": {"submitted": 3}, "errors": []},
            now=T0 + timedelta(minutes=2),
        )


def test_first_claim_creates_the_run(database: Database) -> None:
    result = _claim(database, "host-a:1")

    assert result.won  # type: ignore[attr-defined]
    assert result.outcome is ClaimOutcome.CREATED  # type: ignore[attr-defined]
    run = result.run  # type: ignore[attr-defined]
    assert (run.status, run.attempt, run.owner) == (JobStatus.RUNNING, 1, "host-a:1")
    assert run.heartbeat_at == T0


def test_a_running_run_is_held_against_other_claimers(database: Database) -> None:
    _claim(database, "host-a:1")

    result = _claim(database, "host-b:2", now=T0 + timedelta(minutes=1))

    assert not result.won  # type: ignore[attr-defined]
    assert result.outcome is ClaimOutcome.HELD_BY_OTHER  # type: ignore[attr-defined]
    assert result.run.owner == "host-a:1"  # type: ignore[attr-defined]


def test_a_successful_run_is_not_run_again_unless_forced(database: Database) -> None:
    first = _claim(database, "host-a:1")
    assert _finish(database, first, "host-a:1", JobStatus.SUCCESS)

    again = _claim(database, "host-b:2", now=T0 + timedelta(hours=1))
    forced = _claim(database, "host-b:2", now=T0 + timedelta(hours=1), force=True)

    assert again.outcome is ClaimOutcome.ALREADY_SUCCEEDED  # type: ignore[attr-defined]
    assert again.run.summary_json == {"orders": {"submitted": 3}, "errors": []}  # type: ignore[attr-defined]
    assert forced.outcome is ClaimOutcome.FORCED  # type: ignore[attr-defined]
    assert forced.run.attempt == 2  # type: ignore[attr-defined]
    assert forced.run.finished_at is None  # type: ignore[attr-defined]


def test_a_failed_run_can_be_claimed_again_with_the_attempt_counted(database: Database) -> None:
    first = _claim(database, "host-a:1")
    _finish(database, first, "host-a:1", JobStatus.FAILED)

    retry = _claim(database, "host-a:2", now=T0 + timedelta(minutes=10))

    assert retry.outcome is ClaimOutcome.RETRY  # type: ignore[attr-defined]
    assert (retry.run.attempt, retry.run.owner) == (2, "host-a:2")  # type: ignore[attr-defined]


def test_a_run_whose_owner_stopped_heartbeating_is_taken_over(database: Database) -> None:
    _claim(database, "host-a:1")

    early = _claim(database, "host-b:2", now=T0 + LEASE - timedelta(seconds=1))
    late = _claim(database, "host-b:2", now=T0 + LEASE + timedelta(seconds=1))

    assert early.outcome is ClaimOutcome.HELD_BY_OTHER  # type: ignore[attr-defined]
    assert late.outcome is ClaimOutcome.TAKEOVER  # type: ignore[attr-defined]
    assert late.run.owner == "host-b:2"  # type: ignore[attr-defined]
    assert late.run.attempt == 2  # type: ignore[attr-defined]


def test_heartbeats_extend_the_lease(database: Database) -> None:
    first = _claim(database, "host-a:1")
    with database.transaction() as uow:
        renewed = uow.job_runs.heartbeat(
            first.run.id,
            owner="host-a:1",
            now=T0 + timedelta(minutes=4),  # type: ignore[attr-defined]
        )

    result = _claim(database, "host-b:2", now=T0 + timedelta(minutes=6))

    assert renewed is True
    assert result.outcome is ClaimOutcome.HELD_BY_OTHER  # type: ignore[attr-defined]


def test_an_owner_that_lost_the_run_cannot_heartbeat_or_finish_it(database: Database) -> None:
    first = _claim(database, "host-a:1")
    _claim(database, "host-b:2", now=T0 + LEASE * 2)

    with database.transaction() as uow:
        beat = uow.job_runs.heartbeat(first.run.id, owner="host-a:1")  # type: ignore[attr-defined]
    finished = _finish(database, first, "host-a:1", JobStatus.SUCCESS)

    with database.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.OPEN_JOB, DAY)
    assert (beat, finished) == (False, False)
    assert run is not None
    assert (run.status, run.owner) == (JobStatus.RUNNING, "host-b:2")


def test_a_skipped_day_is_not_run_again(database: Database) -> None:
    first = _claim(database, "host-a:1")
    _finish(database, first, "host-a:1", JobStatus.SKIPPED)

    again = _claim(database, "host-b:2")

    assert again.outcome is ClaimOutcome.ALREADY_SKIPPED  # type: ignore[attr-defined]


def test_finish_refuses_a_non_final_status(database: Database) -> None:
    first = _claim(database, "host-a:1")

    with pytest.raises(InvalidValueError, match="SUCCESS, FAILED or SKIPPED"):
        _finish(database, first, "host-a:1", JobStatus.RUNNING)


def test_recent_runs_are_listed_newest_day_first(database: Database) -> None:
    with database.transaction() as uow:
        for offset in (2, 0, 1):
            uow.job_runs.claim(JobType.OPEN_JOB, DAY - timedelta(days=offset), owner="h:1")

    with database.transaction(readonly=True) as uow:
        days = [run.trading_date_et for run in uow.job_runs.list_recent(limit=2)]

    assert days == [DAY, DAY - timedelta(days=1)]


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoints_advance_and_never_move_backwards(database: Database) -> None:
    with database.transaction() as uow:
        first = uow.checkpoints.advance(DAY, T0)
        later = uow.checkpoints.advance(DAY, T0 + timedelta(hours=1))
        earlier = uow.checkpoints.advance(DAY, T0 - timedelta(hours=5))

    with database.transaction(readonly=True) as uow:
        stored = uow.checkpoints.get(DAY)

    assert first == T0
    assert later == T0 + timedelta(hours=1)
    assert earlier == T0 + timedelta(hours=1)
    assert stored is not None
    assert stored.last_filed_ts_processed_et == T0 + timedelta(hours=1)


def test_checkpoints_are_per_day_and_listed_newest_first(database: Database) -> None:
    with database.transaction() as uow:
        uow.checkpoints.advance(DAY - timedelta(days=1), T0 - timedelta(days=1))
        uow.checkpoints.advance(DAY, T0)

    with database.transaction(readonly=True) as uow:
        recent = [c.trading_date_et for c in uow.checkpoints.list_recent()]
        missing = uow.checkpoints.get(DAY + timedelta(days=1))

    assert recent == [DAY, DAY - timedelta(days=1)]
    assert missing is None


def test_checkpoints_refuse_naive_timestamps(database: Database) -> None:
    with database.transaction() as uow, pytest.raises(NaiveDatetimeError):
        uow.checkpoints.advance(DAY, datetime(2024, 6, 20, 9, 30))  # noqa: DTZ001


def test_a_run_held_by_a_known_dead_owner_is_taken_over_at_once(database: Database) -> None:
    _claim(database, "host-a:1")

    with database.transaction() as uow:
        wrong = uow.job_runs.claim(
            JobType.OPEN_JOB, DAY, owner="host-b:2", dead_owner="host-x:9", now=T0
        )
        right = uow.job_runs.claim(
            JobType.OPEN_JOB, DAY, owner="host-b:2", dead_owner="host-a:1", now=T0
        )

    assert wrong.outcome is ClaimOutcome.HELD_BY_OTHER
    assert right.outcome is ClaimOutcome.TAKEOVER
    assert (right.run.owner, right.run.attempt) == ("host-b:2", 2)


def test_recording_a_finished_run_is_idempotent(database: Database) -> None:
    def record(status: JobStatus) -> bool:
        with database.transaction() as uow:
            return uow.job_runs.record_finished(
                JobType.OPEN_JOB,
                DAY,
                status=status,
                owner="seed",
                started_at=T0,
                finished_at=T0 + timedelta(minutes=1),
                attempt=2,
                summary={"errors": ["quiver unavailable"]},
            )

    created = record(JobStatus.FAILED)
    again = record(JobStatus.SUCCESS)

    with database.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.OPEN_JOB, DAY)
    assert (created, again) == (True, False)
    assert run is not None
    assert (run.status, run.attempt, run.summary_json) == (
        JobStatus.FAILED,
        2,
        {"errors": ["quiver unavailable"]},
    )


# -- every attempt is kept ----------------------------------------------------------------------


def test_every_attempt_is_kept_with_its_owner_times_status_and_summary(database: Database) -> None:
    first = _claim(database, "host-a:1")
    assert _finish(database, first, "host-a:1", JobStatus.SUCCESS)
    forced = _claim(database, "host-b:2", now=T0 + timedelta(hours=1), force=True)
    with database.transaction() as uow:
        uow.job_runs.finish(
            forced.run.id,  # type: ignore[attr-defined]
            owner="host-b:2",
            status=JobStatus.SUCCESS,
            summary={"orders": {"submitted": 0}, "errors": []},
            now=T0 + timedelta(hours=1, seconds=3),
        )

    with database.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.OPEN_JOB, DAY)
        assert run is not None
        attempts = uow.job_runs.attempts([run.id])[run.id]

    assert [(a.attempt, a.owner, a.status) for a in attempts] == [
        (1, "host-a:1", JobStatus.SUCCESS),
        (2, "host-b:2", JobStatus.SUCCESS),
    ]
    assert attempts[0].summary_json == {"orders": {"submitted": 3}, "errors": []}
    assert attempts[1].summary_json == {"orders": {"submitted": 0}, "errors": []}
    assert (attempts[0].started_at, attempts[0].finished_at) == (T0, T0 + timedelta(minutes=2))
    assert attempts[1].finished_at == T0 + timedelta(hours=1, seconds=3)
    assert run.summary_json == attempts[1].summary_json


def test_an_attempt_taken_over_is_closed_as_failed_saying_so(database: Database) -> None:
    _claim(database, "host-a:1")

    taken = _claim(database, "host-b:2", now=T0 + LEASE + timedelta(seconds=1))

    with database.transaction(readonly=True) as uow:
        run_id = taken.run.id  # type: ignore[attr-defined]
        attempts = uow.job_runs.attempts([run_id])[run_id]
    assert taken.outcome is ClaimOutcome.TAKEOVER  # type: ignore[attr-defined]
    assert [(a.attempt, a.status) for a in attempts] == [
        (1, JobStatus.FAILED),
        (2, JobStatus.RUNNING),
    ]
    assert attempts[0].finished_at == T0 + LEASE + timedelta(seconds=1)
    assert attempts[0].summary_json == {
        "errors": ["stopped without finishing; attempt 2 took over"]
    }


def test_a_recorded_finished_run_has_its_attempt(database: Database) -> None:
    with database.transaction() as uow:
        uow.job_runs.record_finished(
            JobType.OPEN_JOB,
            DAY,
            status=JobStatus.FAILED,
            owner="seed",
            started_at=T0,
            finished_at=T0 + timedelta(seconds=9),
            attempt=2,
            summary={"errors": ["quiver down"]},
        )
        run = uow.job_runs.get(JobType.OPEN_JOB, DAY)
        assert run is not None
        [attempt] = uow.job_runs.attempts([run.id])[run.id]

    assert (attempt.attempt, attempt.status, attempt.owner) == (2, JobStatus.FAILED, "seed")
    assert attempt.summary_json == {"errors": ["quiver down"]}
