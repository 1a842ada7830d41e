"""B12's data set: lots with their filings, sells and closes, loaded as fast as each backend can.

100,000 filled buys by 250 members over 100 symbols and four years; a third of the lots sold in
full by a mirrored sale (a SELL trade and its close), one in fifteen partly closed outside the
system. Rows are written straight into the tables (COPY on PostgreSQL, executemany on SQLite, in the
storage formats SQLAlchemy's types use), as a worker would have left them.
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
from typing import Any

import psycopg

from benchmarks.common import libpq

LARGE = 100_000
SYMBOLS = [f"S{n:03d}" for n in range(100)]
MEMBERS = [f"Member {n:03d}" for n in range(250)]
PARTIES = ("DEMOCRAT", "REPUBLICAN", "INDEPENDENT")
# Each member trades a few favourite symbols, as members do: about 2,500 (member, symbol) pairs.
FAVOURITES = 10
NEWEST = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
SPAN_DAYS = 4 * 365  # 100,000 trades over four years: about 70 a day


@dataclass(frozen=True)
class Row:
    """One filled buy (a lot), the filing behind it, and how much of it was closed."""

    number: int
    trade_id: uuid.UUID
    feed_id: uuid.UUID
    member: str
    party: str
    symbol: str
    qty: Decimal
    price: Decimal
    created: datetime
    # A third of the lots are sold in full by a mirrored sale; one in fifteen partly outside.
    sold_at: Decimal | None
    closed_outside: Decimal | None

    @property
    def closed_qty(self) -> Decimal:
        if self.sold_at is not None:
            return self.qty
        return self.closed_outside or Decimal(0)


def lot_rows(start: int, count: int, seed: int = 12) -> Iterator[Row]:
    rnd = random.Random(seed * 1_000_003 + start)
    favourites = {
        member: random.Random(f"{member}").sample(SYMBOLS, FAVOURITES) for member in MEMBERS
    }
    for number in range(start, start + count):
        index = number % len(MEMBERS)
        member = MEMBERS[index]
        price = Decimal(rnd.randrange(1_000_000, 500_000_000)).scaleb(-6)  # $1 to $500, 6 places
        qty = (Decimal(1000) / price).quantize(Decimal("0.000000001"))
        sold = number % 3 == 0
        outside = not sold and number % 10 == 1
        yield Row(
            number=number,
            trade_id=uuid.uuid4(),
            feed_id=uuid.uuid4(),
            member=member,
            party=PARTIES[index % len(PARTIES)],
            symbol=rnd.choice(favourites[member]),
            qty=qty,
            price=price,
            created=NEWEST - timedelta(seconds=rnd.randrange(SPAN_DAYS * 86_400)),
            sold_at=(price * Decimal(rnd.randrange(80, 125)) / 100).quantize(Decimal("0.01"))
            if sold
            else None,
            closed_outside=(qty / 2).quantize(Decimal("0.000000001")) if outside else None,
        )


def digest(kind: str, number: int) -> str:
    return hashlib.sha256(f"b12 {kind} {number}".encode()).hexdigest()


FEED_COLUMNS = (
    "id",
    "row_hash",
    "source_hash",
    "ticker",
    "member_name",
    "transaction",
    "trade_date",
    "filing_date",
    "party",
    "raw_json",
    "ingested_at",
)
TRADE_COLUMNS = (
    "id",
    "source_hash",
    "client_order_id",
    "alpaca_order_id",
    "congress_trade_feed_id",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "notional_submitted",
    "qty_submitted",
    "filled_qty",
    "filled_avg_price",
    "status",
    "created_at",
    "updated_at",
    "filled_at",
    "closed_qty",
    "lot_trade_id",
    "exit_cause",
)
CLOSE_COLUMNS = (
    "id",
    "lot_trade_id",
    "sell_trade_id",
    "cause",
    "quantity",
    "price",
    "reason",
    "closed_at",
    "created_at",
)
# Decimal columns and their scale: SQLite stores them as integers scaled by 10**scale.
SCALES = {
    "notional_submitted": 2,
    "qty_submitted": 9,
    "filled_qty": 9,
    "filled_avg_price": 9,
    "closed_qty": 9,
    "quantity": 9,
    "price": 9,
}


def _feed(row: Row) -> dict[str, Any]:
    filed = row.created.date()
    raw = {"Ticker": row.symbol, "Name": row.member, "Filed": filed.isoformat()}
    return {
        "id": row.feed_id,
        "row_hash": digest("row", row.number),
        "source_hash": digest("source", row.number),
        "ticker": row.symbol,
        "member_name": row.member,
        "transaction": "BUY",
        "trade_date": filed - timedelta(days=10),
        "filing_date": filed,
        "party": row.party,
        "raw_json": json.dumps(raw),
        "ingested_at": row.created,
    }


def _trades(row: Row) -> Iterator[dict[str, Any]]:
    """The lot's buy, and the sell that closed it when it was sold."""
    source = digest("source", row.number)
    yield {
        "id": row.trade_id,
        "source_hash": source,
        "client_order_id": f"ta-{source}",
        "alpaca_order_id": str(uuid.UUID(int=row.number + 1)),
        "congress_trade_feed_id": row.feed_id,
        "symbol": row.symbol,
        "side": "BUY",
        "order_type": "MARKET",
        "time_in_force": "DAY",
        "notional_submitted": Decimal("1000.00"),
        "qty_submitted": None,
        "filled_qty": row.qty,
        "filled_avg_price": row.price,
        "status": "FILLED",
        "created_at": row.created,
        "updated_at": row.created,
        "filled_at": row.created,
        # The database's triggers add each close to its lot as the closes are loaded.
        "closed_qty": Decimal(0),
        "lot_trade_id": None,
        "exit_cause": None,
    }
    if row.sold_at is not None:
        sold = row.created + timedelta(days=20)
        key = digest("sell", row.number)
        yield {
            "id": _sell_id(row),
            "source_hash": key,
            "client_order_id": f"ta-{key}",
            "alpaca_order_id": str(uuid.UUID(int=LARGE * 10 + row.number)),
            "congress_trade_feed_id": None,
            "symbol": row.symbol,
            "side": "SELL",
            "order_type": "MARKET",
            "time_in_force": "DAY",
            "notional_submitted": None,
            "qty_submitted": row.qty,
            "filled_qty": row.qty,
            "filled_avg_price": row.sold_at,
            "status": "FILLED",
            "created_at": sold,
            "updated_at": sold,
            "filled_at": sold,
            "closed_qty": Decimal(0),
            "lot_trade_id": row.trade_id,
            "exit_cause": "MIRRORED_SALE",
        }


def _sell_id(row: Row) -> uuid.UUID:
    return uuid.uuid5(row.trade_id, "sell")


def _closes(row: Row) -> Iterator[dict[str, Any]]:
    when = row.created + timedelta(days=20)
    if row.sold_at is not None:
        yield {
            "id": uuid.uuid5(row.trade_id, "close"),
            "lot_trade_id": row.trade_id,
            "sell_trade_id": _sell_id(row),
            "cause": "MIRRORED_SALE",
            "quantity": row.qty,
            "price": row.sold_at,
            "reason": None,
            "closed_at": when,
            "created_at": when,
        }
    elif row.closed_outside is not None:
        yield {
            "id": uuid.uuid5(row.trade_id, "outside"),
            "lot_trade_id": row.trade_id,
            "sell_trade_id": None,
            "cause": "OUTSIDE",
            "quantity": row.closed_outside,
            "price": None,
            "reason": "sold by hand at the broker",
            "closed_at": when,
            "created_at": when,
        }


def _tables(rows: list[Row]) -> list[tuple[str, tuple[str, ...], list[dict[str, Any]]]]:
    """Each table to load, its columns, and its rows (feed first: the trades refer to it)."""
    trades = [trade for row in rows for trade in _trades(row)]
    # Buys before the sells that refer to them.
    trades.sort(key=lambda trade: trade["side"])
    return [
        ("congress_trade_feed", FEED_COLUMNS, [_feed(row) for row in rows]),
        ("trade", TRADE_COLUMNS, trades),
        ("lot_close", CLOSE_COLUMNS, [close for row in rows for close in _closes(row)]),
    ]


def _quoted(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def load_postgres(url: str, rows: list[Row]) -> None:
    with psycopg.connect(libpq(url)) as connection:
        for table, columns, values in _tables(rows):
            with connection.cursor().copy(f"COPY {table} ({_quoted(columns)}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(tuple(value[column] for column in columns))
        connection.commit()
        connection.autocommit = True
        for table in ("congress_trade_feed", "trade", "lot_close"):
            connection.execute(f"VACUUM ANALYZE {table}")


def _sqlite_value(column: str, value: Any) -> Any:
    # The storage formats SQLAlchemy's types use on SQLite: hex UUIDs, UTC text, scaled integers.
    if value is None:
        return None
    if column in SCALES:
        return int(Decimal(value).scaleb(SCALES[column]))
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def load_sqlite(url: str, rows: list[Row]) -> None:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    with connection:
        for table, columns, values in _tables(rows):
            connection.executemany(
                f"INSERT INTO {table} ({_quoted(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                (tuple(_sqlite_value(c, value[c]) for c in columns) for value in values),
            )
    connection.execute("ANALYZE")
    connection.close()
