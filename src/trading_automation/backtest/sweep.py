"""Sweeps: a grid of strategies replayed over the same loaded history, in parallel.

`parse_sweep("sizing.usd=500,1000")` reads one `--sweep` option (a key of the strategy file and
its values, each read as a TOML value: `500`, `20`, `"house"`); `variants(base, sweeps)` is the
grid, each strategy validated as the strategy file is (an unknown key names the closest known
one). `run_sweep(history, grid, params, task)` runs `task` for every variant (`replay`: the
result; `evaluate`: its metrics and attribution, worked out where it ran): in `workers` processes
on this machine (`concurrent.futures`, the history handed to each process once), or on an
existing Dask cluster (`dask_scheduler`: the history is scattered to its workers once, each
variant is a task). The results come back in the grid's order.
"""

from __future__ import annotations

import difflib
import itertools
import multiprocessing
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from trading_automation.backtest.engine import run_backtest
from trading_automation.backtest.history import History
from trading_automation.backtest.result import BacktestResult, Params
from trading_automation.domain.exits import ExitPolicy
from trading_automation.domain.strategy import Strategy
from trading_automation.errors import InvalidArgumentError
from trading_automation.strategy_file import describe, known_keys

MAX_VARIANTS = 1_000


@dataclass(frozen=True)
class Sweep:
    """One `--sweep KEY=V1,V2,...`: a dotted key of the strategy file and its values."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Variant:
    """One strategy of the grid: the values it sets, the strategy and its exits."""

    overrides: tuple[tuple[str, Any], ...]
    strategy: Strategy
    policy: ExitPolicy

    @property
    def sha256(self) -> str:
        """The hash of the strategy's settings, defaults filled in (as stored with its run)."""
        return self.strategy.sha256

    @property
    def label(self) -> str:
        return " ".join(f"{key}={_shown(value)}" for key, value in self.overrides)


def parse_sweep(option: str) -> Sweep:
    """A `--sweep` option's key and values; `InvalidArgumentError` says what is wrong."""
    key, sep, text = option.partition("=")
    key = key.strip()
    if not sep or not key or not text.strip():
        raise InvalidArgumentError(
            f"--sweep {option!r}: write KEY=V1,V2,... (e.g. sizing.usd=500,1000)"
        )
    leaves = [name for name in known_keys() if "." in name]
    if key not in leaves:
        close = difflib.get_close_matches(key, leaves, 1, 0.6)
        hint = f"did you mean {close[0]}?" if close else "see strategy.example.toml"
        raise InvalidArgumentError(f"--sweep {key}: not a key of the strategy file; {hint}")
    values = tuple(_value(part.strip()) for part in text.split(","))
    if any(value == "" for value in values):
        raise InvalidArgumentError(f"--sweep {option!r}: a value is empty")
    return Sweep(key, values)


def _value(text: str) -> Any:
    """A value as TOML reads it (numbers exactly, as decimals); else the text itself."""
    try:
        return tomllib.loads(f"value = {text}", parse_float=Decimal)["value"]
    except tomllib.TOMLDecodeError:
        return text


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ",".join(_shown(item) for item in value) + "]"
    return str(value)


def variants(
    base: Strategy,
    sweeps: Sequence[Sweep],
    policy_for: Callable[[Strategy], ExitPolicy],
) -> list[Variant]:
    """Every combination of the sweeps' values applied to `base` (the base alone without
    sweeps), each validated; `policy_for` gives a strategy's exits (the file's, else the
    environment's)."""
    keys = [sweep.key for sweep in sweeps]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise InvalidArgumentError(f"--sweep {repeated[0]} is given twice: list its values once")
    grid = list(itertools.product(*(sweep.values for sweep in sweeps)))
    if len(grid) > MAX_VARIANTS:
        raise InvalidArgumentError(
            f"the sweep makes {len(grid):,} strategies, more than {MAX_VARIANTS:,}"
        )
    found = []
    for combination in grid:
        document = base.model_dump(mode="python")
        for key, value in zip(keys, combination, strict=True):
            table, name = key.rsplit(".", 1)
            target = document
            for part in table.split("."):
                target = target[part]
            target[name] = [value] if _is_list(base, key) and not isinstance(value, list) else value
        try:
            strategy = Strategy.model_validate(document)
        except ValidationError as error:
            problem = describe(dict(error.errors(include_url=False)[0]))
            shown = " ".join(
                f"{key}={_shown(value)}" for key, value in zip(keys, combination, strict=True)
            )
            raise InvalidArgumentError(f"--sweep {shown}: {problem}") from None
        found.append(
            Variant(tuple(zip(keys, combination, strict=True)), strategy, policy_for(strategy))
        )
    return found


def _is_list(base: Strategy, key: str) -> bool:
    value: Any = base
    for part in key.split("."):
        value = getattr(value, part)
    return isinstance(value, tuple)


# -- running ---------------------------------------------------------------------------------

T = TypeVar("T")
Task = Callable[[History, Variant, Params], T]

_HISTORY: History | None = None


@dataclass(frozen=True)
class Evaluation:
    """A replayed variant worked out where it ran: its metrics, the benchmark's, its attribution,
    and its result (without the per-trade lists unless asked for: see `BacktestResult.summary`)."""

    result: BacktestResult
    metrics: dict[str, float | int | None]
    benchmark: dict[str, float | int | None]
    attribution: dict[str, list[dict[str, str | int]]]


def replay(history: History, variant: Variant, params: Params) -> BacktestResult:
    """One variant's replay, whole."""
    return run_backtest(history, variant.strategy, variant.policy, params)


def evaluate(history: History, variant: Variant, params: Params) -> Evaluation:
    """One variant's replay with its figures, without its per-trade lists: what a sweep's worker
    sends back (the lists would cost more to send than the figures cost to work out)."""
    return _evaluation(replay(history, variant, params), trades=False)


def evaluate_with_trades(history: History, variant: Variant, params: Params) -> Evaluation:
    """One variant's replay with its figures and every fill, close and skip (for its report)."""
    return _evaluation(replay(history, variant, params), trades=True)


def _evaluation(result: BacktestResult, *, trades: bool) -> Evaluation:
    from trading_automation.backtest.attribution import attribution
    from trading_automation.backtest.metrics import benchmark_metrics, strategy_metrics

    return Evaluation(
        result if trades else result.summary(),
        strategy_metrics(result),
        benchmark_metrics(result),
        attribution(result),
    )


def _hold(history: History) -> None:
    """A worker process's initialiser: keep the history for every variant it runs."""
    global _HISTORY  # noqa: PLW0603 - one history per worker process, set once
    _HISTORY = history


def _run_held(task: Task[T], variant: Variant, params: Params) -> T:
    assert _HISTORY is not None
    return task(_HISTORY, variant, params)


def run_sweep(
    history: History,
    grid: Sequence[Variant],
    params: Params,
    task: Task[T],
    *,
    workers: int = 2,
    dask_scheduler: str | None = None,
) -> list[T]:
    """`task` (`replay`, `evaluate`, …: a module-level function) of every variant, in the grid's
    order (see the module docstring)."""
    if dask_scheduler is not None:
        return _on_dask(history, grid, params, task, dask_scheduler)
    if workers <= 1 or len(grid) <= 1:
        return [task(history, variant, params) for variant in grid]
    # Forked workers inherit the loaded history instead of receiving a copy of it.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(grid)),
        mp_context=context,
        initializer=_hold,
        initargs=(history,),
    ) as pool:
        return list(pool.map(_run_held, itertools.repeat(task), grid, itertools.repeat(params)))


def _on_dask(
    history: History, grid: Sequence[Variant], params: Params, task: Task[T], address: str
) -> list[T]:
    try:
        from distributed import Client
    except ImportError:
        raise InvalidArgumentError(
            "--dask-scheduler needs Dask: pip install 'trading-automation[dask]'"
        ) from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as error:
        raise InvalidArgumentError(
            f"--dask-scheduler {address}: cannot reach the scheduler ({error})"
        ) from None
    with client:
        shared = client.scatter(history, broadcast=True)  # type: ignore[no-untyped-call]
        futures = [client.submit(task, shared, variant, params, pure=False) for variant in grid]
        results: list[T] = client.gather(futures)  # type: ignore[no-untyped-call]
    return results


def sort_key(metric: str, metrics: Mapping[str, float | int | None]) -> tuple[int, float]:
    """Orders results best first by `metric` (lower is better for drawdown and volatility;
    results without the metric last)."""
    value = metrics.get(metric)
    if value is None:
        return (1, 0.0)
    lower_is_better = metric in {"max_drawdown", "max_drawdown_days", "volatility"}
    return (0, float(value) if lower_is_better else -float(value))
