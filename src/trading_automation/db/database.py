"""Units of work: one transaction each, committed on success and rolled back on any exception.

    database = Database.from_settings(settings)
    with database.transaction() as uow:      # BEGIN
        ...                                  # repositories share uow.session
        with uow.savepoint():                # SAVEPOINT: undo just this part on error
            ...
    # COMMIT here, or ROLLBACK if the block raised

`Database.autocommit()` is the unit of work for single-statement writes: PostgreSQL commits each
statement as it runs, which saves the BEGIN and COMMIT round trips of a transaction.

`Database.run(work)` runs `work(uow)` in a fresh transaction and runs it again when the database
reports a lost race (serialization failure, deadlock, SQLite busy), with bounded attempts and
jittered exponential backoff. The work must therefore be safe to repeat from the start.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Literal, TypeVar

import structlog
from sqlalchemy.orm import Session, sessionmaker

from trading_automation.db.engine import create_database_engine, readonly_engine
from trading_automation.db.errors import RetryableDatabaseError
from trading_automation.db.repositories import (
    AlertRepository,
    ApiRequestRepository,
    CongressFeedRepository,
    FilingSkipRepository,
    IngestCheckpointRepository,
    JobRunRepository,
    LotRepository,
    SnapshotRepository,
    TradeRepository,
)
from trading_automation.db.repositories.backtests import BacktestRepository
from trading_automation.db.repositories.history_fetches import HistoryFetchRepository
from trading_automation.db.repositories.price_symbols import PriceSymbolRepository
from trading_automation.db.repositories.prices import PriceBarRepository
from trading_automation.db.repositories.replay import ReplayReader

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from trading_automation.config import Settings

T = TypeVar("T")
IsolationLevel = Literal["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]
AUTOCOMMIT = "AUTOCOMMIT"

_log = structlog.get_logger(__name__)


class UnitOfWork:
    """One open transaction and the repositories working inside it (none of them commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @cached_property
    def feed(self) -> CongressFeedRepository:
        """Raw Quiver records."""
        return CongressFeedRepository(self.session)

    @cached_property
    def trades(self) -> TradeRepository:
        """Trades and their broker orders."""
        return TradeRepository(self.session)

    @cached_property
    def lots(self) -> LotRepository:
        """Lots (filled buys), their exits and their closes."""
        return LotRepository(self.session)

    @cached_property
    def job_runs(self) -> JobRunRepository:
        """Once-per-day job runs."""
        return JobRunRepository(self.session)

    @cached_property
    def api_requests(self) -> ApiRequestRepository:
        """The request budgets of rate-limited APIs."""
        return ApiRequestRepository(self.session)

    @cached_property
    def checkpoints(self) -> IngestCheckpointRepository:
        """Per-day ingest high-water marks."""
        return IngestCheckpointRepository(self.session)

    @cached_property
    def snapshots(self) -> SnapshotRepository:
        """Account snapshots at each day's close."""
        return SnapshotRepository(self.session)

    @cached_property
    def alerts(self) -> AlertRepository:
        """Alerts recorded and sent, one per problem and day."""
        return AlertRepository(self.session)

    @cached_property
    def prices(self) -> PriceBarRepository:
        """Daily price bars."""
        return PriceBarRepository(self.session)

    @cached_property
    def price_symbols(self) -> PriceSymbolRepository:
        """Per-symbol bar coverage, adjustments to refetch, unknown symbols."""
        return PriceSymbolRepository(self.session)

    @cached_property
    def history_fetches(self) -> HistoryFetchRepository:
        """Progress of the paged disclosure-history fetches."""
        return HistoryFetchRepository(self.session)

    @cached_property
    def replay(self) -> ReplayReader:
        """What a backtest reads of the stored history."""
        return ReplayReader(self.session)

    @cached_property
    def skips(self) -> FilingSkipRepository:
        """Filings decided against, with their rule."""
        return FilingSkipRepository(self.session)

    @cached_property
    def backtests(self) -> BacktestRepository:
        """Backtest runs stored, with their equity at each close."""
        return BacktestRepository(self.session)

    @contextmanager
    def savepoint(self) -> Iterator[UnitOfWork]:
        """Run a block in a SAVEPOINT: an exception undoes the block only, then propagates."""
        with self.session.begin_nested():
            yield self

    def flush(self) -> None:
        """Send pending changes now, so constraint violations surface at this point."""
        self.session.flush()


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Open a transaction on `session`, or a savepoint if one is already open."""
    if session.in_transaction():
        with session.begin_nested():
            yield session
    else:
        with session.begin():
            yield session


class Database:
    """An engine and its session factories; built once per process by the command that needs it."""

    def __init__(self, engine: Engine, *, autocommit: bool = True) -> None:
        """`autocommit=False` makes `autocommit()` an ordinary transaction (see there)."""
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False, autobegin=False)
        self._readonly_sessions = sessionmaker(
            bind=readonly_engine(engine), expire_on_commit=False, autobegin=False
        )
        self._autocommit_sessions = (
            sessionmaker(
                bind=engine.execution_options(isolation_level=AUTOCOMMIT),
                expire_on_commit=False,
                autobegin=False,
            )
            if autocommit and engine.dialect.name == "postgresql"
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, url: str | None = None) -> Database:
        """Build the database for DATABASE_URL (or `url`) with the configured pooling."""
        # Behind PgBouncer's transaction pooling the statement timeout is set per transaction
        # (SET LOCAL), which a statement outside a transaction would run without.
        return cls(
            create_database_engine(settings, url=url),
            autocommit=settings.database_pool_mode != "transaction",
        )

    @property
    def dialect_name(self) -> str:
        """`postgresql` or `sqlite`."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(
        self, *, readonly: bool = False, isolation_level: IsolationLevel | None = None
    ) -> Iterator[UnitOfWork]:
        """Run a block as one transaction: commit when it returns, roll back when it raises."""
        factory = self._readonly_sessions if readonly else self._sessions
        with factory() as session, session.begin():
            # SQLite transactions are always serializable; asking its driver for a level would
            # undo the engine's own BEGIN handling, so the level applies to PostgreSQL only.
            if isolation_level is not None and self.dialect_name == "postgresql":
                session.connection(execution_options={"isolation_level": isolation_level})
            yield UnitOfWork(session)

    @contextmanager
    def autocommit(self) -> Iterator[UnitOfWork]:
        """A unit of work whose statements PostgreSQL commits one by one, as each runs.

        A write then costs one round trip instead of three (BEGIN, the statement, COMMIT), and
        is as durable as a committed transaction. Nothing groups the block's statements: an
        exception leaves those already run committed, and row locks (`FOR UPDATE`) and
        transaction-scoped advisory locks end with their statement. Use it only for work that is
        one statement, or whose statements are each correct on their own, like the trade
        repository's `record_intent` and `apply_order`.

        On SQLite, and behind PgBouncer's transaction pooling, it is an ordinary `transaction()`;
        for a single statement the outcome is the same.
        """
        if self._autocommit_sessions is None:
            with self.transaction() as uow:
                yield uow
            return
        with self._autocommit_sessions() as session, session.begin():
            try:
                yield UnitOfWork(session)
            except BaseException:
                # Every statement run has committed: keep the objects as they were read and
                # written (the rollback that follows would expire them), detached.
                session.expunge_all()
                raise

    def run(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        readonly: bool = False,
        isolation_level: IsolationLevel | None = None,
        attempts: int = 5,
        base_delay_s: float = 0.05,
        max_delay_s: float = 2.0,
    ) -> T:
        """Run `work` in a transaction, retrying it on serialization failures and lock timeouts."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction(readonly=readonly, isolation_level=isolation_level) as uow:
                    return work(uow)
            except RetryableDatabaseError as error:
                if attempt == attempts:
                    raise
                ceiling = min(max_delay_s, base_delay_s * 2 ** (attempt - 1))
                delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
                _log.info(
                    "transaction_retry",
                    attempt=attempt,
                    error=type(error).__name__,
                    delay_s=round(delay, 3),
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
