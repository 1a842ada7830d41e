"""HTTP clients of the external APIs: Alpaca (broker, market data) and Quiver (disclosures).

Build them with `AlpacaClient.from_settings(settings)` / `QuiverClient.from_settings(settings)` when
a command needs them, and close them (or use them as context managers).
"""

from trading_automation.clients.alpaca import AlpacaClient
from trading_automation.clients.errors import (
    ApiError,
    AuthenticationError,
    InsufficientBuyingPowerError,
    InsufficientQuantityError,
    NotFoundError,
    OrderOutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    ValidationRefusedError,
)
from trading_automation.clients.http import RetryPolicy, Timeouts
from trading_automation.clients.models import (
    Account,
    Asset,
    CalendarDay,
    Clock,
    LatestTrade,
    Position,
)
from trading_automation.clients.quiver import QuiverClient

__all__ = [
    "Account",
    "AlpacaClient",
    "ApiError",
    "Asset",
    "AuthenticationError",
    "CalendarDay",
    "Clock",
    "InsufficientBuyingPowerError",
    "InsufficientQuantityError",
    "LatestTrade",
    "NotFoundError",
    "OrderOutcomeUnknownError",
    "Position",
    "QuiverClient",
    "RateLimitedError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Timeouts",
    "UnexpectedResponseError",
    "ValidationRefusedError",
]
