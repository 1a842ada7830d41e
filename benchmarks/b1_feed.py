"""B1: storing Quiver records through the feed repository, against COPY + INSERT … SELECT."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

from benchmarks.common import Figure, libpq, median_time, migrated, scratch_postgres, scratch_sqlite
from trading_automation.db import Database
from trading_automation.db.repositories.feed import COPY_COLUMNS, copy_row
from trading_automation.domain.filings import normalize_record

NAMES = [
    "Nancy Pelosi",
    "Ro Khanna",
    "Zoë Lofgren",
    "Michael T. McCaul",
    "Tommy Tuberville",
    "Nydia M. Velázquez",
    "Josh Gottheimer",
    "Debbie Wasserman Schultz",
    "Dan Crenshaw",
]
TICKERS = ["AAPL", "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA", "JPM", "UNH", "KKR", "BRK.B"]
TRANSACTIONS = ["Purchase", "Sale", "Sale (Partial)", "Sale (Full)", "Exchange"]


def records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` distinct Quiver-shaped records (every SPEC field)."""
    rnd = random.Random(seed)
    first = date(2020, 1, 1)
    out = []
    for number in range(count):
        filed = first + timedelta(days=rnd.randrange(1800))
        out.append(
            {
                "Ticker": rnd.choice(TICKERS),
                "TickerType": "ST",
                "Company": "Company Inc.",
                "Traded": (filed - timedelta(days=rnd.randrange(45))).isoformat(),
                "Transaction": rnd.choice(TRANSACTIONS),
                "Trade_Size_USD": "1001 - 15000",
                "Name": rnd.choice(NAMES),
                "BioGuideID": f"B{rnd.randrange(10**6):06d}",
                "Filed": filed.isoformat(),
                "Party": rnd.choice("DRI"),
                "District": "CA11",
                "Chamber": "Representatives",
                "Description": None,
                "Comments": f"record {number}",
                "Quiver_Upload_Time": f"{filed.isoformat()}T21:04:11",
                "excess_return": round(rnd.uniform(-20, 20), 4),
                "State": "California",
                "last_modified": filed.isoformat(),
            }
        )
    return out


def _truncate(database: Database) -> None:
    with database.engine.begin() as connection:
        if database.dialect_name == "postgresql":
            connection.execute(text("TRUNCATE congress_trade_feed CASCADE"))
        else:
            connection.execute(text("DELETE FROM congress_trade_feed"))


def _repository_store(database: Database, batch: list[dict[str, Any]]) -> None:
    with database.transaction() as uow:
        uow.feed.store(batch)


COLUMNS = ("id", *COPY_COLUMNS)


def _copy_rows(batch: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Column values for the baseline, computed before it is timed."""
    now = datetime.now(UTC)
    return [(uuid.uuid4(), *copy_row(normalize_record(record), now)) for record in batch]


def _copy_baseline(url: str, rows: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(libpq(url)) as connection, connection.transaction():
        connection.execute(
            "CREATE TEMP TABLE feed_load (LIKE congress_trade_feed INCLUDING DEFAULTS)"
            " ON COMMIT DROP"
        )
        with connection.cursor().copy(f"COPY feed_load ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute(
            f"INSERT INTO congress_trade_feed ({', '.join(COLUMNS)})"
            f" SELECT {', '.join(COLUMNS)} FROM feed_load"
            " ON CONFLICT (row_hash) DO NOTHING"
        )


def run(workdir: Path, *, count: int = 100_000, repeat: int = 3) -> list[Figure]:
    batch = records(count)
    figures: list[Figure] = []
    with scratch_postgres() as url:
        database = migrated(url)
        rows = _copy_rows(batch)
        for label, prepare in (("empty table", True), ("all duplicates", False)):

            def setup_repo(prepare: bool = prepare) -> None:
                _truncate(database)
                if not prepare:
                    _repository_store(database, batch)

            def setup_base(prepare: bool = prepare) -> None:
                _truncate(database)
                if not prepare:
                    _copy_baseline(url, rows)

            repo_s, _ = median_time(
                lambda: _repository_store(database, batch), repeat=repeat, setup=setup_repo
            )
            base_s, _ = median_time(
                lambda: _copy_baseline(url, rows), repeat=repeat, setup=setup_base
            )
            ratio = (count / repo_s) / (count / base_s)
            figures.append(
                Figure(
                    id="B1",
                    what=f"PostgreSQL: store {count:,} records via the feed repository ({label})",
                    value=count / repo_s,
                    unit="rows/s",
                    baseline=count / base_s,
                    baseline_what="COPY into a temp table + INSERT … SELECT … ON CONFLICT DO "
                    "NOTHING (raw psycopg, hashes precomputed)",
                    ratio=ratio,
                    target="≥ 0.5× (goal 0.8×)",
                    holds=ratio >= 0.5,
                )
            )
        database.dispose()
    with scratch_sqlite(workdir) as url:
        database = migrated(url)
        for label, prepare in (("empty table", True), ("all duplicates", False)):

            def setup_lite(prepare: bool = prepare) -> None:
                _truncate(database)
                if not prepare:
                    _repository_store(database, batch)

            lite_s, _ = median_time(
                lambda: _repository_store(database, batch), repeat=repeat, setup=setup_lite
            )
            figures.append(
                Figure(
                    id="B1",
                    what=f"SQLite: store {count:,} records via the feed repository ({label})",
                    value=count / lite_s,
                    unit="rows/s",
                    target="reported alongside",
                )
            )
        database.dispose()
    return figures
