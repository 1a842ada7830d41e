"""Helpers for the open-job tests: run it against a sandbox, and what the fixtures say to expect."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select

from tests.sandbox_support import FAST_RETRY, FAST_TIMEOUTS
from trading_automation import fixtures
from trading_automation.db import Database, JobRun, JobType, Trade
from trading_automation.domain.filings import canonical_json
from trading_automation.sandbox import Sandbox
from trading_automation.worker.open_job import OpenJob, OpenJobOptions, OpenJobResult

# Read off the fixture files for the demo day (2024-06-20), whose run collects 06-18..06-20:
# every well-formed purchase, once per member and filing date. BRK.A costs more than $1,000 a
# share and is not fractionable, so it is skipped; KKR is not fractionable and buys 9 shares.
EXPECTED_ORDERS = Counter(
    {
        "AMZN": 3,
        "NVDA": 1,
        "KKR": 1,
        "MSFT": 1,
        "GOOGL": 1,
        "JPM": 1,
        "AAPL": 1,
        "UNH": 1,
        "CRWD": 1,
    }
)
EXPECTED_SKIPPED = {"BRK.A"}
DEMO_DAYS = (date(2024, 6, 18), date(2024, 6, 19), date(2024, 6, 20))

QUICK = OpenJobOptions(poll_budget_s=5, poll_first_delay_s=0.01, poll_max_delay_s=0.05)


def run_job(
    database: Database,
    sandbox: Sandbox,
    options: OpenJobOptions = QUICK,
    *,
    owner: str | None = None,
    sleep: Any = None,
    **settings: Any,
) -> OpenJobResult:
    """One open-job run in this process against `sandbox`, with fast retries."""
    job_settings = sandbox.settings(**settings)
    with (
        sandbox.alpaca_client(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS) as alpaca,
        sandbox.quiver_client(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS) as quiver,
    ):
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        job = OpenJob(
            settings=job_settings,
            database=database,
            alpaca=alpaca,
            quiver=quiver,
            owner=owner,
            **extra,
        )
        return job.run(options)


def distinct_records(days: tuple[date, ...]) -> int:
    """How many distinct raw records the fixture days hold (exact duplicates once)."""
    return len({canonical_json(record) for day in days for record in fixtures.quiver_day(day)})


def trades(database: Database) -> list[Trade]:
    """Every trade, oldest first."""
    with database.transaction(readonly=True) as uow:
        return list(uow.session.scalars(select(Trade).order_by(Trade.created_at, Trade.id)))


def job_run(database: Database, day: date = fixtures.DEMO_TRADING_DAY) -> JobRun | None:
    """The open-job run of `day`."""
    with database.transaction(readonly=True) as uow:
        return uow.job_runs.get(JobType.OPEN_JOB, day)


def broker_orders_by_symbol(sandbox: Sandbox) -> Counter[str]:
    """How many orders the sandbox broker accepted per symbol."""
    return Counter(order["symbol"] for order in sandbox.broker.orders())


def assert_one_order_per_trade(sandbox: Sandbox, database: Database) -> None:
    """Every trade with a broker order has exactly one, and the broker has no other order."""
    placed = [t for t in trades(database) if t.alpaca_order_id is not None]
    for trade in placed:
        assert sandbox.broker.orders_for(trade.client_order_id) == 1, trade.client_order_id
    assert sandbox.broker.accepted_count == len(placed)
