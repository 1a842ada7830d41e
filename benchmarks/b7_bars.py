"""B7: loading 10 years of daily bars for 3,000 symbols through the price repository, against raw
psycopg COPY of the same rows into the same table, with each side's peak memory.

Each side runs in a fresh process (so its peak resident memory is its own), from an empty
`price_bar`, streaming the rows in pages of 10,000 as the fetch receives them. The project stores
each page in its own transaction as `history prices` does for days never asked for (COPY straight
into the table inside a savepoint, falling back to the comparing upsert should a bar exist); the
baseline COPYs every row straight into the table in one transaction. The same rows loaded again
(every bar stored already, unchanged: what a refetch after an adjustment mostly finds) go the
comparing way (COPY into a temporary table, `INSERT … ON CONFLICT DO UPDATE … WHERE` changed) and
are reported beside it. SQLite's rate through the repository is reported alongside, on fewer years.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy import text

from benchmarks import bars_data
from benchmarks.common import (
    Figure,
    libpq,
    migrated,
    scratch_postgres,
    scratch_sqlite,
    settings_for,
)
from trading_automation.db import Database
from trading_automation.domain.bars import PriceBarRow

FETCHED_AT = datetime(2024, 6, 20, 22, 0, tzinfo=UTC)


def _project(url: str, count: int, years: int, expect_new: bool = True) -> tuple[float, int, int]:
    """Seconds, rows and peak resident kilobytes of a load through the repository."""
    database = Database.from_settings(settings_for(url))
    days = bars_data.trading_days(years)
    series = bars_data.shapes(days)
    names = bars_data.symbols(count)
    rows = 0
    started = time.perf_counter()
    for page in bars_data.pages(names, days, series):
        with database.transaction() as uow:
            rows += uow.prices.store(page, fetched_at=FETCHED_AT, expect_new=expect_new).received
    elapsed = time.perf_counter() - started
    database.dispose()
    return elapsed, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _baseline(url: str, count: int, years: int) -> tuple[float, int, int]:
    """The same rows with raw psycopg: one COPY straight into `price_bar`."""
    days = bars_data.trading_days(years)
    series = bars_data.shapes(days)
    names = bars_data.symbols(count)
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(libpq(url)) as connection, connection.transaction():
        statement = f"COPY price_bar ({', '.join(bars_data.COLUMNS)}) FROM STDIN"
        with connection.cursor().copy(statement) as copy:
            for page in bars_data.pages(names, days, series):
                for row in page:
                    copy.write_row((*row, FETCHED_AT))
                rows += len(page)
    elapsed = time.perf_counter() - started
    return elapsed, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _in_child(target: str, *arguments: object) -> tuple[float, int, int]:
    """Run `target` in a fresh process and return what it returned."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: tuple[float, int, int] = pool.apply(_call, (target, *arguments))
    return result


def _call(target: str, *arguments: object) -> tuple[float, int, int]:
    function = {"project": _project, "baseline": _baseline}[target]
    return function(*arguments)  # type: ignore[arg-type]


def _bytes_per_row(years: int) -> float:
    """Python memory one row takes while held, each with its own values as a fetch parses them
    (the pages share their template's values; measured on one page)."""
    days = bars_data.trading_days(years)
    template = next(bars_data.pages(bars_data.symbols(10), days, bars_data.shapes(days), size=5000))
    tracemalloc.start()
    page = [
        PriceBarRow(
            str(row.symbol),
            date.fromordinal(row.day.toordinal()),
            *(Decimal(str(value)) for value in (row.open, row.high, row.low, row.close)),
            int(str(row.volume)),
            str(row.adjustment),
        )
        for row in template
    ]
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return held / len(page)


def _empty(database: Database) -> None:
    with database.engine.begin() as connection:
        if database.dialect_name == "postgresql":
            connection.execute(text("TRUNCATE price_bar"))
            connection.execute(text("CHECKPOINT"))
        else:
            connection.execute(text("DELETE FROM price_bar"))


def run(
    workdir: Path, *, count: int = 3000, years: int = 10, sqlite_years: int = 1, repeat: int = 1
) -> list[Figure]:
    figures = []
    with scratch_postgres() as url:
        database = migrated(url)
        project, baseline, reload = [], [], []
        for _ in range(repeat):
            _empty(database)
            baseline.append(_in_child("baseline", url, count, years))
            _empty(database)
            project.append(_in_child("project", url, count, years))
            reload.append(_in_child("project", url, count, years, False))
        database.dispose()
    seconds, rows, peak_kb = sorted(project)[len(project) // 2]
    base_seconds, base_rows, base_peak_kb = sorted(baseline)[len(baseline) // 2]
    assert rows == base_rows, (rows, base_rows)
    ratio = (rows / seconds) / (base_rows / base_seconds)
    held_mb = rows * _bytes_per_row(1) / 2**20
    figures.append(
        Figure(
            id="B7",
            what=f"PostgreSQL: load {years} years of daily bars for {count:,} symbols "
            f"({rows:,} rows) through the price repository, a transaction per page of 10,000",
            value=rows / seconds,
            unit="rows/s",
            baseline=base_rows / base_seconds,
            baseline_what="raw psycopg COPY of the same rows straight into price_bar",
            ratio=ratio,
            target="≥ 0.5× (goal 0.8×)",
            holds=ratio >= 0.5,
            notes=[
                f"peak resident memory {peak_kb / 1024:,.0f} MB through the repository, "
                f"{base_peak_kb / 1024:,.0f} MB for raw COPY (each in a fresh process); "
                f"holding the {rows:,} rows at once would take about {held_mb:,.0f} MB more: "
                "both stream page by page",
                f"{seconds:,.1f} s through the repository, {base_seconds:,.1f} s for raw COPY "
                f"(median of {repeat} repetition(s): each loads {rows:,} rows)",
            ],
        )
    )
    again_seconds, again_rows, again_peak_kb = sorted(reload)[len(reload) // 2]
    again_ratio = (again_rows / again_seconds) / (base_rows / base_seconds)
    figures.append(
        Figure(
            id="B7",
            what=f"PostgreSQL: the same {again_rows:,} bars loaded again through the price "
            "repository (all stored already, none rewritten)",
            value=again_rows / again_seconds,
            unit="rows/s",
            baseline=base_rows / base_seconds,
            baseline_what="raw psycopg COPY of the same rows straight into an empty price_bar",
            ratio=again_ratio,
            target="reported alongside",
            notes=[f"peak resident memory {again_peak_kb / 1024:,.0f} MB"],
        )
    )
    with scratch_sqlite(workdir) as url:
        database = migrated(url)
        lite_seconds, lite_rows, lite_peak = _in_child("project", url, count, sqlite_years)
        database.dispose()
    figures.append(
        Figure(
            id="B7",
            what=f"SQLite: load {sqlite_years} year(s) of daily bars for {count:,} symbols "
            f"({lite_rows:,} rows) through the price repository",
            value=lite_rows / lite_seconds,
            unit="rows/s",
            target="reported alongside",
            notes=[f"peak resident memory {lite_peak / 1024:,.0f} MB"],
        )
    )
    return figures
