"""Client and sandbox test fixtures: a running sandbox, fast-retrying clients, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from trading_automation.clients import AlpacaClient, QuiverClient, RetryPolicy, Timeouts
from trading_automation.sandbox import Sandbox

# Tiny waits keep retry tests fast; the logic is the same as with the defaults.
FAST_RETRY = RetryPolicy(max_attempts=3, budget_s=5.0, backoff_s=0.01, backoff_max_s=0.05)
FAST_TIMEOUTS = Timeouts(connect_s=1.0, read_s=2.0)


class FakeClock:
    """A monotonic clock that moves only when slept on (or advanced), recording every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The current reading."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock on by it, at once."""
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Move the clock on without a recorded sleep."""
        self.now += seconds

    def client_options(self) -> dict[str, Any]:
        """The `sleep` and `monotonic` keywords of `AlpacaClient` and `QuiverClient`."""
        return {"sleep": self.sleep, "monotonic": self.monotonic}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Quiver and Alpaca sandboxes on 127.0.0.1, stopped after the test."""
    with Sandbox() as running:
        yield running


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fake monotonic clock for clients' waits and retry budgets."""
    return FakeClock()


@pytest.fixture
def alpaca(sandbox: Sandbox) -> Iterator[AlpacaClient]:
    """An Alpaca client for the sandbox with fast retries."""
    with sandbox.alpaca_client(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS) as client:
        yield client


@pytest.fixture
def quiver(sandbox: Sandbox) -> Iterator[QuiverClient]:
    """A Quiver client for the sandbox with fast retries."""
    with sandbox.quiver_client(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS) as client:
        yield client
