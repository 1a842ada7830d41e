"""Fixtures for client and sandbox tests: a running sandbox and quick-retrying clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trading_automation.clients import AlpacaClient, QuiverClient, RetryPolicy, Timeouts
from trading_automation.sandbox import Sandbox

# Tiny waits keep retry tests fast; the logic is the same as with the defaults.
FAST_RETRY = RetryPolicy(max_attempts=3, budget_s=5.0, backoff_s=0.01, backoff_max_s=0.05)
FAST_TIMEOUTS = Timeouts(connect_s=1.0, read_s=2.0)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Quiver and Alpaca sandboxes on 127.0.0.1, stopped after the test."""
    with Sandbox() as running:
        yield running


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
