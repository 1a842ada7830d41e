"""Retries: exponential backoff with jitter, bounded by attempts and by time, Retry-After honoured.

The clients wait on a fake clock (`FakeClock`): the waits are asserted as recorded, never timed.
"""

from __future__ import annotations

import pytest

from tests.sandbox_support import FakeClock
from trading_automation.clients import (
    AlpacaClient,
    QuiverClient,
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


def test_a_burst_of_server_errors_is_ridden_out(sandbox: Sandbox, fake_clock: FakeClock) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=3))
    policy = RetryPolicy(max_attempts=4, budget_s=5, backoff_s=0.01, backoff_max_s=0.02)

    with sandbox.alpaca_client(retry=policy, **fake_clock.client_options()) as alpaca:
        clock = alpaca.clock()

    assert clock.is_open
    assert [r.status for r in sandbox.alpaca.requests()] == [503, 503, 503, 200]
    assert len(fake_clock.sleeps) == 3


def test_retries_stop_at_the_attempt_limit(sandbox: Sandbox, fake_clock: FakeClock) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(500, times=None))
    policy = RetryPolicy(max_attempts=5, budget_s=30, backoff_s=0.01, backoff_max_s=0.02)

    with (
        sandbox.alpaca_client(retry=policy, **fake_clock.client_options()) as alpaca,
        pytest.raises(ServiceUnavailableError),
    ):
        alpaca.account()

    assert sandbox.alpaca.request_count() == 5
    assert len(fake_clock.sleeps) == 4


def test_retries_stop_at_the_time_budget_before_the_attempt_limit(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=None))
    # Waits of 1-2 s, then 2-4 s each: a 10 s budget holds between 3 and 6 of them.
    policy = RetryPolicy(max_attempts=1000, budget_s=10, backoff_s=2.0, backoff_max_s=4.0)

    with (
        sandbox.alpaca_client(retry=policy, **fake_clock.client_options()) as alpaca,
        pytest.raises(ServiceUnavailableError) as raised,
    ):
        alpaca.account()

    attempts = sandbox.alpaca.request_count()
    assert 4 <= attempts <= 7
    assert raised.value.attempts == attempts
    assert len(fake_clock.sleeps) == attempts - 1
    assert sum(fake_clock.sleeps) < 10


def test_the_budget_is_measured_from_the_first_attempt_on_the_injected_clock(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=None))
    policy = RetryPolicy(max_attempts=10, budget_s=10, backoff_s=0.01, backoff_max_s=0.02)

    def slow_sleep(seconds: float) -> None:
        # Each wait costs 5 s of the budget (a slow machine), whatever it asked for: the third
        # attempt finds the 10 s spent.
        fake_clock.sleep(seconds)
        fake_clock.advance(5)

    with (
        sandbox.alpaca_client(
            retry=policy, sleep=slow_sleep, monotonic=fake_clock.monotonic
        ) as alpaca,
        pytest.raises(ServiceUnavailableError),
    ):
        alpaca.account()

    assert sandbox.alpaca.request_count() == 3
    assert len(fake_clock.sleeps) == 2


def test_retry_after_is_honoured_before_the_next_attempt(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=1, times=1))
    policy = RetryPolicy(max_attempts=3, budget_s=10, backoff_s=0.01, backoff_max_s=0.02)

    with sandbox.alpaca_client(retry=policy, **fake_clock.client_options()) as alpaca:
        alpaca.clock()

    assert fake_clock.sleeps == [1.0]
    assert [r.status for r in sandbox.alpaca.requests()] == [429, 200]


def test_a_retry_after_beyond_the_budget_gives_up_at_once(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=120, times=None))
    policy = RetryPolicy(max_attempts=5, budget_s=3, backoff_s=0.01)

    with (
        sandbox.alpaca_client(retry=policy, **fake_clock.client_options()) as alpaca,
        pytest.raises(RateLimitedError) as raised,
    ):
        alpaca.clock()

    assert fake_clock.sleeps == []
    assert raised.value.retry_after_s == 120
    assert sandbox.alpaca.request_count() == 1


def test_retry_after_on_a_503_is_honoured_too(sandbox: Sandbox, fake_clock: FakeClock) -> None:
    sandbox.quiver.faults.add(Fault.http_status(503, retry_after="0.6", times=1))
    policy = RetryPolicy(max_attempts=2, budget_s=5, backoff_s=0.01)

    with sandbox.quiver_client(retry=policy, **fake_clock.client_options()) as quiver:
        quiver.congress_trading(sandbox.broker.now().date())

    assert fake_clock.sleeps == [0.6]
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


def test_a_slow_answer_beyond_the_read_timeout_is_retried(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    # The server holds the first answer until the sandbox stops: only the timeout can end it.
    sandbox.alpaca.faults.add(Fault.latency(3600, path="/v2/clock", times=1))
    policy = RetryPolicy(max_attempts=3, budget_s=5, backoff_s=0.01)
    options = fake_clock.client_options()

    with sandbox.alpaca_client(retry=policy, timeouts=Timeouts(read_s=0.2), **options) as alpaca:
        clock = alpaca.clock()

    assert clock.is_open
    assert sandbox.alpaca.request_count("GET", "/v2/clock") == 2
    assert len(fake_clock.sleeps) == 1


def test_the_waits_go_through_the_injected_sleep(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(502, times=2))
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, budget_s=100, backoff_s=2.0, backoff_max_s=8.0)

    with sandbox.alpaca_client(retry=policy, sleep=waits.append) as alpaca:
        alpaca.clock()

    assert len(waits) == 2
    assert 1.0 <= waits[0] <= 2.0
    assert 2.0 <= waits[1] <= 4.0


def test_clients_built_from_settings_wait_on_the_injected_clock(
    sandbox: Sandbox, fake_clock: FakeClock
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, retry_after="2", times=1))
    sandbox.quiver.faults.add(Fault.http_status(503, retry_after="3", times=1))
    settings = sandbox.settings(http_retry_budget_s=30)
    options = fake_clock.client_options()

    with (
        AlpacaClient.from_settings(settings, **options) as alpaca,
        QuiverClient.from_settings(settings, **options) as quiver,
    ):
        alpaca.clock()
        quiver.congress_trading(sandbox.broker.now().date())

    assert fake_clock.sleeps == [2.0, 3.0]
