"""B12: the dashboard's overview at 100,000 filled trades against the same pages at 100.

Measured through the real application, served by uvicorn on 127.0.0.1: `/overview` (HTML) and
`/api/overview` (JSON), each trade with its filing, the broker answered by a fake fetch holding a
position in every symbol, so the broker's side is the same at both sizes and only the database
work grows.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from benchmarks.common import (
    Figure,
    libpq,
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
LARGE = 100_000
SYMBOLS = [f"S{n:03d}" for n in range(100)]
MEMBERS = [f"Member {n:03d}" for n in range(250)]
PARTIES = ("DEMOCRAT", "REPUBLICAN", "INDEPENDENT")
# Each member trades a few favourite symbols, as members do: about 2,500 (member, symbol) pairs.
FAVOURITES = 10
NEWEST = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
SPAN_DAYS = 4 * 365  # 100,000 trades over four years: about 70 a day
PAGES = ("/overview", "/api/overview")


@dataclass(frozen=True)
class Row:
    """One filled trade and the filing behind it."""

    number: int
    trade_id: uuid.UUID
    feed_id: uuid.UUID
    member: str
    party: str
    symbol: str
    qty: Decimal
    price: Decimal
    created: datetime


def _rows(start: int, count: int, seed: int = 12) -> Iterator[Row]:
    rnd = random.Random(seed * 1_000_003 + start)
    favourites = {
        member: random.Random(f"{member}").sample(SYMBOLS, FAVOURITES) for member in MEMBERS
    }
    for number in range(start, start + count):
        index = number % len(MEMBERS)
        member = MEMBERS[index]
        price = Decimal(rnd.randrange(1_000_000, 500_000_000)).scaleb(-6)  # $1 to $500, 6 places
        yield Row(
            number=number,
            trade_id=uuid.uuid4(),
            feed_id=uuid.uuid4(),
            member=member,
            party=PARTIES[index % len(PARTIES)],
            symbol=rnd.choice(favourites[member]),
            qty=(Decimal(1000) / price).quantize(Decimal("0.000000001")),
            price=price,
            created=NEWEST - timedelta(seconds=rnd.randrange(SPAN_DAYS * 86_400)),
        )


def _digest(kind: str, number: int) -> str:
    return hashlib.sha256(f"b12 {kind} {number}".encode()).hexdigest()


def _feed_values(row: Row) -> tuple[Any, ...]:
    filed = row.created.date()
    raw = {"Ticker": row.symbol, "Name": row.member, "Filed": filed.isoformat()}
    return (
        row.feed_id,
        _digest("row", row.number),
        _digest("source", row.number),
        row.symbol,
        row.member,
        "BUY",
        filed - timedelta(days=10),
        filed,
        row.party,
        json.dumps(raw),
        row.created,
    )


FEED_COLUMNS = (
    'id, row_hash, source_hash, ticker, member_name, "transaction", trade_date, filing_date, party,'
    " raw_json, ingested_at"
)
TRADE_COLUMNS = (
    "id, source_hash, client_order_id, alpaca_order_id, congress_trade_feed_id, symbol, side,"
    " order_type, time_in_force, notional_submitted, filled_qty, filled_avg_price, status,"
    " created_at, updated_at, filled_at"
)


def _trade_values(row: Row) -> tuple[Any, ...]:
    source = _digest("source", row.number)
    return (
        row.trade_id,
        source,
        f"ta-{source}",
        str(uuid.UUID(int=row.number + 1)),
        row.feed_id,
        row.symbol,
        "BUY",
        "MARKET",
        "DAY",
        Decimal("1000.00"),
        row.qty,
        row.price,
        "FILLED",
        row.created,
        row.created,
        row.created,
    )


def _load_postgres(url: str, rows: list[Row]) -> None:
    with psycopg.connect(libpq(url)) as connection:
        with connection.cursor().copy(
            f"COPY congress_trade_feed ({FEED_COLUMNS}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(_feed_values(row))
        with connection.cursor().copy(f"COPY trade ({TRADE_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(_trade_values(row))
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE congress_trade_feed")
        connection.execute("VACUUM ANALYZE trade")


def _sqlite_value(value: Any) -> Any:
    # The storage formats SQLAlchemy's types use on SQLite: hex UUIDs, UTC text, scaled integers.
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _load_sqlite(url: str, rows: list[Row]) -> None:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    with connection:
        connection.executemany(
            f"INSERT INTO congress_trade_feed ({FEED_COLUMNS}) VALUES ({', '.join('?' * 11)})",
            (tuple(_sqlite_value(v) for v in _feed_values(row)) for row in rows),
        )
        connection.executemany(
            f"INSERT INTO trade ({TRADE_COLUMNS}) VALUES ({', '.join('?' * 16)})",
            (
                tuple(
                    _sqlite_value(v)
                    for v in (
                        *_trade_values(row)[:9],
                        100_000,  # $1000.00 scaled by 10**2
                        int(row.qty.scaleb(9)),
                        int(row.price.scaleb(9)),
                        *_trade_values(row)[12:],
                    )
                )
                for row in rows
            ),
        )
    connection.execute("ANALYZE")
    connection.close()


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
            {"key": f"ta-{_digest('source', 0)}"},
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
                what=f"{label}: {path} at {count:,} filled trades vs {SMALL}",
                value=big * 1000,
                unit="ms",
                baseline=base * 1000,
                baseline_what=f"the same page at {SMALL} filled trades",
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
                what=f"{label}: {path} right after a write, at {count:,} filled trades vs {SMALL}",
                value=big_written * 1000,
                unit="ms",
                baseline=base_written * 1000,
                baseline_what=f"the same at {SMALL} filled trades",
                ratio=big_written / base_written,
                target="none (reported)",
                holds=None,
            )
        )
    return figures


def _run_backend(url: str, load: Any, label: str, count: int, repeat: int) -> list[Figure]:
    database = migrated(url)
    try:
        load(url, list(_rows(0, SMALL)))
        small = _measure(database, url, repeat)
        load(url, list(_rows(SMALL, count - SMALL)))
        large = _measure(database, url, repeat)
    finally:
        database.dispose()
    return _figures(label, count, small, large)


def run(workdir: Path, *, count: int = LARGE, repeat: int = 30) -> list[Figure]:
    figures: list[Figure] = []
    with scratch_postgres() as url:
        figures += _run_backend(url, _load_postgres, "PostgreSQL", count, repeat)
    with scratch_sqlite(workdir) as url:
        figures += _run_backend(url, _load_sqlite, "SQLite", count, repeat)
    return figures
