"""B3: database work per trade in the worker (intent, submitted, fill), in round trips."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from benchmarks.common import Figure, migrated, scratch_postgres, scratch_sqlite, settings_for
from trading_automation.db import Database
from trading_automation.domain.filings import client_order_id_for, normalize_record
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.worker.open_job import Candidate, OpenJob, RunClock
from trading_automation.worker.reconcile import Reconciler, ReconcileReport
from trading_automation.worker.summary import RunSummary

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


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


def _round_trip(database: Database, repeat: int = 2000) -> float:
    with database.engine.connect() as connection:
        for _ in range(100):
            connection.execute(text("SELECT 1"))
        started = time.perf_counter()
        for _ in range(repeat):
            connection.execute(text("SELECT 1"))
        return (time.perf_counter() - started) / repeat


class _Counter:
    def __init__(self, database: Database) -> None:
        self.statements = 0
        event.listen(database.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.statements += 1


def _worker_work(database: Database, settings: Any, count: int) -> tuple[float, int]:
    """The worker's own database steps for `count` trades; returns seconds and statements."""
    job = OpenJob(
        settings=settings,
        database=database,
        alpaca=None,  # type: ignore[arg-type]
        quiver=None,
        owner="bench",
    )  # type: ignore[arg-type]
    summary = RunSummary(trading_date=OPEN.date())
    clock = RunClock(OPEN, time.monotonic)
    reconciler = Reconciler(database, None)  # type: ignore[arg-type]
    candidates = _candidates(count)
    # The broker's answers, parsed beforehand: parsing JSON is the HTTP client's work.
    accepted = [_order(candidate, "accepted", 0) for candidate in candidates]
    filled = [_order(candidate, "filled", 1) for candidate in candidates]
    counter = _Counter(database)
    started = time.perf_counter()
    trades = []
    with job.orders.placing_orders(summary):  # as the order loop does
        for candidate, answer in zip(candidates, accepted, strict=True):
            trade = job.orders.record_intent(candidate, summary, clock)
            assert trade is not None
            job.orders.record_order(trade, answer, summary)
            trades.append(trade)
    assert not summary.errors, summary.errors
    # Fills arrive in reconcile rounds of at most 500 orders, as one list request returns them.
    for start in range(0, len(trades), 500):
        pairs = list(zip(trades[start : start + 500], filled[start : start + 500], strict=True))
        reconciler._apply(pairs, ReconcileReport())
    elapsed = time.perf_counter() - started
    return elapsed, counter.statements


def run(workdir: Path, *, count: int = 1000, repeat: int = 3) -> list[Figure]:
    figures = []
    for backend in ("postgresql", "sqlite"):
        context = scratch_postgres() if backend == "postgresql" else scratch_sqlite(workdir)
        with context as url:
            samples, trips, statements = [], [], 0
            for _ in range(repeat):
                database = migrated(url, trade_notional_usd=Decimal("1000"))
                with database.engine.begin() as connection:
                    connection.execute(text("DELETE FROM trade"))
                # The baseline around each repetition, so both see the same machine load.
                trips.append(_round_trip(database))
                elapsed, statements = _worker_work(database, settings_for(url), count)
                samples.append(elapsed / count)
                trips.append(_round_trip(database))
                database.dispose()
            per_trade = statistics.median(samples)
            trip = statistics.median(trips)
            label = "PostgreSQL" if backend == "postgresql" else "SQLite"
            ratio = per_trade / trip
            figures.append(
                Figure(
                    id="B3",
                    what=f"{label}: worker database work per trade (intent + submitted + fill), "
                    f"{count:,} trades",
                    value=per_trade * 1e6,
                    unit="µs",
                    baseline=trip * 1e6,
                    baseline_what="one round trip (SELECT 1 on the same engine)",
                    ratio=ratio,
                    target="≤ 8 round trips" if backend == "postgresql" else "reported",
                    holds=ratio <= 8 if backend == "postgresql" else None,
                    notes=[
                        f"{statements / count:.2f} statements executed per trade (a batched "
                        "UPDATE of one row per trade counts once; on SQLite each transaction's "
                        "BEGIN and PRAGMA count too)"
                    ],
                )
            )
    return figures
