"""The data layer: models, units of work, repositories and domain errors.

    from trading_automation.db import Database

    with Database.from_settings(settings).transaction() as uow:
        result = uow.trades.record_intent(source_hash=..., symbol="AAPL")

Importing this package loads SQLAlchemy; commands import it only when they need the database.
"""

from trading_automation.db.database import Database, UnitOfWork, transaction
from trading_automation.db.errors import (
    CheckConstraintViolationError,
    ConcurrentUpdateError,
    DatabaseError,
    DatabaseLockedError,
    DatabaseUnavailableError,
    DeadlockDetectedError,
    ForeignKeyViolationError,
    IntegrityViolationError,
    NotNullViolationError,
    QueryTimeoutError,
    ReadOnlyTransactionError,
    RetryableDatabaseError,
    SchemaNotReadyError,
    SerializationFailureError,
    UniqueConstraintViolationError,
)
from trading_automation.db.models import (
    ApiRequest,
    Base,
    CongressTradeFeed,
    IngestCheckpoint,
    JobRun,
    JobRunAttempt,
    Trade,
)
from trading_automation.db.repositories import (
    ApiRequestRepository,
    ApplyResult,
    BudgetDecision,
    ClaimOutcome,
    ClaimResult,
    CongressFeedRepository,
    Cursor,
    FeedEntry,
    IngestCheckpointRepository,
    IntentResult,
    InvalidCursorError,
    JobRunRepository,
    Page,
    RunState,
    StoreResult,
    TradeCount,
    TradeRepository,
)
from trading_automation.domain.enums import (
    FeedTransaction,
    JobStatus,
    JobType,
    OrderSide,
    OrderType,
    Party,
    TimeInForce,
    TradeStatus,
)
from trading_automation.domain.timestamps import NaiveDatetimeError
from trading_automation.errors import InvalidValueError

__all__ = [
    "ApiRequest",
    "ApiRequestRepository",
    "ApplyResult",
    "Base",
    "BudgetDecision",
    "CheckConstraintViolationError",
    "ClaimOutcome",
    "ClaimResult",
    "ConcurrentUpdateError",
    "CongressFeedRepository",
    "CongressTradeFeed",
    "Cursor",
    "Database",
    "DatabaseError",
    "DatabaseLockedError",
    "DatabaseUnavailableError",
    "DeadlockDetectedError",
    "FeedEntry",
    "FeedTransaction",
    "ForeignKeyViolationError",
    "IngestCheckpoint",
    "IngestCheckpointRepository",
    "IntegrityViolationError",
    "IntentResult",
    "InvalidCursorError",
    "InvalidValueError",
    "JobRun",
    "JobRunAttempt",
    "JobRunRepository",
    "JobStatus",
    "JobType",
    "NaiveDatetimeError",
    "NotNullViolationError",
    "OrderSide",
    "OrderType",
    "Page",
    "Party",
    "QueryTimeoutError",
    "ReadOnlyTransactionError",
    "RetryableDatabaseError",
    "RunState",
    "SchemaNotReadyError",
    "SerializationFailureError",
    "StoreResult",
    "TimeInForce",
    "Trade",
    "TradeCount",
    "TradeRepository",
    "TradeStatus",
    "UniqueConstraintViolationError",
    "UnitOfWork",
    "transaction",
]
