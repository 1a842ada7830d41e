"""B9: the same fixed-dollar, hold-5-sessions strategy over the same synthetic data in the project's
engine and in backtrader, with each side's peak memory.

The data and both setups are the differential test's (`tests.backtrader_support`; how the two
correspond is in `tests/test_backtest_backtrader.py`, which checks that they fill and value alike
to the cent): symbols with a bar every session, and purchases disclosed at a given rate a session.
Each side runs in a fresh process, which builds the same scenario before anything is timed; the
engine is timed on `run_backtest` from an in-memory `History`, backtrader on its whole run from
in-memory feeds (creating Cerebro, adding the feeds, preloading and replaying them), with its
observers off (`stdstats=False`), its fastest setting. Neither side's time includes a database.

The rate of purchases matters: backtrader's time grows with symbols x sessions, the engine's with
the purchases. The main figure uses 2 purchases a session over 200 symbols (one per 100
symbol-sessions; B10's synthetic history has about 22 a session over 3,000 symbols, one per 140);
the same with 10 a session is reported alongside, as are the engine's time with `load_history`
from SQLite and PostgreSQL and the time building the in-memory `History` takes.
"""

from __future__ import annotations

import gc
import multiprocessing
import resource
import statistics
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.backtrader_support import Scenario, backtrader_input, make_scenario, replay_backtrader

from benchmarks.common import Figure, migrated, scratch_postgres, scratch_sqlite
from trading_automation.backtest.engine import run_backtest
from trading_automation.backtest.history import load_history
from trading_automation.backtest.result import Params
from trading_automation.db import Database
from trading_automation.domain.bars import PriceBarRow
from trading_automation.domain.exits import ExitPolicy
from trading_automation.domain.strategy import default_strategy

AMOUNT = Decimal(1000)
HOLD = 5
SLIPPAGE_BPS = Decimal(5)
CAPITAL = Decimal(10_000_000)  # ample: no purchase is skipped for cash on either side
FIRST = date(2024, 1, 2)
STORED_AT = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)


def _scenario(symbols: int, years: int, per_session: int) -> Scenario:
    return make_scenario(
        symbols=symbols,
        start=FIRST,
        end=date(FIRST.year + years - 1, 12, 31),
        per_session=per_session,
    )


def _params(scenario: Scenario) -> Params:
    return Params(scenario.start, scenario.end, capital=CAPITAL, slippage_bps=SLIPPAGE_BPS)


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _engine(symbols: int, years: int, per_session: int, repeat: int) -> dict[str, Any]:
    """The engine's median run from an in-memory History, in this (fresh) process."""
    scenario = _scenario(symbols, years, per_session)
    started = time.perf_counter()
    history = scenario.history()
    built = time.perf_counter() - started
    before = _peak_kb()
    samples = []
    for _ in range(repeat):
        gc.collect()  # each run starts clean of the last one's garbage (untimed)
        started = time.perf_counter()
        result = run_backtest(
            history, default_strategy(AMOUNT), ExitPolicy(max_hold_days=HOLD), _params(scenario)
        )
        samples.append(time.perf_counter() - started)
    return {
        "seconds": statistics.median(samples),
        "built": built,
        "fills": len(result.fills),
        "purchases": len(scenario.purchases),
        "equity": float(result.final_equity),
        "before_kb": before,
        "peak_kb": _peak_kb(),
    }


def _backtrader(symbols: int, years: int, per_session: int, repeat: int) -> dict[str, Any]:
    """Backtrader's median run from in-memory feeds, in this (fresh) process."""
    scenario = _scenario(symbols, years, per_session)
    rows, buys = backtrader_input(scenario)
    before = _peak_kb()
    samples = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run = replay_backtrader(
            rows, buys, amount=AMOUNT, hold=HOLD, slippage_bps=SLIPPAGE_BPS, capital=CAPITAL
        )
        samples.append(time.perf_counter() - started)
    return {
        "seconds": statistics.median(samples),
        "fills": len(run.fills),
        "equity": run.final_equity,
        "before_kb": before,
        "peak_kb": _peak_kb(),
    }


def _store(database: Database, scenario: Scenario) -> None:
    """The scenario's records and bars, stored through the repositories."""
    with database.transaction() as uow:
        uow.feed.store([purchase.record for purchase in scenario.purchases], ingested_at=STORED_AT)
    rows = [
        PriceBarRow(symbol, day, opened, high, low, closed, 1000, "all")
        for symbol, found in scenario.bars.items()
        for day, opened, high, low, closed in found
    ]
    for first in range(0, len(rows), 10_000):
        with database.transaction() as uow:
            uow.prices.store(rows[first : first + 10_000], fetched_at=STORED_AT, expect_new=True)


def _loaded(url: str, symbols: int, years: int, per_session: int, repeat: int) -> dict[str, Any]:
    """The engine's median load_history + run_backtest from the database at `url`."""
    scenario = _scenario(symbols, years, per_session)
    database = migrated(url)
    _store(database, scenario)
    samples, loads = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        history = load_history(database, scenario.start, scenario.end)
        loads.append(time.perf_counter() - started)
        result = run_backtest(
            history, default_strategy(AMOUNT), ExitPolicy(max_hold_days=HOLD), _params(scenario)
        )
        samples.append(time.perf_counter() - started)
    database.dispose()
    return {
        "seconds": statistics.median(samples),
        "load": statistics.median(loads),
        "equity": float(result.final_equity),
        "peak_kb": _peak_kb(),
    }


def _in_child(target: str, *arguments: object) -> dict[str, Any]:
    """Run `target` in a fresh process and return what it returned."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_call, (target, *arguments))
    return result


def _call(target: str, *arguments: Any) -> dict[str, Any]:
    function = {"engine": _engine, "backtrader": _backtrader, "loaded": _loaded}[target]
    return function(*arguments)  # type: ignore[no-any-return]


def _mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:,.0f} MB"


def _compare(
    symbols: int, years: int, per_session: int, repeat: int, *, main: bool
) -> tuple[Figure, dict[str, Any]]:
    runs = max(5, 2 * repeat)  # the engine's runs are short: more of them, the same cost
    ours = _in_child("engine", symbols, years, per_session, runs)
    theirs = _in_child("backtrader", symbols, years, per_session, repeat)
    assert ours["fills"] == theirs["fills"], (ours, theirs)
    assert abs(ours["equity"] - theirs["equity"]) <= 0.01, (ours, theirs)
    ratio = theirs["seconds"] / ours["seconds"]
    what = (
        f"{years} year(s) x {symbols} symbols, {ours['purchases']:,} purchases "
        f"({per_session} a session), $1,000 each, held 5 sessions: {ours['fills']:,} fills"
    )
    figure = Figure(
        id="B9",
        what=f"backtest, engine from an in-memory History: {what}",
        value=ours["seconds"] * 1000,
        unit="ms",
        baseline=theirs["seconds"] * 1000,
        baseline_what="backtrader from in-memory feeds (cheat-on-open, no observers), "
        "the same fills and final equity to the cent",
        ratio=ratio,
        target="≥ 20× faster (goal 50×)" if main else "reported alongside",
        holds=ratio >= 20 if main else None,
        notes=[
            f"{per_session} purchases a session: engine {ours['seconds'] * 1000:,.0f} ms, "
            f"backtrader {theirs['seconds']:,.2f} s (medians; the engine of "
            f"{runs} runs, backtrader of {repeat}); peak resident memory "
            f"{_mb(ours['peak_kb'])} for the engine's process ({_mb(ours['before_kb'])} "
            f"before the replay: the scenario and the History), {_mb(theirs['peak_kb'])} for "
            f"backtrader's ({_mb(theirs['before_kb'])} before), each in a fresh process; "
            f"building the History from the records and bars took "
            f"{ours['built'] * 1000:,.0f} ms",
        ],
    )
    return figure, ours


def run(
    workdir: Path,
    *,
    symbols: int = 200,
    years: int = 2,
    per_session: int = 2,
    dense: int = 10,
    repeat: int = 3,
) -> list[Figure]:
    main, ours = _compare(symbols, years, per_session, repeat, main=True)
    figures = [main]
    baseline = main.baseline
    assert baseline is not None
    for backend in ("sqlite", "postgresql"):
        context = scratch_postgres() if backend == "postgresql" else scratch_sqlite(workdir)
        with context as url:
            loaded = _in_child("loaded", url, symbols, years, per_session, repeat)
        assert loaded["equity"] == ours["equity"], (loaded, ours)
        label = "PostgreSQL" if backend == "postgresql" else "SQLite"
        figures.append(
            Figure(
                id="B9",
                what=f"{label}: the same backtest with load_history from the database",
                value=loaded["seconds"] * 1000,
                unit="ms",
                baseline=baseline,
                baseline_what="backtrader from in-memory feeds (above)",
                ratio=baseline / (loaded["seconds"] * 1000),
                target="reported alongside",
                notes=[
                    f"load_history {loaded['load'] * 1000:,.0f} ms of it (median of {repeat}); "
                    f"peak resident memory {_mb(loaded['peak_kb'])}"
                ],
            )
        )
    if dense:
        figures.append(_compare(symbols, years, dense, repeat, main=False)[0])
    return figures
