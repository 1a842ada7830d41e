"""The backtest's metrics as people read them: their order, labels and formats, shared by the
command's table, the HTML report and the dashboard's Backtests page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Kind = Literal["pct", "ratio", "days", "count"]

# (key in the metrics' JSON, label, how it is shown)
METRICS: tuple[tuple[str, str, Kind], ...] = (
    ("total_return", "Total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("volatility", "Annualised volatility", "pct"),
    ("sharpe", "Sharpe ratio", "ratio"),
    ("sortino", "Sortino ratio", "ratio"),
    ("max_drawdown", "Maximum drawdown", "pct"),
    ("max_drawdown_days", "Maximum drawdown length (trading days)", "days"),
    ("win_rate", "Win rate (closed lots)", "pct"),
    ("avg_holding_days", "Average holding period (trading days)", "days"),
    ("turnover", "Turnover (a year, of average equity)", "ratio"),
    ("exposure", "Exposure (average share of equity invested)", "pct"),
    ("trades", "Trades (fills)", "count"),
    ("alpha", "Alpha (annualised, against the benchmark)", "pct"),
    ("beta", "Beta (against the benchmark)", "ratio"),
)
METRIC_KEYS = tuple(key for key, _label, _kind in METRICS)


def format_metric(value: float | int | None, kind: Kind) -> str:
    """A metric's value as shown: percentages with 2 decimals, ratios with 2, days with 1."""
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "ratio":
        return f"{value:,.2f}"
    if kind == "days":
        return f"{value:,.1f}"
    return f"{int(value):,}"


def metric_rows(
    metrics: Mapping[str, float | int | None], benchmark: Mapping[str, float | int | None]
) -> list[tuple[str, str, str]]:
    """(label, the strategy's value, the benchmark's value) for each metric, in order."""
    return [
        (label, format_metric(metrics.get(key), kind), format_metric(benchmark.get(key), kind))
        for key, label, kind in METRICS
    ]
