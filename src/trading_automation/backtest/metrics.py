"""The backtest's figures: how the strategy did, and how its benchmark did bought and held.

The result's money is exact (Decimal); the values' ratios are taken exactly and become floats
only here, at the boundary, because every figure below is a statistic. The definitions, for a
result whose equity has n closes:

- Values: V_0 = the capital, then V_1 … V_n the equity at each close (`EquityDay.equity`).
  Daily returns r_t = V_t / V_(t-1) - 1, t = 1 … n (0 after a value of 0 or less, which buys
  from cash never reach). A year is 252 trading days.
- total_return = V_n / V_0 - 1 (0 without closes).
- cagr = (V_n / V_0)^(252/n) - 1; None when n = 0, or when too large for a float (a few days
  of large gains); -1 when everything is lost.
- volatility = the sample standard deviation (n - 1 in the denominator) of r, * sqrt(252);
  None with fewer than 2 returns.
- rf_d, the daily risk-free rate = (1 + params.risk_free_rate)^(1/252) - 1; x_t = r_t - rf_d.
- sharpe = mean(x) / stdev(x) * sqrt(252), the sample standard deviation; None with fewer than
  2 returns or when it is 0.
- sortino = mean(x) / sqrt(mean(min(0, x_t)^2)) * sqrt(252), the mean over all n returns;
  None when no x_t is below 0.
- max_drawdown = the largest fall from the highest value so far, max over t of
  (peak_t - V_t) / peak_t with peak_t = max(V_0 … V_t), as a fraction ≥ 0 (0 when the values
  never fall). The first of equal falls counts.
- max_drawdown_days = that fall's length in trading days: from the day of its peak (the last
  value at the peak's level before the trough; V_0 is day 0) to the first day after the trough
  whose value is back at or above the peak, or to the last day when it never is. 0 without a
  fall.
- win_rate = the share of the lots fully closed (their `ClosedPart`s grouped by lot; a lot
  still in `open_lots` is not fully closed) whose parts' P&L sums to more than 0; None when no
  lot is fully closed.
- avg_holding_days = the mean, over those lots, of the `held_days` of the lot's last part (the
  latest `closed`; the later in the list of equal days); None when no lot is fully closed.
- turnover = (the sum of the fills' amounts / 2) / the mean equity over the n closes / (n/252)
  years: the share of the average equity bought and sold again in a year. None when n = 0 or
  the mean equity is 0 or less.
- exposure = the mean, over the n closes, of market_value / equity (0 at a close with no
  equity); None when n = 0.
- trades = the number of fills.
- alpha, beta: the ordinary least-squares line of x_t on the benchmark's y_t = r_b,t - rf_d
  over the days t when both exist (the benchmark's return exists from the close after it is
  bought): beta = cov(x, y) / var(y), both sample (n - 1); alpha = (mean(x) - beta * mean(y))
  * 252, a yearly rate. None with fewer than 2 such days or when var(y) = 0.

The benchmark (`result.benchmark`, normally SPY) is bought with the capital at the first close
that has its close, and held: its value at a later close is capital * close / that first close,
a close it lacks (or of 0 or less) carrying the last one. Its figures use the same definitions
on the values V_0 = capital, then at each close its value, or the capital (cash waiting) before
it is bought, so the period and n are the strategy's. Its trades are 1; its exposure is the
share of closes from the purchase on (1 when the first close has a benchmark close); win_rate,
avg_holding_days and turnover are None; alpha is 0 and beta 1 (the benchmark against itself)
when its own returns define them as above, None otherwise. Without any benchmark close in the
period every benchmark figure is None, and so are the strategy's alpha and beta.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise

from trading_automation.backtest.labels import METRIC_KEYS
from trading_automation.backtest.result import BacktestResult, ClosedPart, EquityDay
from trading_automation.domain.money import EXACT, exact_sum
from trading_automation.errors import InvalidValueError

TRADING_DAYS = 252
_ROOT_YEAR = math.sqrt(TRADING_DAYS)

Metrics = dict[str, float | int | None]


def value_series(result: BacktestResult) -> list[Decimal]:
    """V_0 = the capital, then the equity at each close."""
    return [result.params.capital, *(day.equity for day in result.equity)]


def benchmark_values(result: BacktestResult) -> list[Decimal | None]:
    """The benchmark's value at each close (see `held_benchmark`)."""
    return held_benchmark(result.equity, result.params.capital)


def held_benchmark(days: Sequence[EquityDay], capital: Decimal) -> list[Decimal | None]:
    """The benchmark's value at each of `days`' closes: `capital` at the first close with a
    benchmark close, then scaled by its close (the last known one on days without); None before
    that."""
    values: list[Decimal | None] = []
    first: Decimal | None = None
    last: Decimal | None = None
    for day in days:
        if day.benchmark_close is not None and day.benchmark_close > 0:
            last = day.benchmark_close
            if first is None:
                first = last
        if first is None or last is None:
            values.append(None)
        else:
            values.append(EXACT.divide(EXACT.multiply(capital, last), first))
    return values


def drawdowns(values: Sequence[Decimal]) -> list[Decimal]:
    """Each value less the highest value up to it (in money, ≤ 0), exactly."""
    result: list[Decimal] = []
    peak: Decimal | None = None
    for value in values:
        peak = value if peak is None else max(peak, value)
        result.append(EXACT.subtract(value, peak))
    return result


def strategy_metrics(result: BacktestResult) -> Metrics:
    """The strategy's figures, keyed as `labels.METRIC_KEYS` (see the module's definitions)."""
    values = value_series(result)
    returns = _returns(values)
    rf_daily = daily_risk_free(result.params.risk_free_rate)
    figures = _return_figures(values, returns, rf_daily)
    figures.update(_lot_figures(result))
    n = len(result.equity)
    figures["turnover"] = _turnover(result)
    figures["exposure"] = (
        statistics.fmean(
            float(EXACT.divide(day.market_value, day.equity)) if day.equity > 0 else 0.0
            for day in result.equity
        )
        if n
        else None
    )
    figures["trades"] = len(result.fills)
    alpha, beta = _alpha_beta(returns, _benchmark_returns(result), rf_daily)
    figures["alpha"], figures["beta"] = alpha, beta
    return {key: figures[key] for key in METRIC_KEYS}


def benchmark_metrics(result: BacktestResult) -> Metrics:
    """The benchmark's figures, bought with the capital and held (see the module's
    definitions); every one None when the period has no benchmark close."""
    held = benchmark_values(result)
    if all(value is None for value in held):
        return dict.fromkeys(METRIC_KEYS)
    capital = result.params.capital
    values = [capital, *(capital if value is None else value for value in held)]
    returns = _returns(values)
    rf_daily = daily_risk_free(result.params.risk_free_rate)
    figures = _return_figures(values, returns, rf_daily)
    own = _benchmark_returns(result)
    defined = _alpha_beta(own, own, rf_daily) != (None, None)
    figures.update(
        win_rate=None,
        avg_holding_days=None,
        turnover=None,
        exposure=statistics.fmean(0.0 if value is None else 1.0 for value in held),
        trades=1,
        alpha=0.0 if defined else None,
        beta=1.0 if defined else None,
    )
    return {key: figures[key] for key in METRIC_KEYS}


def daily_risk_free(yearly: Decimal) -> float:
    """The daily rate that compounds to `yearly` over 252 trading days."""
    if not (yearly.is_finite() and yearly > -1):
        raise InvalidValueError("risk_free_rate", f"must be more than -1 (-100%), not {yearly}")
    return math.expm1(math.log1p(float(yearly)) / TRADING_DAYS)


def _returns(values: Sequence[Decimal]) -> list[float]:
    return [
        float(EXACT.subtract(EXACT.divide(value, before), 1)) if before > 0 else 0.0
        for before, value in pairwise(values)
    ]


def _benchmark_returns(result: BacktestResult) -> list[float | None]:
    """The benchmark's return at each close (aligned with the strategy's returns); None until
    the close after it is bought."""
    held: list[Decimal | None] = [None, *benchmark_values(result)]
    return [
        None
        if before is None or value is None
        else float(EXACT.subtract(EXACT.divide(value, before), 1))
        for before, value in pairwise(held)
    ]


def _return_figures(
    values: Sequence[Decimal], returns: Sequence[float], rf_daily: float
) -> Metrics:
    first, last = values[0], values[-1]
    n = len(returns)
    excess = [r - rf_daily for r in returns]
    depth, length = max_drawdown(values)
    return {
        "total_return": float(EXACT.subtract(EXACT.divide(last, first), 1)),
        "cagr": _cagr(EXACT.divide(last, first), n),
        "volatility": statistics.stdev(returns) * _ROOT_YEAR if n >= 2 else None,
        "sharpe": _sharpe(excess),
        "sortino": _sortino(excess),
        "max_drawdown": float(depth),
        "max_drawdown_days": length,
    }


def _cagr(growth: Decimal, n: int) -> float | None:
    if n == 0:
        return None
    if growth <= 0:
        return -1.0
    try:
        yearly = float(growth) ** (TRADING_DAYS / n) - 1
    except OverflowError:
        return None
    return yearly if math.isfinite(yearly) else None


def _sharpe(excess: Sequence[float]) -> float | None:
    if len(excess) < 2:
        return None
    deviation = statistics.stdev(excess)
    if deviation == 0:
        return None
    return statistics.fmean(excess) / deviation * _ROOT_YEAR


def _sortino(excess: Sequence[float]) -> float | None:
    if not excess:
        return None
    downside = math.sqrt(statistics.fmean(min(0.0, x) ** 2 for x in excess))
    if downside == 0:
        return None
    return statistics.fmean(excess) / downside * _ROOT_YEAR


def max_drawdown(values: Sequence[Decimal]) -> tuple[Decimal, int]:
    """The largest fall from a running peak, as a fraction of the peak, and its episode's
    length in trading days (see the module's definitions); (0, 0) without a fall."""
    peak_at = 0
    deepest = Decimal(0)
    episode: tuple[int, int] | None = None
    for index, value in enumerate(values):
        if value >= values[peak_at]:
            peak_at = index
            continue
        depth = EXACT.divide(EXACT.subtract(values[peak_at], value), values[peak_at])
        if depth > deepest:
            deepest, episode = depth, (peak_at, index)
    if episode is None:
        return Decimal(0), 0
    peak_at, trough = episode
    recovered = next(
        (day for day in range(trough + 1, len(values)) if values[day] >= values[peak_at]),
        len(values) - 1,
    )
    return deepest, recovered - peak_at


def _lot_figures(result: BacktestResult) -> Metrics:
    """win_rate and avg_holding_days over the lots fully closed."""
    still_open = {position.lot for position in result.open_lots}
    parts: dict[int, list[ClosedPart]] = {}
    for part in result.closed:
        if part.lot not in still_open:
            parts.setdefault(part.lot, []).append(part)
    if not parts:
        return {"win_rate": None, "avg_holding_days": None}
    wins = sum(1 for lot in parts.values() if exact_sum(part.pnl for part in lot) > 0)
    held = [_last(lot).held_days for lot in parts.values()]
    return {"win_rate": wins / len(parts), "avg_holding_days": statistics.fmean(held)}


def _last(parts: Sequence[ClosedPart]) -> ClosedPart:
    """The part closed last (the later in the list of parts closed the same day)."""
    return max(enumerate(parts), key=lambda item: (item[1].closed, item[0]))[1]


def _turnover(result: BacktestResult) -> float | None:
    n = len(result.equity)
    if n == 0:
        return None
    mean_equity = statistics.fmean(float(day.equity) for day in result.equity)
    if mean_equity <= 0:
        return None
    traded = float(exact_sum(abs(fill.amount) for fill in result.fills))
    return traded / 2 / mean_equity / (n / TRADING_DAYS)


def _alpha_beta(
    returns: Sequence[float | None], benchmark: Sequence[float | None], rf_daily: float
) -> tuple[float | None, float | None]:
    pairs = [
        (r - rf_daily, b - rf_daily)
        for r, b in zip(returns, benchmark, strict=True)
        if r is not None and b is not None
    ]
    if len(pairs) < 2:
        return None, None
    xs = [x for x, _y in pairs]
    ys = [y for _x, y in pairs]
    variance = statistics.variance(ys)
    if variance == 0:
        return None, None
    beta = statistics.covariance(xs, ys) / variance
    alpha = (statistics.fmean(xs) - beta * statistics.fmean(ys)) * TRADING_DAYS
    return alpha, beta
