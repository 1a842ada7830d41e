"""B3: the worker's whole database work per trade, against the driver alone.

Per trade: the intent (with and without the daily caps' lock and counts), the broker's
acknowledgement (written in batches), the fill applied by a reconcile round (which pages the open
trades), and the run's final tally of outcomes. The broker is a stand-in that answers from
memory: only database work is measured.

Two baselines, taken with the driver itself on the same connection kind (raw psycopg over TCP;
raw sqlite3), around each repetition so both see the same machine load: one `SELECT 1` round trip
(the target is stated in round trips), and the same writes done with the driver alone (what the
project's layers cost on top of the durable commits the design requires).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, text

from benchmarks.common import (
    Figure,
    libpq,
    migrated,
    scratch_postgres,
    scratch_sqlite,
    settings_for,
)
from trading_automation.db import Database
from trading_automation.domain.filings import client_order_id_for, normalize_record
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.worker.clock import RunClock
from trading_automation.worker.collect import Candidate
from trading_automation.worker.open_job import OpenJob
from trading_automation.worker.reconcile import Reconciler, ReconcileReport
from trading_automation.worker.summary import RunSummary

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
TARGET_ROUND_TRIPS = 8
TARGET_SAME_WORK = 2


def _candidates(count: int) -> list[Candidate]:
    out = []
    for number in range(count):
        filing = normalize_record(
            {
                "Ticker": f"T{number % 300:03d}",
                "Name": f"Member {number}",
                "Filed": "2024-06-20",
                "Transaction": "Purchase",
                "Party": "D",
            }
        )
        assert filing.source_hash is not None and filing.ticker is not None
        out.append(Candidate(filing, filing.source_hash, filing.ticker))
    return out


def _order(candidate: Candidate, status: str, minutes: int) -> AlpacaOrder:
    moment = (OPEN + timedelta(minutes=minutes)).isoformat()
    filled = status == "filled"
    client_order_id = client_order_id_for(candidate.source_hash)
    return AlpacaOrder.from_api(
        {
            "id": f"order-{client_order_id[3:40]}",
            "client_order_id": client_order_id,
            "symbol": candidate.symbol,
            "status": status,
            "notional": "1000",
            "filled_qty": "5.123456789" if filled else "0",
            "filled_avg_price": "195.18" if filled else None,
            "created_at": OPEN.isoformat(),
            "submitted_at": OPEN.isoformat(),
            "updated_at": moment,
            "filled_at": moment if filled else None,
        }
    )


class _FilledBroker:
    """Answers a reconcile round's list request with the fills, from memory (no HTTP)."""

    def __init__(self, orders: list[AlpacaOrder]) -> None:
        self.orders = sorted(orders, key=lambda order: order.client_order_id)

    def list_orders(self, **_options: Any) -> list[AlpacaOrder]:
        return self.orders

    def get_order(self, order_id: str) -> AlpacaOrder:
        return next(order for order in self.orders if order.id == order_id)


def _raw_round_trip(url: str, repeat: int = 2000) -> float:
    """Seconds per `SELECT 1` with the driver alone, on the connection kind the engine uses."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for _ in range(100):
                connection.execute("SELECT 1").fetchall()
            started = time.perf_counter()
            for _ in range(repeat):
                connection.execute("SELECT 1").fetchall()
            return (time.perf_counter() - started) / repeat
        finally:
            connection.close()
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        for _ in range(100):
            connection.execute("SELECT 1").fetchall()
        started = time.perf_counter()
        for _ in range(repeat):
            connection.execute("SELECT 1").fetchall()
        return (time.perf_counter() - started) / repeat


class _Counter:
    def __init__(self, database: Database) -> None:
        self.statements = 0
        event.listen(database.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.statements += 1


def _worker_work(database: Database, settings: Any, count: int) -> tuple[float, int]:
    """The worker's database steps for `count` trades; returns seconds and statements."""
    job = OpenJob(
        settings=settings,
        database=database,
        alpaca=None,  # type: ignore[arg-type]
        quiver=None,  # type: ignore[arg-type]
        owner="bench",
    )
    clock = RunClock(OPEN, time.monotonic)
    job.orders.now = clock.now
    summary = RunSummary(trading_date=OPEN.date())
    candidates = _candidates(count)
    # The broker's answers, parsed beforehand: parsing JSON is the HTTP client's work.
    accepted = [_order(candidate, "accepted", 0) for candidate in candidates]
    filled = [_order(candidate, "filled", 1) for candidate in candidates]
    reconciler = Reconciler(database, _FilledBroker(filled), now=clock.now)  # type: ignore[arg-type]
    counter = _Counter(database)
    started = time.perf_counter()
    with job.orders.placing_orders(summary):  # as the order loop does
        for candidate, answer in zip(candidates, accepted, strict=True):
            trade = job.orders.record_intent(candidate, summary, clock)
            assert trade is not None
            job.orders.record_order(trade, answer, summary)
            job.orders.flush_when_due(summary)
    report = ReconcileReport()
    still_open = reconciler.round(report)
    job._count_outcomes(summary)
    elapsed = time.perf_counter() - started
    assert not summary.errors, summary.errors
    assert still_open == 0 and summary.orders.filled == count, (still_open, summary.orders)
    return elapsed, counter.statements


def run(workdir: Path, *, count: int = 1000, repeat: int = 3) -> list[Figure]:
    figures = []
    for backend in ("postgresql", "sqlite"):
        label = "PostgreSQL" if backend == "postgresql" else "SQLite"
        on_postgres = backend == "postgresql"
        for caps in (False, True):
            context = scratch_postgres() if on_postgres else scratch_sqlite(workdir)
            with context as url:
                overrides: dict[str, Any] = {"trade_notional_usd": Decimal("1000")}
                if caps:
                    overrides |= {"daily_max_filings": 10**6, "per_ticker_daily_max": 10**6}
                samples, trips, raw, statements = [], [], [], 0
                for _ in range(repeat):
                    database = migrated(url, **overrides)
                    _empty(database)
                    trips.append(_raw_round_trip(url))
                    raw.append(raw_same_work(url, count, caps=caps) / count)
                    _empty(database)
                    elapsed, statements = _worker_work(
                        database, settings_for(url, **overrides), count
                    )
                    samples.append(elapsed / count)
                    trips.append(_raw_round_trip(url))
                    database.dispose()
            per_trade = statistics.median(samples)
            trip = statistics.median(trips)
            same_work = statistics.median(raw)
            what = (
                f"{label}: the worker's database work per trade (intent, acknowledgement, "
                f"fill by a reconcile round, tally), {count:,} trades, "
                + ("with the daily caps" if caps else "no caps")
            )
            driver = "raw psycopg over TCP" if on_postgres else "raw sqlite3"
            figures.append(
                Figure(
                    id="B3",
                    what=what + ", in round trips",
                    value=per_trade * 1e6,
                    unit="µs",
                    baseline=trip * 1e6,
                    baseline_what=f"one round trip (SELECT 1, {driver})",
                    ratio=per_trade / trip,
                    target=f"≤ {TARGET_ROUND_TRIPS} round trips" if on_postgres else "reported",
                    holds=per_trade / trip <= TARGET_ROUND_TRIPS if on_postgres else None,
                    notes=[
                        f"{statements / count:.2f} statements executed per trade"
                        + (" with caps" if caps else " without caps")
                        + " (a batched UPDATE counts once; on SQLite each transaction's BEGIN "
                        "and PRAGMA count too)"
                    ],
                )
            )
            figures.append(
                Figure(
                    id="B3",
                    what=what + ", against the same writes",
                    value=per_trade * 1e6,
                    unit="µs",
                    baseline=same_work * 1e6,
                    baseline_what=f"the same durable writes with {driver} alone",
                    ratio=per_trade / same_work,
                    target=f"≤ {TARGET_SAME_WORK}×",
                    holds=per_trade / same_work <= TARGET_SAME_WORK,
                )
            )
    return figures


def _empty(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM trade"))


# -- the same writes with the driver alone ----------------------------------------------------

_INSERT = (
    "INSERT INTO trade (id, source_hash, client_order_id, symbol, side, order_type, "
    "time_in_force, status, created_at, updated_at, version) VALUES "
    "(%s, %s, %s, %s, 'BUY', 'MARKET', 'DAY', %s, %s, %s, 1)"
)
_LOCK_ROWS = "SELECT id, version FROM trade WHERE id IN ({}) FOR UPDATE"
_UPDATE = (
    "UPDATE trade SET alpaca_order_id = %s, status = %s, filled_qty = %s, "
    "filled_avg_price = %s, raw_order_json = %s, updated_at = %s, version = version + 1 "
    "WHERE id = %s AND version = %s"
)
_COUNT = "SELECT count(*) FROM trade WHERE created_at >= %s AND created_at < %s"
_TALLY = "SELECT status, count(*) FROM trade WHERE id IN ({}) GROUP BY status"


def raw_same_work(url: str, count: int, *, caps: bool) -> float:
    """Seconds for the worker's writes done with the driver alone: one durable INSERT per
    intent (under the caps' lock and counts when `caps`), the acknowledgements in batches of 50,
    the fills in one batch, and the tally; returns elapsed seconds."""
    on_postgres = not url.startswith("sqlite")
    if on_postgres:
        connection: Any = psycopg.connect(libpq(url), autocommit=True)
    else:
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    marker = "%s" if on_postgres else "?"

    def sql(statement: str) -> str:
        return statement if on_postgres else statement.replace("%s", "?").replace(" FOR UPDATE", "")

    def key(value: uuid.UUID) -> Any:
        return value if on_postgres else value.hex

    def stamp(moment: datetime) -> Any:
        return moment if on_postgres else moment.replace(tzinfo=None).isoformat(" ")

    def scaled(value: Decimal) -> Any:
        return value if on_postgres else int(value.scaleb(9))

    def document(payload: dict[str, Any]) -> Any:
        text_form = json.dumps(payload)
        return psycopg.types.json.Jsonb(payload) if on_postgres else text_form

    ids = [uuid.uuid4() for _ in range(count)]
    started = time.perf_counter()
    try:
        for number, trade_id in enumerate(ids):
            hashed = f"{number:064x}"
            values = (
                key(trade_id),
                hashed,
                f"ta-{hashed}",
                "AAPL",
                "NEW",
                stamp(OPEN),
                stamp(OPEN),
            )
            if caps:
                connection.execute("BEGIN" if on_postgres else "BEGIN IMMEDIATE")
                if on_postgres:
                    connection.execute("SELECT pg_advisory_xact_lock(42)")
                end = OPEN + timedelta(days=1)
                connection.execute(sql(_COUNT), (stamp(OPEN), stamp(end))).fetchone()
                connection.execute(
                    sql(_COUNT) + " AND symbol = " + marker, (stamp(OPEN), stamp(end), "AAPL")
                ).fetchone()
                connection.execute(sql(_INSERT), values)
                connection.execute("COMMIT")
            else:
                connection.execute(sql(_INSERT), values)
        for version, batch_size in ((1, 50), (2, count)):
            for start in range(0, count, batch_size):
                batch = ids[start : start + batch_size]
                connection.execute("BEGIN" if on_postgres else "BEGIN IMMEDIATE")
                holes = ", ".join([marker] * len(batch))
                connection.execute(
                    sql(_LOCK_ROWS.format(holes)), [key(i) for i in batch]
                ).fetchall()
                filled = version == 2
                rows = [
                    (
                        f"order-{trade_id.hex}",
                        "FILLED" if filled else "ACCEPTED",
                        scaled(Decimal("5.123456789")) if filled else None,
                        scaled(Decimal("195.18")) if filled else None,
                        document({"id": f"order-{trade_id.hex}", "status": "filled"}),
                        stamp(OPEN),
                        key(trade_id),
                        version,
                    )
                    for trade_id in batch
                ]
                cursor = connection.cursor()
                cursor.executemany(sql(_UPDATE), rows)
                connection.execute("COMMIT")
        for start in range(0, count, 500):
            page = ids[start : start + 500]
            holes = ", ".join([marker] * len(page))
            connection.execute(sql(_TALLY.format(holes)), [key(i) for i in page]).fetchall()
        return time.perf_counter() - started
    finally:
        connection.close()
