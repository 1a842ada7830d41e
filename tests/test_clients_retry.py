"""Retries: exponential backoff with jitter, bounded by attempts and by time, Retry-After honoured.

Timings are asserted only as lower bounds (a wait happened) or generous upper bounds (it stopped).
"""

from __future__ import annotations

import time

import pytest

from trading_automation.clients import (
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
    Timeouts,
    UnexpectedResponseError,
)
from trading_automation.sandbox import Fault, Sandbox


def test_backoff_doubles_from_the_first_wait_and_stays_within_its_jitter_and_cap() -> None:
    policy = RetryPolicy(backoff_s=0.5, backoff_max_s=3.0)

    lowest = [policy.backoff(n, rand=lambda: 0.0) for n in range(1, 6)]
    highest = [policy.backoff(n, rand=lambda: 1.0) for n in range(1, 6)]

    assert lowest == [0.25, 0.5, 1.0, 1.5, 1.5]
    assert highest == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_spreads_the_waits() -> None:
    policy = RetryPolicy(backoff_s=1.0)

    waits = {policy.backoff(1) for _ in range(50)}

    assert len(waits) > 40
    assert all(0.5 <= wait <= 1.0 for wait in waits)


@pytest.mark.parametrize("options", [{"max_attempts": 0}, {"budget_s": 0}, {"backoff_s": -1.0}])
def test_a_nonsensical_policy_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_a_burst_of_server_errors_is_ridden_out(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=3))
    policy = RetryPolicy(max_attempts=4, budget_s=5, backoff_s=0.01, backoff_max_s=0.02)

    with sandbox.alpaca_client(retry=policy) as alpaca:
        clock = alpaca.clock()

    assert clock.is_open
    assert [r.status for r in sandbox.alpaca.requests()] == [503, 503, 503, 200]


def test_retries_stop_at_the_attempt_limit(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(500, times=None))
    policy = RetryPolicy(max_attempts=5, budget_s=30, backoff_s=0.01, backoff_max_s=0.02)

    with sandbox.alpaca_client(retry=policy) as alpaca, pytest.raises(ServiceUnavailableError):
        alpaca.account()

    assert sandbox.alpaca.request_count() == 5


def test_retries_stop_at_the_time_budget_before_the_attempt_limit(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=None))
    policy = RetryPolicy(max_attempts=1000, budget_s=0.5, backoff_s=0.05, backoff_max_s=0.1)
    started = time.monotonic()

    with sandbox.alpaca_client(retry=policy) as alpaca, pytest.raises(ServiceUnavailableError):
        alpaca.account()

    elapsed = time.monotonic() - started
    assert 2 <= sandbox.alpaca.request_count() < 20
    assert elapsed < 2.0


def test_retry_after_is_honoured_before_the_next_attempt(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=1, times=1))
    policy = RetryPolicy(max_attempts=3, budget_s=10, backoff_s=0.01, backoff_max_s=0.02)
    started = time.monotonic()

    with sandbox.alpaca_client(retry=policy) as alpaca:
        alpaca.clock()

    assert time.monotonic() - started >= 1.0
    assert [r.status for r in sandbox.alpaca.requests()] == [429, 200]


def test_a_retry_after_beyond_the_budget_gives_up_at_once(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=120, times=None))
    policy = RetryPolicy(max_attempts=5, budget_s=3, backoff_s=0.01)
    started = time.monotonic()

    with sandbox.alpaca_client(retry=policy) as alpaca, pytest.raises(RateLimitedError) as raised:
        alpaca.clock()

    assert time.monotonic() - started < 1.0
    assert raised.value.retry_after_s == 120
    assert sandbox.alpaca.request_count() == 1


def test_retry_after_on_a_503_is_honoured_too(sandbox: Sandbox) -> None:
    sandbox.quiver.faults.add(Fault.http_status(503, retry_after="0.6", times=1))
    policy = RetryPolicy(max_attempts=2, budget_s=5, backoff_s=0.01)
    started = time.monotonic()

    with sandbox.quiver_client(retry=policy) as quiver:
        quiver.congress_trading(sandbox.broker.now().date())

    assert time.monotonic() - started >= 0.6
    assert sandbox.quiver.request_count() == 2


def test_client_errors_are_never_retried(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(400, body='{"message": "bad"}', times=None))

    with (
        sandbox.alpaca_client(retry=RetryPolicy(backoff_s=0.01)) as alpaca,
        pytest.raises(UnexpectedResponseError, match="unexpected status") as raised,
    ):
        alpaca.clock()

    assert raised.value.status_code == 400

    assert sandbox.alpaca.request_count() == 1


def test_a_slow_answer_beyond_the_read_timeout_is_retried(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.latency(1.0, path="/v2/clock", times=1))
    policy = RetryPolicy(max_attempts=3, budget_s=5, backoff_s=0.01)

    with sandbox.alpaca_client(retry=policy, timeouts=Timeouts(read_s=0.2)) as alpaca:
        clock = alpaca.clock()

    assert clock.is_open
    assert sandbox.alpaca.request_count("GET", "/v2/clock") == 2


def test_the_waits_go_through_the_injected_sleep(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(502, times=2))
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, budget_s=100, backoff_s=2.0, backoff_max_s=8.0)

    with sandbox.alpaca_client(retry=policy, sleep=waits.append) as alpaca:
        alpaca.clock()

    assert len(waits) == 2
    assert 1.0 <= waits[0] <= 2.0
    assert 2.0 <= waits[1] <= 4.0
