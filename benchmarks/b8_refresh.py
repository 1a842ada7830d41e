"""B8: the incremental refresh of one new session for 3,000 symbols, as `history prices` runs it.

The database holds 10 years of daily bars for 3,000 symbols and their coverage, as earlier runs
left them (written straight into the tables; the last days are the sandbox's own bars, so the
refresh's overlap finds them unchanged). The sandbox's next session then closes, and the run asks
Alpaca (the sandbox, over HTTP, within its 200-a-minute limit) for what is missing. Reported: the
requests made and the time taken; the target is that no stored row is rewritten.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select

from benchmarks import bars_data
from benchmarks.common import Figure, libpq, migrated, scratch_postgres, scratch_sqlite
from trading_automation.clients.pacing import RequestPacer
from trading_automation.db import Database, PriceBar
from trading_automation.domain.bars import PriceBarRow
from trading_automation.domain.price_plan import SYMBOLS_PER_REQUEST
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.history.prices import PriceFetch, PriceOptions
from trading_automation.sandbox import Sandbox, SyntheticBars

LOADED_AT = datetime(2024, 6, 18, 22, 0, tzinfo=UTC)
REFRESHED_AT = datetime(2024, 6, 20, 22, 0, tzinfo=UTC)
# The new session: 2024-06-19 is a holiday, so after 2024-06-18 comes 2024-06-20.
NEW_SESSION = date(2024, 6, 20)
# The last days of each symbol are the sandbox's own bars (the refresh's overlap reads them).
RECENT_DAYS = 10


def _rows(names: list[str], days: list[date]) -> Iterator[PriceBarRow]:
    """Every stored bar: template values, then the sandbox's own for the recent days."""
    series = bars_data.shapes(days[:-RECENT_DAYS])
    for page in bars_data.pages(names, days[:-RECENT_DAYS], series):
        yield from page
    sandbox_bars = SyntheticBars()
    for symbol in names:
        for bar in sandbox_bars.bars(
            symbol, days[-RECENT_DAYS], days[-1], adjustment="all", today=days[-1]
        ):
            yield PriceBarRow(
                symbol,
                bar.day,
                *(Decimal(f"{value:.4f}") for value in (bar.open, bar.high, bar.low, bar.close)),
                bar.volume,
                "all",
            )


def _coverage(names: list[str], days: list[date]) -> list[tuple[Any, ...]]:
    return [(name, days[0], days[-1], days[-1], LOADED_AT) for name in names]


COVERAGE = ("symbol", "covered_from", "covered_to", "last_bar_day", "updated_at")


def _load_postgres(url: str, names: list[str], days: list[date]) -> None:
    with psycopg.connect(libpq(url)) as connection, connection.transaction():
        cursor = connection.cursor()
        with cursor.copy(f"COPY price_bar ({', '.join(bars_data.COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(names, days):
                copy.write_row((*row, LOADED_AT))
        with cursor.copy(f"COPY price_symbol ({', '.join(COVERAGE)}) FROM STDIN") as copy:
            for values in _coverage(names, days):
                copy.write_row(values)


def _lite(value: Any) -> Any:
    # The storage formats of SQLAlchemy's types on SQLite (see db/types.py).
    if isinstance(value, Decimal):
        return int(value.scaleb(9))
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _load_sqlite(url: str, names: list[str], days: list[date]) -> None:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            marks = ", ".join("?" for _ in bars_data.COLUMNS)
            connection.executemany(
                f"INSERT INTO price_bar ({', '.join(bars_data.COLUMNS)}) VALUES ({marks})",
                (tuple(_lite(v) for v in (*row, LOADED_AT)) for row in _rows(names, days)),
            )
            connection.executemany(
                f"INSERT INTO price_symbol ({', '.join(COVERAGE)}) VALUES (?, ?, ?, ?, ?)",
                (tuple(_lite(v) for v in values) for values in _coverage(names, days)),
            )
    finally:
        connection.close()


def _refresh(database: Database, names: list[str], first: date) -> tuple[float, Any, int]:
    after_close = datetime.combine(NEW_SESSION, datetime.min.time(), NEW_YORK) + timedelta(hours=17)
    with Sandbox(now=after_close, clock_ticks=False) as sandbox, sandbox.alpaca_client() as alpaca:
        run = PriceFetch(
            database=database, alpaca=alpaca, pacer=RequestPacer(), now=lambda: REFRESHED_AT
        )
        started = time.perf_counter()
        report = run.run(PriceOptions(symbols=tuple(names), from_date=first))
        elapsed = time.perf_counter() - started
        served = len(sandbox.alpaca.requests()) + len(sandbox.alpaca_data.requests())
    return elapsed, report, served


def run(workdir: Path, *, count: int = 3000, years: int = 10) -> list[Figure]:
    names = bars_data.symbols(count)
    days = bars_data.trading_days(years)
    figures = []
    for backend in ("postgresql", "sqlite"):
        context = scratch_postgres() if backend == "postgresql" else scratch_sqlite(workdir)
        with context as url:
            database = migrated(url)
            (_load_postgres if backend == "postgresql" else _load_sqlite)(url, names, days)
            with database.transaction(readonly=True) as uow:
                stored_before = uow.prices.count()
            seconds, report, served = _refresh(database, names, days[0])
            with database.transaction(readonly=True) as uow:
                touched = uow.session.scalar(
                    select(func.count()).where(PriceBar.fetched_at == REFRESHED_AT)
                )
            database.dispose()
        rewritten = int(touched or 0) - report.new
        label = "PostgreSQL" if backend == "postgresql" else "SQLite"
        naive = count + 2
        figures.append(
            Figure(
                id="B8",
                what=f"{label}: refresh one new session for {count:,} symbols over "
                f"{stored_before:,} stored bars ({years} years), in requests",
                value=report.requests,
                unit="requests",
                baseline=naive,
                baseline_what="one bars request per symbol, with the clock and the calendar",
                ratio=report.requests / naive,
                target="no stored row rewritten",
                holds=rewritten == 0 and report.corrected == 0,
                notes=[
                    f"{seconds:.2f} s for the refresh; {report.bar_requests} bars requests of "
                    f"{SYMBOLS_PER_REQUEST} symbols (the sandbox served {served}); "
                    f"{report.new:,} new bars, {report.unchanged:,} overlap bars compared and "
                    f"left alone, {rewritten} stored rows rewritten, {report.corrected} corrected",
                ],
            )
        )
        figures.append(
            Figure(
                id="B8",
                what=f"{label}: the same refresh, time",
                value=seconds,
                unit="s",
                target="reported",
            )
        )
    return figures
