"""Units of work: commit, rollback, savepoints, read-only, and retries of lost races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import delete, select, text, update

from tests.conftest import make_settings
from trading_automation.db.database import Database, UnitOfWork, transaction
from trading_automation.db.errors import (
    DatabaseLockedError,
    SerializationFailureError,
)
from trading_automation.db.models import Trade
from trading_automation.db.run_models import IngestCheckpoint, JobRun
from trading_automation.domain.enums import JobType

# Bounds a wait for another thread only so that a broken test fails instead of hanging.
GUARD_S = 30.0


def _trade(number: int) -> Trade:
    return Trade(source_hash=f"h{number}", client_order_id=f"c{number}", symbol="AMZN")


def _count(database: Database) -> int:
    with database.transaction(readonly=True) as uow:
        return uow.session.query(Trade).count()


def test_commits_when_the_block_returns(database: Database) -> None:
    with database.transaction() as uow:
        uow.session.add(_trade(1))

    assert _count(database) == 1


def test_rolls_back_everything_when_the_block_raises(database: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), database.transaction() as uow:
        uow.session.add(_trade(1))
        uow.flush()
        raise RuntimeError("boom")

    assert _count(database) == 0


def test_autocommit_commits_each_statement_as_it_runs(postgres_database: Database) -> None:
    with pytest.raises(RuntimeError, match="after one"), postgres_database.autocommit() as uow:
        uow.session.add(_trade(1))
        uow.flush()
        # Already visible to every other connection, before the block ends.
        assert _count(postgres_database) == 1
        raise RuntimeError("after one statement")

    assert _count(postgres_database) == 1


def test_objects_of_an_autocommit_block_that_raised_stay_readable(
    postgres_database: Database,
) -> None:
    with postgres_database.transaction() as uow:
        uow.session.add(_trade(1))
    with pytest.raises(RuntimeError), postgres_database.autocommit() as uow:
        trade = uow.session.scalars(select(Trade)).one()
        uow.session.add(_trade(2))
        uow.flush()
        raise RuntimeError("after the insert committed")

    assert (trade.source_hash, trade.symbol) == ("h1", "AMZN")
    assert _count(postgres_database) == 2


@pytest.mark.parametrize("where", ["sqlite", "postgresql-transaction-pooling"])
def test_autocommit_is_an_ordinary_transaction_where_statements_cannot_commit_alone(
    where: str, migrated_urls: Callable[[str], str]
) -> None:
    if where == "sqlite":
        settings = make_settings(migrated_urls("sqlite"))
    else:
        settings = make_settings(migrated_urls("postgresql"), database_pool_mode="transaction")
    database = Database.from_settings(settings)
    try:
        with pytest.raises(RuntimeError, match="boom"), database.autocommit() as uow:
            uow.session.add(_trade(1))
            uow.flush()
            raise RuntimeError("boom")

        assert _count(database) == 0
    finally:
        with database.transaction() as uow:
            uow.session.execute(delete(Trade))
        database.dispose()


def test_the_daily_cap_lock_refuses_an_autocommit_unit_of_work(
    postgres_database: Database,
) -> None:
    with (
        pytest.raises(RuntimeError, match="needs a transaction"),
        postgres_database.autocommit() as uow,
    ):
        uow.trades.lock_daily_caps(date(2024, 6, 20))


def test_savepoint_undoes_only_its_own_block(database: Database) -> None:
    with database.transaction() as uow:
        uow.session.add(_trade(1))
        with pytest.raises(RuntimeError), uow.savepoint():
            uow.session.add(_trade(2))
            uow.flush()
            raise RuntimeError("undo trade 2 only")
        uow.session.add(_trade(3))

    with database.transaction() as uow:
        kept = sorted(uow.session.scalars(select(Trade.source_hash)))
    assert kept == ["h1", "h3"]


def test_transaction_helper_nests_as_a_savepoint(database: Database) -> None:
    with database.transaction() as uow:
        with transaction(uow.session):
            uow.session.add(_trade(1))
        with pytest.raises(RuntimeError), transaction(uow.session):
            uow.session.add(_trade(2))
            uow.flush()
            raise RuntimeError("inner only")

    assert _count(database) == 1


def test_readonly_transactions_can_read(database: Database) -> None:
    with database.transaction() as uow:
        uow.session.add(_trade(1))

    with database.transaction(readonly=True) as uow:
        assert uow.session.scalars(select(Trade.symbol)).all() == ["AMZN"]


def test_writes_after_a_readonly_transaction_still_work(database: Database) -> None:
    _count(database)
    with database.transaction() as uow:
        uow.session.add(_trade(1))

    assert _count(database) == 1


def test_run_retries_after_a_real_serialization_failure(postgres_database: Database) -> None:
    database = postgres_database
    day = date(2024, 6, 3)
    with database.transaction() as uow:
        uow.session.add(JobRun(type=JobType.OPEN_JOB, trading_date_et=day, attempt=1))
    attempts: list[int] = []

    def work(uow: UnitOfWork) -> int:
        attempts.append(1)
        seen = uow.session.scalars(select(JobRun.attempt)).one()
        if len(attempts) == 1:
            # Another transaction changes the row after this one took its snapshot.
            with database.transaction() as other:
                other.session.execute(update(JobRun).values(attempt=JobRun.attempt + 10))
        uow.session.execute(update(JobRun).values(attempt=seen + 1))
        return seen

    seen = database.run(work, isolation_level="REPEATABLE READ", base_delay_s=0.01)

    assert len(attempts) == 2
    assert seen == 11
    with database.transaction() as uow:
        assert uow.session.scalars(select(JobRun.attempt)).one() == 12


def test_run_gives_up_after_the_attempt_limit(postgres_database: Database) -> None:
    database = postgres_database
    with database.transaction() as uow:
        uow.session.add(IngestCheckpoint(trading_date_et=date(2024, 6, 3)))
    attempts: list[int] = []

    def always_loses(uow: UnitOfWork) -> None:
        attempts.append(1)
        uow.session.scalars(select(IngestCheckpoint)).one()
        with database.transaction() as other:
            other.session.execute(update(IngestCheckpoint).values(last_filed_ts_processed_et=None))
        uow.session.execute(update(IngestCheckpoint).values(last_filed_ts_processed_et=None))

    with pytest.raises(SerializationFailureError):
        database.run(always_loses, isolation_level="SERIALIZABLE", attempts=3, base_delay_s=0.001)

    assert len(attempts) == 3


def test_run_retries_a_real_deadlock(postgres_database: Database) -> None:
    database = postgres_database
    with database.transaction() as uow:
        uow.session.add_all([_trade(1), _trade(2)])
    barrier = threading.Barrier(2, timeout=10)
    attempts: dict[str, int] = {"a": 0, "b": 0}

    def locker(name: str, first: str, second: str) -> Callable[[UnitOfWork], None]:
        def work(uow: UnitOfWork) -> None:
            attempts[name] += 1
            uow.session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
            uow.session.execute(
                update(Trade).where(Trade.source_hash == first).values(status_reason=name)
            )
            if attempts[name] == 1:
                barrier.wait()
            uow.session.execute(
                update(Trade).where(Trade.source_hash == second).values(status_reason=name)
            )

        return work

    errors: list[BaseException] = []

    def run(name: str, first: str, second: str) -> None:
        try:
            database.run(locker(name, first, second), base_delay_s=0.05)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("a", "h1", "h2")),
        threading.Thread(target=run, args=("b", "h2", "h1")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(attempts.values()) == [1, 2]


def test_run_retries_while_another_sqlite_writer_holds_the_lock(
    make_empty_url: Callable[[str], str],
) -> None:
    from trading_automation.db.migrate import alembic_config, upgrade

    url = make_empty_url("sqlite")
    upgrade(alembic_config(make_settings(url)))
    holder = Database.from_settings(make_settings(url))
    waiter = Database.from_settings(make_settings(url, db_busy_timeout_ms=50))
    locked, release, released = threading.Event(), threading.Event(), threading.Event()

    def hold_lock() -> None:
        # Holds the write lock until the waiter has failed once and is trying again.
        try:
            with holder.transaction() as uow:
                uow.session.add(_trade(1))
                uow.flush()
                locked.set()
                release.wait(timeout=GUARD_S)
        finally:
            released.set()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    assert locked.wait(timeout=GUARD_S)
    attempts: list[int] = []

    def write(uow: UnitOfWork) -> None:
        attempts.append(1)
        if len(attempts) > 1:
            release.set()
            released.wait(timeout=GUARD_S)
        uow.session.add(_trade(2))

    waiter.run(write, attempts=10, base_delay_s=0.01, max_delay_s=0.02)
    thread.join(timeout=GUARD_S)

    assert len(attempts) == 2
    assert _count(waiter) == 2
    holder.dispose()
    waiter.dispose()


def test_a_locked_sqlite_database_raises_locked_error_when_not_retried(
    make_empty_url: Callable[[str], str],
) -> None:
    from trading_automation.db.migrate import alembic_config, upgrade

    url = make_empty_url("sqlite")
    upgrade(alembic_config(make_settings(url)))
    holder = Database.from_settings(make_settings(url))
    waiter = Database.from_settings(make_settings(url, db_busy_timeout_ms=20))

    with holder.transaction() as uow:
        uow.session.add(_trade(1))
        uow.flush()
        with pytest.raises(DatabaseLockedError, match="locked"), waiter.transaction() as other:
            other.session.add(_trade(2))

    holder.dispose()
    waiter.dispose()
