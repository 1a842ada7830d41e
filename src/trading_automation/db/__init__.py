"""The data layer: models, units of work, repositories and domain errors.

    from trading_automation.db import Database

    with Database.from_settings(settings).transaction() as uow:
        result = uow.trades.record_intent(source_hash=..., symbol="AAPL")

Importing this package loads SQLAlchemy; commands import it only when they need the database.
"""

from trading_automation.db.backtest_models import BacktestEquity, BacktestRun
from trading_automation.db.base import Base
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
from trading_automation.db.history_models import HistoryFetch, PriceBar, PriceSymbol
from trading_automation.db.models import CongressTradeFeed, FilingSkip, LotClose, Trade
from trading_automation.db.ops_models import AccountSnapshot, Alert
from trading_automation.db.repositories import (
    ApiRequestRepository,
    ApplyResult,
    BudgetDecision,
    ClaimOutcome,
    ClaimResult,
    CongressFeedRepository,
    Cursor,
    FeedEntry,
    FilingSkipRepository,
    IngestCheckpointRepository,
    IntentResult,
    InvalidCursorError,
    JobRunRepository,
    LotRepository,
    LotRow,
    Page,
    RunState,
    SaleFiling,
    StoreResult,
    TradeCount,
    TradeRepository,
)
from trading_automation.db.run_models import ApiRequest, IngestCheckpoint, JobRun, JobRunAttempt
from trading_automation.domain.enums import (
    AlertLevel,
    CloseCause,
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
    "AccountSnapshot",
    "Alert",
    "AlertLevel",
    "ApiRequest",
    "ApiRequestRepository",
    "ApplyResult",
    "BacktestEquity",
    "BacktestRun",
    "Base",
    "BudgetDecision",
    "CheckConstraintViolationError",
    "ClaimOutcome",
    "ClaimResult",
    "CloseCause",
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
    "FilingSkip",
    "FilingSkipRepository",
    "ForeignKeyViolationError",
    "HistoryFetch",
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
    "LotClose",
    "LotRepository",
    "LotRow",
    "NaiveDatetimeError",
    "NotNullViolationError",
    "OrderSide",
    "OrderType",
    "Page",
    "Party",
    "PriceBar",
    "PriceSymbol",
    "QueryTimeoutError",
    "ReadOnlyTransactionError",
    "RetryableDatabaseError",
    "RunState",
    "SaleFiling",
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
