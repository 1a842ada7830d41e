"""Quiver's bulk budget (5 requests an hour) shared through the database, against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.worker_support import QUICK, job_run, run_job
from trading_automation.db import Database, JobStatus
from trading_automation.sandbox import Fault, OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
# The demo day collects 2024-06-18, -19 and -20: three bulk requests a run.
DAYS = 3


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, clock_ticks=False, script=OrderScript(fill_after_polls=1)) as running:
        yield running


def test_a_rerun_within_the_hour_is_refused_before_it_asks_and_says_when_to_run_again(
    database: Database, sandbox: Sandbox
) -> None:
    first = run_job(database, sandbox, quiver_bulk_requests_per_hour=5)
    sandbox.broker.set_now(OPEN + timedelta(minutes=10), ticks=False)

    rerun = run_job(database, sandbox, replace(QUICK, force=True), quiver_bulk_requests_per_hour=5)

    assert first.exit_code == 0
    assert rerun.exit_code == 1
    assert sandbox.quiver.request_count() == DAYS + 2, "the third day of the rerun was not sent"
    assert rerun.summary is not None
    [error] = rerun.summary.errors
    assert error.startswith("quiver 2024-06-20 and later days: not sent: Quiver's bulk endpoints")
    # Three requests at 09:30 New York time and two at 09:40: three are free once the 09:30 ones
    # have left the hour.
    assert error.endswith("run again after 10:30 New York time (14:30 UTC)")
    run = job_run(database)
    assert run is not None
    assert run.status is JobStatus.FAILED

    sandbox.broker.set_now(OPEN + timedelta(minutes=61), ticks=False)
    retried = run_job(
        database,
        sandbox,
        replace(QUICK, requested_date=OPEN.date()),
        quiver_bulk_requests_per_hour=5,
    )

    assert retried.exit_code == 0, retried.lines
    assert sandbox.quiver.request_count() == 2 * DAYS + 2


def test_a_window_longer_than_the_budget_says_to_raise_it(
    database: Database, sandbox: Sandbox
) -> None:
    result = run_job(database, sandbox, quiver_bulk_requests_per_hour=2)

    assert result.exit_code == 1
    assert sandbox.quiver.request_count() == 2
    assert result.summary is not None
    assert "this run needs 3 requests" in result.summary.errors[0]
    assert "raise QUIVER_BULK_REQUESTS_PER_HOUR" in result.summary.errors[0]
    # What was fetched is still traded.
    assert result.summary.orders.candidates > 0


def test_a_429_stops_every_request_until_its_retry_after(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.quiver.faults.add(Fault.http_status(429, retry_after=1200, times=1))

    result = run_job(database, sandbox, quiver_bulk_requests_per_hour=5)

    assert sandbox.quiver.request_count() == 1
    assert result.summary is not None
    errors = result.summary.errors
    assert "quiver 2024-06-18" in errors[0]
    assert "(a Retry-After is pending); run again after 09:50 New York time" in errors[1]
