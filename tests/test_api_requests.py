"""The shared request budget of a rate-limited API, on both backends and across processes."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_settings
from trading_automation.db import Database

API = "quiver-bulk"
HOUR = timedelta(hours=1)
T0 = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


def _acquire(database: Database, now: datetime, *, limit: int = 5) -> object:
    with database.transaction() as uow:
        return uow.api_requests.acquire(API, limit=limit, window=HOUR, now=now, what="test")


def test_requests_are_granted_until_the_hour_holds_the_limit(database: Database) -> None:
    decisions = [_acquire(database, T0 + timedelta(minutes=n)) for n in range(6)]

    assert [d.granted for d in decisions] == [True] * 5 + [False]  # type: ignore[attr-defined]
    assert decisions[4].used == 5  # type: ignore[attr-defined]
    # The first request leaves the window an hour after it was made.
    assert decisions[5].retry_at == T0 + HOUR  # type: ignore[attr-defined]


def test_a_slot_frees_when_the_oldest_request_leaves_the_window(database: Database) -> None:
    for n in range(5):
        _acquire(database, T0 + timedelta(minutes=n))

    refused = _acquire(database, T0 + HOUR - timedelta(microseconds=1))
    granted = _acquire(database, T0 + HOUR)

    assert not refused.granted  # type: ignore[attr-defined]
    assert granted.granted  # type: ignore[attr-defined]


def test_a_retry_after_stops_every_request_until_it_has_passed(database: Database) -> None:
    first = _acquire(database, T0)
    with database.transaction() as uow:
        uow.api_requests.record_outcome(
            first.request_id,  # type: ignore[attr-defined]
            status_code=429,
            retry_until=T0 + timedelta(minutes=20),
        )

    during = _acquire(database, T0 + timedelta(minutes=19))
    after = _acquire(database, T0 + timedelta(minutes=20))

    assert not during.granted  # type: ignore[attr-defined]
    assert during.retry_at == T0 + timedelta(minutes=20)  # type: ignore[attr-defined]
    assert after.granted  # type: ignore[attr-defined]


def test_acquiring_needs_a_transaction(postgres_database: Database) -> None:
    with (
        pytest.raises(RuntimeError, match="needs a transaction"),
        postgres_database.autocommit() as uow,
    ):
        uow.api_requests.acquire(API, limit=5, window=HOUR, now=T0)


def _take_slots(url: str, tries: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    database = Database.from_settings(make_settings(url, db_busy_timeout_ms=20_000))
    granted = 0
    for _ in range(tries):
        with database.transaction() as uow:
            granted += uow.api_requests.acquire(API, limit=5, window=HOUR, now=T0).granted
    database.dispose()
    results.put(granted)


def test_concurrent_processes_never_exceed_the_limit_together(
    database: Database, migrated_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_take_slots, args=(migrated_url, 4, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    granted = [results.get(timeout=10) for _ in workers]

    with database.transaction(readonly=True) as uow:
        used = uow.api_requests.used(API, window=HOUR, now=T0 + timedelta(seconds=1))
    assert sum(granted) == 5
    assert used == 5
