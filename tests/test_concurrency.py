"""Races between real parallel connections: the database decides, exactly once."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest

from tests.conftest import make_settings
from tests.factories import quiver_record, source_hash
from trading_automation.db import ClaimOutcome, Database, JobType, Trade

T = TypeVar("T")
WORKERS = 16


@pytest.fixture
def wide_database(database: Database, migrated_url: str) -> Iterator[Database]:
    """The test database with a pool wide enough for every worker to hold a connection."""
    wide = Database.from_settings(
        make_settings(migrated_url, db_pool_size=WORKERS, db_busy_timeout_ms=30_000)
    )
    yield wide
    wide.dispose()


def race(work: Callable[[int], T], workers: int = WORKERS) -> list[T]:
    """Run `work(i)` in `workers` threads released at the same instant; re-raise any error."""
    barrier = threading.Barrier(workers, timeout=30)
    results: list[T | None] = [None] * workers
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as error:  # pragma: no cover - surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return [result for result in results if result is not None]


def test_sixteen_claimers_of_one_run_produce_exactly_one_winner_every_time(
    wide_database: Database,
) -> None:
    for repetition in range(15):
        day = date(2024, 1, 1) + timedelta(days=repetition)

        def claim(index: int, day: date = day) -> ClaimOutcome:
            with wide_database.transaction() as uow:
                return uow.job_runs.claim(JobType.OPEN_JOB, day, owner=f"worker-{index}").outcome

        outcomes = race(claim)

        assert outcomes.count(ClaimOutcome.CREATED) == 1, (repetition, outcomes)
        assert outcomes.count(ClaimOutcome.HELD_BY_OTHER) == WORKERS - 1


def test_sixteen_claimers_of_a_failed_run_produce_one_retry(wide_database: Database) -> None:
    day = date(2024, 6, 20)
    with wide_database.transaction() as uow:
        run = uow.job_runs.claim(JobType.OPEN_JOB, day, owner="first").run
    with wide_database.transaction() as uow:
        uow.job_runs.finish(run.id, owner="first", status="FAILED")  # type: ignore[arg-type]

    def claim(index: int) -> ClaimOutcome:
        with wide_database.transaction() as uow:
            return uow.job_runs.claim(JobType.OPEN_JOB, day, owner=f"worker-{index}").outcome

    outcomes = race(claim)

    assert outcomes.count(ClaimOutcome.RETRY) == 1
    with wide_database.transaction(readonly=True) as uow:
        stored = uow.job_runs.get(JobType.OPEN_JOB, day)
    assert stored is not None
    assert stored.attempt == 2


def test_sixteen_concurrent_intents_for_one_filing_create_one_trade(
    wide_database: Database,
) -> None:
    key = source_hash("the filing")

    def intend(_index: int) -> bool:
        with wide_database.transaction() as uow:
            return uow.trades.record_intent(source_hash=key, symbol="AMZN").created

    created = race(intend)

    with wide_database.transaction(readonly=True) as uow:
        rows = uow.session.query(Trade).filter(Trade.source_hash == key).count()
    assert created.count(True) == 1
    assert created.count(False) == WORKERS - 1
    assert rows == 1


def test_concurrent_checkpoint_advances_end_at_the_maximum(wide_database: Database) -> None:
    day = date(2024, 6, 20)
    base = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    marks = [base + timedelta(seconds=random.randint(0, 10_000)) for _ in range(WORKERS)]

    def advance(index: int) -> datetime:
        with wide_database.transaction() as uow:
            return uow.checkpoints.advance(day, marks[index])

    race(advance)

    with wide_database.transaction(readonly=True) as uow:
        stored = uow.checkpoints.get(day)
    assert stored is not None
    assert stored.last_filed_ts_processed_et == max(marks)


def test_concurrent_feed_stores_of_the_same_records_store_each_once(
    wide_database: Database,
) -> None:
    records = [quiver_record(Ticker=f"T{n}") for n in range(50)]

    def store(_index: int) -> int:
        with wide_database.transaction() as uow:
            return uow.feed.store(records).new

    new_counts = race(store, workers=8)

    assert sum(new_counts) == 50
