"""Repositories: each takes the caller's session (or unit of work) and never commits."""

from trading_automation.db.repositories.alerts import AlertClaim, AlertCounts, AlertRepository
from trading_automation.db.repositories.api_requests import ApiRequestRepository, BudgetDecision
from trading_automation.db.repositories.checkpoints import IngestCheckpointRepository
from trading_automation.db.repositories.feed import CongressFeedRepository, StoreResult
from trading_automation.db.repositories.feed_listing import FeedEntry
from trading_automation.db.repositories.job_runs import (
    ClaimOutcome,
    ClaimResult,
    JobRunRepository,
    RunState,
)
from trading_automation.db.repositories.lots import (
    LotRepository,
    LotRow,
    SaleFiling,
    exit_key,
)
from trading_automation.db.repositories.pagination import Cursor, InvalidCursorError, Page
from trading_automation.db.repositories.skips import FilingSkipRepository
from trading_automation.db.repositories.snapshots import DayClose, SnapshotRepository
from trading_automation.db.repositories.trades import (
    ApplyResult,
    IntentResult,
    TradeCount,
    TradeRepository,
)

__all__ = [
    "AlertClaim",
    "AlertCounts",
    "AlertRepository",
    "ApiRequestRepository",
    "ApplyResult",
    "BudgetDecision",
    "ClaimOutcome",
    "ClaimResult",
    "CongressFeedRepository",
    "Cursor",
    "DayClose",
    "FeedEntry",
    "FilingSkipRepository",
    "IngestCheckpointRepository",
    "IntentResult",
    "InvalidCursorError",
    "JobRunRepository",
    "LotRepository",
    "LotRow",
    "Page",
    "RunState",
    "SaleFiling",
    "SnapshotRepository",
    "StoreResult",
    "TradeCount",
    "TradeRepository",
    "exit_key",
]
