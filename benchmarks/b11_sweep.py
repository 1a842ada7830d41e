"""B11: a sweep of 8 strategies on 2 processes against the same 8 run one by one.

The history is the sandbox's: its synthetic disclosures (purchases and sales of every kind,
amendments, malformed rows) and its synthetic bars for their tickers (splits, a delisting, missing
days), built in memory the way `load_history` builds one from the database. The grid is
`exits.max_hold_days` = 5, 10, 20, 40 x `sizing.usd` = 500, 1000 over the default strategy, run by
`trading_automation.backtest.sweep.run_sweep` with the task `backtest --sweep` runs for each
variant (`evaluate`: the replay, its metrics and attribution, sent back without the per-trade
lists) with `workers=2` (forked processes that inherit the loaded history) and with `workers=1`
(the same variants one after the other in this process).
Both must give the same results; the target is the parallel sweep at least 1.6 times as fast.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from benchmarks.common import Figure
from trading_automation.backtest.history import History, build_history, start_of_day
from trading_automation.backtest.result import Params
from trading_automation.backtest.sweep import (
    Evaluation,
    Sweep,
    Variant,
    evaluate,
    run_sweep,
    variants,
)
from trading_automation.domain.exits import ExitPolicy
from trading_automation.domain.filings import normalize_record
from trading_automation.domain.strategy import Strategy, default_strategy
from trading_automation.sandbox import SyntheticBars, SyntheticDisclosures
from trading_automation.sandbox.history_disclosures import TICKERS

LAST_SESSION = date(2024, 6, 18)
CAPITAL = Decimal(1_000_000)


def _history(years: int, per_day: int) -> History:
    """The sandbox's history of the `years` up to `LAST_SESSION`, as `load_history` builds it."""
    end = LAST_SESSION
    start = end - timedelta(days=365 * years - 1)
    disclosures = SyntheticDisclosures(start=start - timedelta(days=60), end=end, per_day=per_day)
    records = [
        record
        for offset in range((end - disclosures.start).days + 1)
        for record in disclosures.day(disclosures.start + timedelta(days=offset))
    ]
    filings = [normalize_record(record) for record in records]
    published = sorted(
        ((filing.published_at, filing) for filing in filings if filing.published_at is not None),
        key=lambda item: (item[0], item[1].row_hash),
    )
    begins = start_of_day(start)
    known = [
        (filing.transaction_key, filing.filing_date)
        for when, filing in published
        if when <= begins and filing.transaction_key is not None
    ]
    generator = SyntheticBars()
    bars = [
        (symbol, bar.day, Decimal(f"{bar.open:.4f}"), Decimal(f"{bar.close:.4f}"))
        for symbol in sorted({*TICKERS, "SPY"})
        for bar in generator.bars(symbol, start, end, adjustment="all", today=end)
    ]
    inside = [(when, filing) for when, filing in published if when > begins]
    return build_history(start, end, inside, bars, known_transactions=known)


def _grid() -> list[Variant]:
    sweeps = [Sweep("exits.max_hold_days", (5, 10, 20, 40)), Sweep("sizing.usd", (500, 1000))]
    return variants(default_strategy(Decimal(1000)), sweeps, _policy)


def _policy(strategy: Strategy) -> ExitPolicy:
    return ExitPolicy(max_hold_days=strategy.exits.max_hold_days)


def _fingerprint(results: list[Evaluation]) -> list[tuple[Decimal, int, object]]:
    return [(e.result.final_equity, e.result.fill_count, e.metrics) for e in results]


def run(workdir: Path, *, years: int = 2, per_day: int = 40, repeat: int = 3) -> list[Figure]:
    history = _history(years, per_day)
    grid = _grid()
    params = Params(history.start, history.end, capital=CAPITAL)
    one_by_one, parallel = [], []
    expected: list[tuple[Decimal, int, object]] = []
    for _ in range(repeat):
        gc.collect()  # each sweep starts clean of the last one's garbage (untimed)
        started = time.perf_counter()
        alone = run_sweep(history, grid, params, evaluate, workers=1)
        one_by_one.append(time.perf_counter() - started)
        expected = _fingerprint(alone)
        del alone
        gc.collect()
        started = time.perf_counter()
        together = run_sweep(history, grid, params, evaluate, workers=2)
        parallel.append(time.perf_counter() - started)
        assert _fingerprint(together) == expected, "the parallel sweep gave other results"
        del together
    sequential_s, parallel_s = statistics.median(one_by_one), statistics.median(parallel)
    ratio = sequential_s / parallel_s
    fills = sum(count for _equity, count, _metrics in expected)
    return [
        Figure(
            id="B11",
            what=f"a sweep of {len(grid)} strategies (exits.max_hold_days x sizing.usd) over "
            f"{years} years of the sandbox's history ({history.disclosures:,} disclosures, "
            f"{len(history.sessions)} sessions), run_sweep on 2 processes",
            value=parallel_s,
            unit="s",
            baseline=sequential_s,
            baseline_what="the same 8 run one by one (run_sweep, evaluate, workers=1)",
            ratio=ratio,
            target="≥ 1.6× faster",
            holds=ratio >= 1.6,
            notes=[
                f"{parallel_s:,.2f} s on 2 processes, {sequential_s:,.2f} s one by one (medians "
                f"of {repeat}, alternating; {fills:,} fills in all, the same on both ways); "
                f"{os.cpu_count()} CPUs on this machine",
            ],
        )
    ]
