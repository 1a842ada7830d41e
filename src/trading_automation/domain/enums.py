"""Enumerations of the data model (SPEC §2). Their values are what the database stores."""

from __future__ import annotations

import enum


class FeedTransaction(enum.StrEnum):
    """Direction of a disclosed congressional trade."""

    BUY = "BUY"
    SELL = "SELL"
    UNKNOWN = "UNKNOWN"


class Party(enum.StrEnum):
    """Political party of the disclosing member."""

    DEMOCRAT = "DEMOCRAT"
    REPUBLICAN = "REPUBLICAN"
    INDEPENDENT = "INDEPENDENT"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class OrderSide(enum.StrEnum):
    """Side of an order placed by the system: buys mirror purchases, sells close lots."""

    BUY = "BUY"
    SELL = "SELL"


class CloseCause(enum.StrEnum):
    """Why (part of) a lot was closed: an exit the system made, or a sale outside it."""

    MIRRORED_SALE = "MIRRORED_SALE"
    HOLDING_LIMIT = "HOLDING_LIMIT"
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"
    OUTSIDE = "OUTSIDE"


class OrderType(enum.StrEnum):
    """Type of an order placed by the system."""

    MARKET = "MARKET"


class TimeInForce(enum.StrEnum):
    """Time in force of an order placed by the system."""

    DAY = "DAY"


class TradeStatus(enum.StrEnum):
    """Life cycle of a trade; see `TERMINAL_TRADE_STATUSES`."""

    NEW = "NEW"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        """True when the trade can never change status again."""
        return self in TERMINAL_TRADE_STATUSES


TERMINAL_TRADE_STATUSES: frozenset[TradeStatus] = frozenset(
    {
        TradeStatus.FILLED,
        TradeStatus.CANCELED,
        TradeStatus.EXPIRED,
        TradeStatus.REJECTED,
        TradeStatus.FAILED,
        TradeStatus.SKIPPED,
    }
)
OPEN_TRADE_STATUSES: frozenset[TradeStatus] = frozenset(TradeStatus) - TERMINAL_TRADE_STATUSES


class JobType(enum.StrEnum):
    """Kinds of scheduled job."""

    OPEN_JOB = "OPEN_JOB"
    CLOSE_JOB = "CLOSE_JOB"


class JobStatus(enum.StrEnum):
    """State of one job run."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class AlertLevel(enum.StrEnum):
    """How much an alert matters; `NOTIFY_LEVEL` drops those below it."""

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"

    @property
    def rank(self) -> int:
        """0 for INFO, 1 for WARNING, 2 for ERROR."""
        return list(AlertLevel).index(self)
