"""Exits under SIGKILL: a real worker killed after a sell's intent, after the broker accepted a
sell, while polling, and during the closes' write; then started again. Exactly one sell per lot
exit, never more sold than bought, never short, every lot's closed quantity what the broker
filled. And two workers started together close each lot once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.process_support import finish, kill, wait_until
from tests.test_open_job_process import _env, start_worker
from tests.worker_support import run_job, trades
from trading_automation import fixtures
from trading_automation.db import Database, OrderSide, TradeStatus
from trading_automation.sandbox import Fault, OrderScript, Sandbox

DAY_TWO_OPEN = datetime(2024, 6, 21, 13, 30, tzinfo=UTC)
EXITS = {"AAPL", "AMZN"}  # the fixture day 2024-06-21's sales close these two lots


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(script=OrderScript(fill_after_polls=1)) as running:
        yield running


@pytest.fixture
def bought(database: Database, sandbox: Sandbox) -> Database:
    """The fixture day 2024-06-20 bought in this process; the sandbox then at the next open,
    where orders fill only on their fifth poll (a first polling round leaves them open)."""
    result = run_job(database, sandbox)
    assert result.exit_code == 0, result.lines
    sandbox.broker.set_now(DAY_TWO_OPEN)
    sandbox.broker.set_script(OrderScript(fill_after_polls=5))
    sandbox.alpaca.clear_requests()
    return database


def _sells(database: Database) -> list[Any]:
    return [t for t in trades(database) if t.side is OrderSide.SELL]


def _broker_sells(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [o for o in sandbox.broker.orders() if o["side"] == "sell"]


def _assert_ledger_matches_the_broker(database: Database, sandbox: Sandbox) -> None:
    sells = _sells(database)
    # Exactly one sell per lot exit, at the broker and in the ledger.
    assert {s.symbol for s in sells} == EXITS
    for sell in sells:
        assert sandbox.broker.orders_for(sell.client_order_id) == 1, sell.client_order_id
    assert len(_broker_sells(sandbox)) == len(sells)
    positions = {p["symbol"]: Decimal(p["qty"]) for p in sandbox.broker.positions()}
    assert all(qty > 0 for qty in positions.values())  # never short
    with database.transaction(readonly=True) as uow:
        lots = [t for t in trades(database) if t.side is OrderSide.BUY and t.filled_qty]
        closes = uow.lots.closes([lot.id for lot in lots])
    filled_sells = {s.id: s.filled_qty or Decimal(0) for s in sells}
    for lot in lots:
        assert lot.closed_qty <= (lot.filled_qty or 0)  # never more sold than bought
        assert lot.closed_qty == sum(
            (c.quantity for c in closes if c.lot_trade_id == lot.id), Decimal(0)
        )
    assert sum((c.quantity for c in closes), Decimal(0)) == sum(filled_sells.values())
    for symbol in {lot.symbol for lot in lots}:
        ledger = sum((lot.open_qty for lot in lots if lot.symbol == symbol), Decimal(0))
        assert ledger == positions.get(symbol, Decimal(0)), symbol


def _hold_the_lots(database: Database, backend: str, release: threading.Event) -> threading.Thread:
    """Lock every lot row (PostgreSQL) or the database (SQLite) until `release` is set, so the
    worker blocks inside the transaction that writes the closes."""
    locked = threading.Event()

    def hold() -> None:
        # SQLite's write transaction begins with BEGIN IMMEDIATE: it holds the database.
        with database.engine.connect() as connection, connection.begin():
            if backend == "postgresql":
                connection.execute(text("SELECT id FROM trade WHERE side = 'BUY' FOR UPDATE"))
            locked.set()
            release.wait(120)

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(30)
    return thread


KILL_POINTS = ["after_sell_intent", "after_sell_accept", "during_polling", "during_closes_write"]


def _arm(sandbox: Sandbox, point: str, accepted_before: int) -> Callable[[], bool]:
    """Hold the worker at `point`; returns what shows it got there."""
    if point == "after_sell_intent":
        # The first sell's POST is dropped unanswered; the lookup that follows hangs.
        sandbox.alpaca.faults.add(
            Fault.drop(method="POST", path="/v2/orders", times=1),
            Fault.latency(60, method="GET", path="/v2/orders:by_client_order_id", times=1),
        )
        return lambda: sandbox.alpaca.request_count("GET", "/v2/orders:by_client_order_id") >= 1
    if point == "after_sell_accept":
        sandbox.alpaca.faults.add(Fault.hold_after_accept(60))
        return lambda: sandbox.broker.accepted_count > accepted_before
    return lambda: sandbox.alpaca.request_count("GET", "/v2/orders") >= 1


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_worker_killed_at_any_step_of_an_exit_sells_each_lot_once(  # noqa: PLR0917 - fixtures
    bought: Database,
    migrated_url: str,
    backend: str,
    sandbox: Sandbox,
    tmp_path: Path,
    point: str,
) -> None:
    env = _env(sandbox, migrated_url, DB_BUSY_TIMEOUT_MS="120000")
    accepted_before = sandbox.broker.accepted_count
    release = threading.Event()
    holder: threading.Thread | None = None
    reached = _arm(sandbox, point, accepted_before)
    worker = start_worker(env, cwd=tmp_path)
    wait_until(reached, worker, point)
    if point == "during_closes_write":
        # Fill the sells now; the worker's next round applies the fills, under the held locks.
        sandbox.broker.set_script(OrderScript(fill_after_polls=1))
        holder = _hold_the_lots(bought, backend, release)
        polls = sandbox.alpaca.request_count("GET", "/v2/orders")
        wait_until(lambda: sandbox.alpaca.request_count("GET", "/v2/orders") > polls, worker, point)

    kill(worker)
    release.set()
    if holder is not None:
        holder.join(30)
    sandbox.alpaca.faults.clear()
    sandbox.alpaca.release()
    sandbox.broker.set_script(OrderScript(fill_after_polls=1))
    code, out, err = finish(start_worker(env, cwd=tmp_path))

    assert code == 0, (out, err)
    assert "takeover" in out
    assert {s.status for s in _sells(bought)} == {TradeStatus.FILLED}
    _assert_ledger_matches_the_broker(bought, sandbox)


def test_two_workers_started_together_close_each_lot_once(
    bought: Database, migrated_url: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.broker.set_script(OrderScript(fill_after_polls=1))
    env = _env(sandbox, migrated_url)

    first, second = start_worker(env, cwd=tmp_path), start_worker(env, cwd=tmp_path)
    results = [finish(first), finish(second)]

    assert [code for code, _, _ in results] == [0, 0], results
    _assert_ledger_matches_the_broker(bought, sandbox)


def test_the_day_after_brings_no_second_sell(
    bought: Database, migrated_url: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.broker.set_script(OrderScript(fill_after_polls=1))
    env = _env(sandbox, migrated_url)
    code, out, err = finish(start_worker(env, cwd=tmp_path))
    assert code == 0, (out, err)
    sandbox.broker.set_now(datetime(2024, 6, 24, 13, 30, tzinfo=UTC))

    again = finish(start_worker(env, cwd=tmp_path))

    assert again[0] == 0, again
    assert fixtures.DEMO_SECOND_DAY
    _assert_ledger_matches_the_broker(bought, sandbox)
