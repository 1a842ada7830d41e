"""Keeping a run of market-data requests inside Alpaca's rate limit (about 200 a minute).

Every market-data answer says how many requests are left in the current minute and when the
allowance refills (`X-RateLimit-Remaining`, `X-RateLimit-Reset`). The pacer waits for the refill
before a request when none is left, so a long fetch never meets a 429; when one comes anyway
(another process shares the account), it waits until the reset the answer named, or a minute.
The waits go through the `sleep` and `wall` clock given to it, so tests never sleep.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import structlog

from trading_automation.clients.bars import RateLimit
from trading_automation.clients.errors import RateLimitedError

log = structlog.get_logger(__name__)

# How long to wait after a 429 that named no reset: Alpaca's allowance is per minute.
DEFAULT_WAIT_S = 60.0
# The longest wait believed: a reset further away than this is a clock problem, not a limit.
MAX_WAIT_S = 120.0


class RequestPacer:
    """Waits before a request when the last answer said the allowance is used up."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
        reserve: int = 0,
    ) -> None:
        self._sleep = sleep
        self._wall = wall
        self.reserve = reserve
        self._state: RateLimit | None = None
        self.waited_s = 0.0
        self.waits = 0

    def before_request(self) -> None:
        """Wait for the allowance to refill when the last answer left none (beyond `reserve`)."""
        state = self._state
        if state is None or state.remaining is None or state.remaining > self.reserve:
            return
        self._wait(state.reset_at, why="rate_limit_used_up")
        self._state = None

    def observe(self, rate_limit: RateLimit | None) -> None:
        """Remember what an answer's rate-limit headers said."""
        if rate_limit is not None:
            self._state = rate_limit

    def after_rate_limited(self, error: RateLimitedError) -> None:
        """Wait after a 429: until the reset it named, else its Retry-After, else a minute."""
        if error.reset_at is not None:
            self._wait(error.reset_at, why="rate_limited")
        else:
            self._pause(error.retry_after_s or DEFAULT_WAIT_S, why="rate_limited")
        self._state = None

    def _wait(self, reset_at: float | None, *, why: str) -> None:
        if reset_at is None or not math.isfinite(reset_at):
            self._pause(DEFAULT_WAIT_S, why=why)
            return
        # One second past the reset: the header is rounded to whole seconds.
        self._pause(min(MAX_WAIT_S, max(0.0, reset_at - self._wall()) + 1.0), why=why)

    def _pause(self, seconds: float, *, why: str) -> None:
        log.info("market_data_pacing", reason=why, wait_s=round(seconds, 3))
        self.waits += 1
        self.waited_s += seconds
        self._sleep(seconds)
