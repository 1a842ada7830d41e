"""The overview reads every trade only when the database has changed, and is never stale."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from tests.test_web_read_models import _trade
from tests.web_support import FakeClock
from trading_automation.db import Database, Party
from trading_automation.demo import LATER_PRICES


@contextmanager
def trade_reads(database: Database) -> Iterator[list[str]]:
    """The statements that read the trade table, as the engine runs them."""
    seen: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM trade" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _marker(database: Database) -> object:
    """What the cache keys on: PostgreSQL's snapshot, which any commit in the cluster changes
    (autovacuum's statistics included); SQLite's file changes only with the test's own writes."""
    if database.dialect_name != "postgresql":
        return None
    with database.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar()


def test_the_overview_reads_the_trades_again_only_after_a_write(
    database: Database, serve_dashboard: Any
) -> None:
    with database.transaction() as uow:
        _trade(uow, "AAPL", member="Jane Doe", party=Party.DEMOCRAT, qty="2", price="100")

    with serve_dashboard() as served, trade_reads(database) as reads:
        first = served.json("/api/overview")
        after_first = len(reads)
        # Another database's commit on the same server changes the marker too: then the next
        # requests may rightly read again, and they are asked once more (a quiet server needs
        # one try). Reuse must be seen in a try where nothing else committed.
        for _attempt in range(50):
            before = _marker(database)
            warm = served.json("/api/overview")  # computed at `before`, or reused
            reads_before = len(reads)
            again = served.json("/api/overview")
            page = served.get("/overview")
            reads_again = len(reads) - reads_before
            if _marker(database) == before:
                break
        after_again = len(reads)
        with database.transaction() as uow:
            _trade(uow, "MSFT", member="John Roe", party=Party.REPUBLICAN, qty="1", price="400")
        changed = served.json("/api/overview")
        after_write = len(reads)

    assert after_first > 0
    assert reads_again == 0  # nothing written: nothing read again
    assert page.status_code == 200
    assert again == warm == first
    assert after_write > after_again
    assert first["trades"]["total"] == 1
    assert changed["trades"]["total"] == 2
    assert Decimal(changed["trades"]["filled_value"]) == Decimal("600.00")


def test_a_write_from_outside_the_application_is_seen_at_once(
    database: Database, serve_dashboard: Any, backend: str
) -> None:
    with database.transaction() as uow:
        _trade(uow, "AAPL", qty="1", price="10")

    with serve_dashboard() as served:
        before = served.json("/api/overview")["trades"]["total"]
        if backend == "sqlite":
            # A connection outside the application's pool, as another process would have.
            path = database.engine.url.database
            assert path
            with sqlite3.connect(path) as other:
                other.execute("DELETE FROM trade")
        else:
            with database.engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM trade")
        after = served.json("/api/overview")["trades"]["total"]

    assert (before, after) == (1, 0)


def test_the_pnl_follows_new_prices_once_the_broker_cache_expires(
    traded: Database, serve_dashboard: Any
) -> None:
    clock = FakeClock()
    with serve_dashboard(clock=clock) as served:
        first = served.json("/api/overview")["pnl"]["total"]
        served.sandbox.broker.set_prices(
            {symbol: price * 2 for symbol, price in LATER_PRICES.items()}
        )
        cached = served.json("/api/overview")["pnl"]["total"]
        clock.advance(served.settings.dashboard_cache_s)
        repriced = served.json("/api/overview")["pnl"]["total"]

    assert cached == first
    assert repriced["cost"] == first["cost"]
    # Twice the exact value, rounded once: within a cent of twice the rounded one.
    twice = 2 * Decimal(first["current_value"])
    assert abs(Decimal(repriced["current_value"]) - twice) <= Decimal("0.01")
