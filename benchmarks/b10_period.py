"""B10: a backtest's time and memory as its period grows: 1, 2, 5 and 10 years of 3,000 symbols,
loaded from PostgreSQL and replayed.

The database holds 10 years of daily bars for 3,000 symbols (B7's rows, written with COPY) and the
sandbox's synthetic disclosures over the same years, naming those symbols (about 100,000 records,
stored through the feed repository). Each period ends on the same last session; for each, a fresh
process runs `load_history` and `run_backtest` with $1,000 for every purchase, each lot held 20
sessions, and reports both times and its peak resident memory. The target: 10 years take at most
12 times what 1 year takes (linear growth would be 10 times).
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from benchmarks import bars_data
from benchmarks.common import Figure, libpq, migrated, scratch_postgres, settings_for
from trading_automation.backtest.engine import run_backtest
from trading_automation.backtest.history import load_history
from trading_automation.backtest.result import Params
from trading_automation.db import Database
from trading_automation.domain.exits import ExitPolicy
from trading_automation.domain.strategy import default_strategy
from trading_automation.sandbox import SyntheticDisclosures

STORED_AT = datetime(2024, 6, 20, 22, 0, tzinfo=UTC)
AMOUNT = Decimal(1000)
HOLD = 20
CAPITAL = Decimal(2_000_000)  # ample for about 450 lots held at once
PERIODS = (1, 2, 5, 10)
RECORDS_PER_PAGE = 10_000


def _fill(url: str, names: list[str], years: int, per_day: int) -> int:
    """Bars (COPY) and disclosures (the feed repository) of `years` up to the last session;
    returns the number of records stored."""
    days = bars_data.trading_days(years)
    series = bars_data.shapes(days)
    with psycopg.connect(libpq(url)) as connection, connection.transaction():
        statement = f"COPY price_bar ({', '.join(bars_data.COLUMNS)}) FROM STDIN"
        with connection.cursor().copy(statement) as copy:
            for page in bars_data.pages(names, days, series):
                for row in page:
                    copy.write_row((*row, STORED_AT))
    history = SyntheticDisclosures(
        start=days[0] - timedelta(days=60), end=days[-1], per_day=per_day, tickers=tuple(names)
    )
    database = Database.from_settings(settings_for(url))
    stored, page = 0, []
    for offset in range((history.end - history.start).days + 1):
        page += history.day(history.start + timedelta(days=offset))
        if len(page) >= RECORDS_PER_PAGE:
            stored += _store(database, page)
            page = []
    stored += _store(database, page)
    database.dispose()
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return stored


def _store(database: Database, records: list[dict[str, Any]]) -> int:
    with database.transaction() as uow:
        return uow.feed.store(records, ingested_at=STORED_AT).new


def _period(url: str, years: int) -> dict[str, Any]:
    """load_history + run_backtest of the last `years`, in this (fresh) process."""
    days = bars_data.trading_days(years)
    database = Database.from_settings(settings_for(url))
    started = time.perf_counter()
    history = load_history(database, days[0], days[-1])
    loaded = time.perf_counter() - started
    database.dispose()
    params = Params(days[0], days[-1], capital=CAPITAL, slippage_bps=Decimal(5))
    started = time.perf_counter()
    result = run_backtest(history, default_strategy(AMOUNT), ExitPolicy(max_hold_days=HOLD), params)
    replayed = time.perf_counter() - started
    return {
        "load": loaded,
        "run": replayed,
        "sessions": len(history.sessions),
        "symbols": len(history.bars),
        "bars": sum(len(bars) for bars in history.bars.values()),
        "disclosures": history.disclosures,
        "fills": len(result.fills),
        "skips": len(result.skips),
        "cash_skips": sum(1 for skip in result.skips if skip.rule == "cash"),
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _in_child(url: str, years: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_period, (url, years))
    return result


def run(workdir: Path, *, count: int = 3000, years: int = 10, per_day: int = 37) -> list[Figure]:
    names = [*bars_data.symbols(count), "SPY"]
    periods = [period for period in PERIODS if period <= years]
    with scratch_postgres() as url:
        migrated(url).dispose()
        started = time.perf_counter()
        records = _fill(url, names, max(periods), per_day)
        filled = time.perf_counter() - started
        measured = {period: _in_child(url, period) for period in periods}
    first, last = measured[periods[0]], measured[periods[-1]]
    first_total = first["load"] + first["run"]  # the baseline of every longer period
    figures = []
    for period in periods:
        found = measured[period]
        total = found["load"] + found["run"]
        ratio = total / first_total
        is_last = period == periods[-1] and period > periods[0]
        figures.append(
            Figure(
                id="B10",
                what=f"PostgreSQL: load_history + run_backtest over {period} year(s) of "
                f"{found['symbols'] - 1:,} symbols ({found['bars']:,} bars, "
                f"{found['disclosures']:,} disclosures), $1,000 a purchase held 20 sessions",
                value=total,
                unit="s",
                baseline=first_total if period != periods[0] else None,
                baseline_what=f"the same over {periods[0]} year(s)",
                ratio=ratio if period != periods[0] else None,
                target=f"≤ {1.2 * periods[-1] / periods[0]:g}× the {periods[0]}-year time"
                if is_last
                else "reported",
                holds=ratio <= 1.2 * periods[-1] / periods[0] if is_last else None,
                notes=[
                    f"{period} year(s): load_history {found['load']:,.1f} s, run_backtest "
                    f"{found['run']:,.1f} s over {found['sessions']:,} sessions "
                    f"({found['fills']:,} fills, {found['skips']:,} purchases skipped, "
                    f"{found['cash_skips']} of them for cash); peak resident memory "
                    f"{found['peak_kb'] / 1024:,.0f} MB (a fresh process)"
                ],
            )
        )
    figures[-1].notes.append(
        f"the database: {last['bars']:,} bars written with COPY and {records:,} disclosures "
        f"stored through the feed repository, in {filled:,.0f} s (not timed in the figures)"
    )
    return figures
