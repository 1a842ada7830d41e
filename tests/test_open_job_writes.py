"""The order loop's database side: durable intents, acknowledgements written in batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.factories import order_payload
from tests.worker_support import trades
from trading_automation.db import Database, TradeStatus
from trading_automation.domain.filings import client_order_id_for, normalize_record
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.worker import orders as order_loop
from trading_automation.worker.open_job import Candidate, OpenJob, RunClock
from trading_automation.worker.summary import RunSummary

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def job(database: Database, migrated_url: str, clock: FakeClock) -> OpenJob:
    # The database steps only: nothing here talks to a broker or to Quiver.
    return OpenJob(
        settings=make_settings(migrated_url),
        database=database,
        alpaca=None,  # type: ignore[arg-type]
        quiver=None,  # type: ignore[arg-type]
        owner="test",
        monotonic=clock,
    )


@pytest.fixture
def summary() -> RunSummary:
    return RunSummary(trading_date=OPEN.date())


def _candidate(symbol: str) -> Candidate:
    filing = normalize_record(
        {
            "Ticker": symbol,
            "Name": f"Member of {symbol}",
            "Filed": "2024-06-20",
            "Transaction": "Purchase",
            "Party": "D",
        }
    )
    assert filing.source_hash is not None
    return Candidate(filing, filing.source_hash, symbol)


def _answer(candidate: Candidate, number: int, **fields: Any) -> AlpacaOrder:
    client_order_id = client_order_id_for(candidate.source_hash)
    return AlpacaOrder.from_api(order_payload(client_order_id, id=f"order-{number}", **fields))


def _place(job: OpenJob, summary: RunSummary, symbol: str, number: int, **fields: Any) -> None:
    candidate = _candidate(symbol)
    trade = job.orders.record_intent(candidate, summary, RunClock(OPEN, job.monotonic))
    assert trade is not None
    job.orders.record_order(trade, _answer(candidate, number, **fields), summary)


def _states(database: Database) -> dict[str, tuple[TradeStatus, str | None]]:
    return {t.symbol: (t.status, t.alpaca_order_id) for t in trades(database)}


def test_each_intent_is_committed_before_its_order_could_be_sent(
    job: OpenJob, summary: RunSummary, database: Database
) -> None:
    with job.orders.placing_orders(summary):
        trade = job.orders.record_intent(_candidate("AAPL"), summary, RunClock(OPEN, job.monotonic))
        # Read on another connection while the loop still runs.
        seen = _states(database)

    assert trade is not None
    assert seen == {"AAPL": (TradeStatus.NEW, None)}


def test_acknowledgements_wait_and_are_all_stored_when_the_loop_ends(
    job: OpenJob, summary: RunSummary, database: Database
) -> None:
    with job.orders.placing_orders(summary):
        for number, symbol in enumerate(("AAPL", "MSFT", "NVDA")):
            _place(job, summary, symbol, number)
        during = _states(database)

    assert set(during.values()) == {(TradeStatus.NEW, None)}
    assert _states(database) == {
        "AAPL": (TradeStatus.ACCEPTED, "order-0"),
        "MSFT": (TradeStatus.ACCEPTED, "order-1"),
        "NVDA": (TradeStatus.ACCEPTED, "order-2"),
    }
    assert summary.errors == []


def test_a_full_batch_is_stored_at_once(
    job: OpenJob, summary: RunSummary, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_loop, "ACK_BATCH", 2)

    with job.orders.placing_orders(summary):
        for number, symbol in enumerate(("AAPL", "MSFT", "NVDA")):
            _place(job, summary, symbol, number)
        during = _states(database)

    assert during == {
        "AAPL": (TradeStatus.ACCEPTED, "order-0"),
        "MSFT": (TradeStatus.ACCEPTED, "order-1"),
        "NVDA": (TradeStatus.NEW, None),
    }


def test_an_acknowledgement_waits_no_longer_than_the_flush_interval(
    job: OpenJob, summary: RunSummary, database: Database, clock: FakeClock
) -> None:
    with job.orders.placing_orders(summary):
        _place(job, summary, "AAPL", 0)
        clock.now += order_loop.ACK_FLUSH_S
        _place(job, summary, "MSFT", 1)
        during = _states(database)

    assert during == {
        "AAPL": (TradeStatus.ACCEPTED, "order-0"),
        "MSFT": (TradeStatus.ACCEPTED, "order-1"),
    }


def test_a_waiting_acknowledgement_is_stored_once_due_without_another_order(
    job: OpenJob, summary: RunSummary, database: Database, clock: FakeClock
) -> None:
    with job.orders.placing_orders(summary):
        _place(job, summary, "AAPL", 0)
        clock.now += order_loop.ACK_FLUSH_S
        job.orders.flush_when_due(summary)  # what the order loop does after each filing
        during = _states(database)

    assert during == {"AAPL": (TradeStatus.ACCEPTED, "order-0")}


def test_an_error_in_the_loop_still_stores_the_waiting_acknowledgements(
    job: OpenJob, summary: RunSummary, database: Database
) -> None:
    with pytest.raises(RuntimeError, match="broker went away"), job.orders.placing_orders(summary):
        _place(job, summary, "AAPL", 0)
        raise RuntimeError("broker went away")

    assert _states(database) == {"AAPL": (TradeStatus.ACCEPTED, "order-0")}


def test_a_refused_acknowledgement_is_reported_and_the_others_are_stored(
    job: OpenJob, summary: RunSummary, database: Database
) -> None:
    with job.orders.placing_orders(summary):
        _place(job, summary, "AAPL", 0)
        _place(job, summary, "MSFT", 1, filled_qty="1.0000000001")

    msft = client_order_id_for(_candidate("MSFT").source_hash)
    assert _states(database) == {
        "AAPL": (TradeStatus.ACCEPTED, "order-0"),
        "MSFT": (TradeStatus.NEW, None),
    }
    [error] = summary.errors
    assert error.startswith(f"{msft}: broker answer not stored")
    assert "filled_qty" in error


def test_outside_the_order_loop_an_acknowledgement_is_stored_at_once(
    job: OpenJob, summary: RunSummary, database: Database
) -> None:
    _place(job, summary, "AAPL", 0)

    assert _states(database) == {"AAPL": (TradeStatus.ACCEPTED, "order-0")}
