"""One backtest or a sweep of them, from the database to stored runs: what the command runs.

`run_backtests` loads the period's history once, replays every variant (one, or a sweep's grid),
works out each one's metrics and attribution, and stores each run in `backtest_run` with its
daily equity, so the dashboard's Backtests page shows it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trading_automation.backtest.history import History, load_history
from trading_automation.backtest.result import BacktestResult, Params
from trading_automation.backtest.sweep import Variant, evaluate, evaluate_with_trades, run_sweep
from trading_automation.errors import TradingAutomationError

if TYPE_CHECKING:
    from trading_automation.db import Database

Metrics = dict[str, float | int | None]


class NoHistoryError(TradingAutomationError):
    """The database holds no daily bars for the period: fetch them first."""

    exit_code = 2


@dataclass(frozen=True)
class Outcome:
    """One replayed variant: its result, metrics (the benchmark's too), attribution, and the id
    of its stored run."""

    variant: Variant
    result: BacktestResult
    metrics: Metrics
    benchmark: Metrics
    attribution: dict[str, list[dict[str, str | int]]]
    run_id: uuid.UUID

    def skips_by_rule(self) -> Counter[str]:
        return Counter(skip.rule for skip in self.result.skips)


def load_period(database: Database, params: Params) -> History:
    """The history of the period; `NoHistoryError` when it holds no bar at all."""
    history = load_history(database, params.start, params.end)
    if not history.sessions:
        raise NoHistoryError(
            f"no daily bars are stored from {params.start} to {params.end}: run "
            f"`trading-automation history prices --from {params.start}` first"
        )
    return history


def run_backtests(
    database: Database,
    history: History,
    grid: Sequence[Variant],
    params: Params,
    *,
    now: Callable[[], datetime],
    workers: int = 1,
    dask_scheduler: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> list[Outcome]:
    """Replay every variant of `grid` over `history` and store each run (see the module
    docstring); outcomes in the grid's order. A single run keeps its fills, closes and skips (for
    its report files); a sweep's runs keep their figures and equity only."""
    task = evaluate_with_trades if len(grid) == 1 else evaluate
    evaluations = run_sweep(
        history, grid, params, task, workers=workers, dask_scheduler=dask_scheduler
    )
    outcomes = []
    for variant, found in zip(grid, evaluations, strict=True):
        extra = dict(parameters or {})
        if variant.overrides:
            extra["sweep"] = {key: _jsonable(value) for key, value in variant.overrides}
        with database.transaction() as uow:
            run_id = uow.backtests.save(
                found.result,
                metrics=found.metrics,
                benchmark_metrics=found.benchmark,
                attribution=found.attribution,
                strategy_json=variant.strategy.model_dump(mode="json"),
                parameters=extra,
                created_at=now(),
            )
        outcomes.append(
            Outcome(
                variant, found.result, found.metrics, found.benchmark, found.attribution, run_id
            )
        )
    return outcomes


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)
