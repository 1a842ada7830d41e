"""B2: the trades listing at 1,000,000 trades, keyset pages against the same query with OFFSET."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select

from benchmarks.common import (
    Figure,
    libpq,
    migrated,
    percentile,
    scratch_postgres,
    scratch_sqlite,
)
from trading_automation.db import Database, Trade
from trading_automation.db.repositories.pagination import Cursor

PAGE = 50
DEEP_PAGE = 10_000
SYMBOLS = ["AAPL"] * 12 + [f"S{n:02d}" for n in range(8)]  # AAPL is 60% of trades
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_S = 2 * 365 * 24 * 3600


def _rows(count: int, seed: int = 11) -> list[tuple[uuid.UUID, str, str, datetime]]:
    rnd = random.Random(seed)
    rows = []
    for number in range(count):
        digest = hashlib.sha256(f"trade {number}".encode()).hexdigest()
        created = START + timedelta(seconds=rnd.randrange(SPAN_S), microseconds=number % 997)
        rows.append((uuid.uuid4(), digest, rnd.choice(SYMBOLS), created))
    return rows


def _load_postgres(url: str, rows: list[tuple[uuid.UUID, str, str, datetime]]) -> None:
    with psycopg.connect(libpq(url)) as connection:
        with connection.cursor().copy(
            "COPY trade (id, source_hash, client_order_id, symbol, side, order_type,"
            " time_in_force, notional_submitted, status, created_at, updated_at) FROM STDIN"
        ) as copy:
            for ident, digest, symbol, created in rows:
                copy.write_row(
                    (
                        ident,
                        digest,
                        f"ta-{digest}",
                        symbol,
                        "BUY",
                        "MARKET",
                        "DAY",
                        "1000.00",
                        "FILLED",
                        created,
                        created,
                    )
                )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE trade")


def _load_sqlite(url: str, rows: list[tuple[uuid.UUID, str, str, datetime]]) -> None:
    # The storage formats SQLAlchemy's types use on SQLite: hex UUIDs, UTC text, scaled integers.
    path = url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO trade (id, source_hash, client_order_id, symbol, side, order_type,"
            " time_in_force, notional_submitted, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'BUY', 'MARKET', 'DAY', 100000, 'FILLED', ?, ?)",
            (
                (
                    ident.hex,
                    digest,
                    f"ta-{digest}",
                    symbol,
                    created.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    created.strftime("%Y-%m-%d %H:%M:%S.%f"),
                )
                for ident, digest, symbol, created in rows
            ),
        )
    connection.execute("ANALYZE")
    connection.close()


def _timed(action: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def _measure(database: Database, backend: str, repeat: int) -> list[Figure]:
    created_from = START
    created_to = START + timedelta(seconds=SPAN_S + 1)
    filters = {"symbol": "AAPL", "created_from": created_from, "created_to": created_to}
    deep_offset = (DEEP_PAGE - 1) * PAGE
    ordered = (
        select(Trade)
        .where(
            Trade.symbol == "AAPL", Trade.created_at >= created_from, Trade.created_at < created_to
        )
        .order_by(Trade.created_at.desc(), Trade.id.desc())
    )
    with database.transaction(readonly=True) as uow:
        boundary = uow.session.scalars(ordered.offset(deep_offset - 1).limit(1)).one()
    cursor = Cursor(boundary.created_at, boundary.id, "next").encode()

    def keyset(cursor: str | None) -> None:
        with database.transaction(readonly=True) as uow:
            page = uow.trades.page(limit=PAGE, cursor=cursor, **filters)  # type: ignore[arg-type]
            assert len(page.items) == PAGE

    def offset() -> None:
        with database.transaction(readonly=True) as uow:
            items = uow.session.scalars(ordered.offset(deep_offset).limit(PAGE)).all()
            assert len(items) == PAGE

    with database.transaction(readonly=True) as uow:  # the two paths return the same rows
        deep = uow.trades.page(limit=PAGE, cursor=cursor, **filters)  # type: ignore[arg-type]
        same = uow.session.scalars(ordered.offset(deep_offset).limit(PAGE)).all()
        assert [t.id for t in deep.items] == [t.id for t in same]

    keyset(None), keyset(cursor), offset()  # warm caches and plans
    first = _timed(lambda: keyset(None), repeat)
    deep_samples = _timed(lambda: keyset(cursor), repeat)
    offset_samples = _timed(offset, max(5, repeat // 4))
    median = sorted(first)[len(first) // 2]
    deep_median = sorted(deep_samples)[len(deep_samples) // 2]
    offset_median = sorted(offset_samples)[len(offset_samples) // 2]
    label = "PostgreSQL" if backend == "postgresql" else "SQLite"
    p95 = (
        f"p95: page 1 {percentile(first, 0.95) * 1000:.2f} ms, page 10,000 "
        f"{percentile(deep_samples, 0.95) * 1000:.2f} ms, OFFSET "
        f"{percentile(offset_samples, 0.95) * 1000:.1f} ms"
    )
    return [
        Figure(
            id="B2",
            what=f"{label}: page 10,000 vs page 1 (50 AAPL trades, date range, 1,000,000 rows)",
            value=deep_median * 1000,
            unit="ms",
            baseline=median * 1000,
            baseline_what="page 1 of the same listing",
            ratio=deep_median / median,
            target="≤ 2×",
            holds=deep_median / median <= 2,
            notes=[p95],
        ),
        Figure(
            id="B2",
            what=f"{label}: page 10,000, keyset vs OFFSET",
            value=deep_median * 1000,
            unit="ms",
            baseline=offset_median * 1000,
            baseline_what="the same query with OFFSET 499,950",
            ratio=offset_median / deep_median,
            target="OFFSET ≥ 20× slower",
            holds=offset_median / deep_median >= 20,
        ),
    ]


def run(workdir: Path, *, count: int = 1_000_000, repeat: int = 40) -> list[Figure]:
    rows = _rows(count)
    figures: list[Figure] = []
    with scratch_postgres() as url:
        database = migrated(url)
        _load_postgres(url, rows)
        figures += _measure(database, "postgresql", repeat)
        database.dispose()
    with scratch_sqlite(workdir) as url:
        database = migrated(url)
        _load_sqlite(url, rows)
        figures += _measure(database, "sqlite", repeat)
        database.dispose()
    return figures
