"""B12: the dashboard's overview at 100,000 lots against the same pages at 100.

Measured through the real application, served by uvicorn on 127.0.0.1: `/overview` (HTML) and
`/api/overview` (JSON), on the lots, sells and closes of `b12_data` (the realized P&L's closes
are read too). The broker is answered by a fake fetch holding a position in every symbol, so the
broker's side is the same at both sizes and only the database work grows.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from benchmarks.b12_data import LARGE, SYMBOLS, digest, load_postgres, load_sqlite, lot_rows
from benchmarks.common import (
    Figure,
    median_time,
    migrated,
    percentile,
    scratch_postgres,
    scratch_sqlite,
    settings_for,
)
from trading_automation.clients import Account, Position
from trading_automation.db import Database
from trading_automation.web.app import create_app
from trading_automation.web.server import BackgroundServer

SMALL = 100
PAGES = ("/overview", "/api/overview")


def _broker() -> tuple[Account, list[Position]]:
    account = Account.model_validate(
        {"id": "bench", "status": "ACTIVE", "currency": "USD", "equity": "100000000"}
    )
    positions = []
    for number, symbol in enumerate(SYMBOLS):
        price = Decimal(50 + number)
        positions.append(
            Position.model_validate(
                {
                    "symbol": symbol,
                    "qty": "1000",
                    "avg_entry_price": str(price - 1),
                    "current_price": str(price),
                    "market_value": str(price * 1000),
                    "cost_basis": str((price - 1) * 1000),
                    "unrealized_pl": "1000",
                }
            )
        )
    return account, positions


def _touch(database: Database) -> None:
    """Commit a change to one trade, so the next overview computes its aggregates afresh."""
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE trade SET status_reason = CASE WHEN status_reason IS NULL"
                " THEN 'benchmark' END WHERE client_order_id = :key"
            ),
            {"key": f"ta-{digest('source', 0)}"},
        )


Samples = dict[tuple[str, str], list[float]]


def _measure(database: Database, url: str, repeat: int) -> Samples:
    """Each page, as it is answered again and as it is answered after a write."""
    app = create_app(settings_for(url), database=database, broker_fetch=_broker)
    samples: Samples = {}
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for path in PAGES:
            for _ in range(3):  # warm caches, plans and templates
                assert client.get(path).status_code == 200

            def get(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.text[:200]

            _median, samples[path, "again"] = median_time(get, repeat=repeat)
            _median, samples[path, "written"] = median_time(
                get, repeat=max(5, repeat // 3), setup=lambda: _touch(database)
            )
    return samples


def _median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def _figures(label: str, count: int, small: Samples, large: Samples) -> list[Figure]:
    figures = []
    for path in PAGES:
        base, big = _median(small[path, "again"]), _median(large[path, "again"])
        base_written = _median(small[path, "written"])
        big_written = _median(large[path, "written"])
        figures.append(
            Figure(
                id="B12",
                what=f"{label}: {path} at {count:,} lots vs {SMALL}",
                value=big * 1000,
                unit="ms",
                baseline=base * 1000,
                baseline_what=f"the same page at {SMALL} lots",
                ratio=big / base,
                target="≤ 3×",
                holds=big / base <= 3,
                notes=[
                    f"{path} p95: {percentile(small[path, 'again'], 0.95) * 1000:.1f} ms at "
                    f"{SMALL}, {percentile(large[path, 'again'], 0.95) * 1000:.1f} ms at "
                    f"{count:,}"
                ],
            )
        )
        figures.append(
            Figure(
                id="B12",
                what=f"{label}: {path} right after a write, at {count:,} lots vs {SMALL}",
                value=big_written * 1000,
                unit="ms",
                baseline=base_written * 1000,
                baseline_what=f"the same at {SMALL} lots",
                ratio=big_written / base_written,
                target="none (reported)",
                holds=None,
            )
        )
    return figures


def _run_backend(url: str, load: Any, label: str, count: int, repeat: int) -> list[Figure]:
    database = migrated(url)
    try:
        load(url, list(lot_rows(0, SMALL)))
        small = _measure(database, url, repeat)
        load(url, list(lot_rows(SMALL, count - SMALL)))
        large = _measure(database, url, repeat)
    finally:
        database.dispose()
    return _figures(label, count, small, large)


def run(workdir: Path, *, count: int = LARGE, repeat: int = 30) -> list[Figure]:
    figures: list[Figure] = []
    with scratch_postgres() as url:
        figures += _run_backend(url, load_postgres, "PostgreSQL", count, repeat)
    with scratch_sqlite(workdir) as url:
        figures += _run_backend(url, load_sqlite, "SQLite", count, repeat)
    return figures
