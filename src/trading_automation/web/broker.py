"""Live broker data for the dashboard: Alpaca's account and positions, cached for a while.

Every answer is kept for DASHBOARD_CACHE_S seconds; the first request after that asks Alpaca again
(one request at a time: concurrent page loads wait for the same answer instead of each calling
Alpaca). A failure is kept too, for at most `FAILURE_RETRY_S` seconds, and reported as what failed
and since when; the dashboard then shows no broker figures at all rather than stale or made-up ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients import (
    Account,
    AlpacaClient,
    ApiError,
    AuthenticationError,
    Position,
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
)
from trading_automation.domain.timestamps import utcnow
from trading_automation.errors import ConfigurationError, TradingAutomationError
from trading_automation.logs import SecretRedactor

if TYPE_CHECKING:
    from trading_automation.config import Settings

log = structlog.get_logger(__name__)

FAILURE_RETRY_S = 5.0
# A page must not wait for Alpaca as long as the trading job may: two attempts within 5 s.
DASHBOARD_ATTEMPTS = 2
DASHBOARD_BUDGET_S = 5.0

BrokerFetch = Callable[[], tuple[Account, list[Position]]]


@dataclass(frozen=True)
class BrokerSnapshot:
    """What the dashboard knows of the broker right now: data, or what failed and since when."""

    account: Account | None
    positions: tuple[Position, ...] | None
    checked_at: datetime
    error: str | None = None
    failing_since: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when Alpaca answered."""
        return self.error is None

    def current_prices(self) -> dict[str, Decimal]:
        """Symbol → current price of every position that has one."""
        return {
            position.symbol: position.current_price
            for position in self.positions or ()
            if position.current_price is not None
        }


class BrokerCache:
    """Alpaca's account and positions, fetched at most once per `ttl_s` (see the module doc)."""

    def __init__(
        self,
        fetch: BrokerFetch,
        *,
        ttl_s: float,
        failure_ttl_s: float = FAILURE_RETRY_S,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl_s = ttl_s
        self.failure_ttl_s = min(ttl_s, failure_ttl_s)
        self._redactor = SecretRedactor(secrets)
        self._clock = clock
        self._lock = threading.Lock()
        self._current: BrokerSnapshot | None = None
        self._expires_at = 0.0

    def snapshot(self) -> BrokerSnapshot:
        """The cached snapshot, or a fresh one from Alpaca when it has expired."""
        with self._lock:
            if self._current is None or self._clock() >= self._expires_at:
                self._current = self._refresh(self._current)
            return self._current

    def peek(self) -> BrokerSnapshot | None:
        """The last snapshot, however old, without asking Alpaca (None before the first).

        It does not wait for a refresh under way: a page that needs nothing from Alpaca should
        not wait for it.
        """
        return self._current

    def _refresh(self, previous: BrokerSnapshot | None) -> BrokerSnapshot:
        now = utcnow()
        try:
            account, positions = self._fetch()
        except TradingAutomationError as error:
            message = str(self._redactor.redact(describe_failure(error)))
            since = previous.failing_since if previous and previous.failing_since else now
            log.warning("dashboard_broker_unavailable", error=message, since=since.isoformat())
            self._expires_at = self._clock() + self.failure_ttl_s
            return BrokerSnapshot(None, None, checked_at=now, error=message, failing_since=since)
        self._expires_at = self._clock() + self.ttl_s
        return BrokerSnapshot(account, tuple(positions), checked_at=now)


def describe_failure(error: TradingAutomationError) -> str:
    """What failed, in words an operator can act on."""
    if isinstance(error, ConfigurationError):
        return "Alpaca is not configured: " + "; ".join(error.problems)
    if isinstance(error, AuthenticationError):
        return f"Alpaca refused the API keys: check ALPACA_KEY_ID and ALPACA_SECRET_KEY ({error})"
    if isinstance(error, RateLimitedError):
        return f"Alpaca is rate-limiting these requests ({error})"
    if isinstance(error, ServiceUnavailableError):
        return f"Alpaca is unreachable ({error})"
    if isinstance(error, ApiError):
        return f"Alpaca answered with an error ({error})"
    return f"Alpaca could not be asked ({error})"


class AlpacaSource:
    """The production fetch: one Alpaca client for the life of the dashboard."""

    def __init__(self, settings: Settings) -> None:
        self._problem: ConfigurationError | None = None
        self._client: AlpacaClient | None = None
        retry = RetryPolicy(
            max_attempts=min(settings.http_retry_attempts, DASHBOARD_ATTEMPTS),
            budget_s=min(settings.http_retry_budget_s, DASHBOARD_BUDGET_S),
            backoff_s=settings.http_retry_backoff_s,
        )
        try:
            self._client = AlpacaClient.from_settings(settings, retry=retry)
        except ConfigurationError as error:
            # Missing keys are a broker outage to report on every page, not a reason to refuse
            # to show the database.
            self._problem = error

    def __call__(self) -> tuple[Account, list[Position]]:
        if self._client is None:
            assert self._problem is not None
            raise self._problem
        return self._client.account(), self._client.positions()

    def close(self) -> None:
        """Close the client's connections."""
        if self._client is not None:
            self._client.close()
