"""A backtest's files: its fills and daily equity as CSV, and one self-contained HTML report;
and its metrics as a plain-text table for the terminal.

The CSV files give every figure the backtest produced exactly as it stands (no rounding), so a
spreadsheet re-adds them to the cent; only the benchmark's value, a quotient, is rounded to the
cent. The HTML report needs nothing but itself: the dashboard's stylesheet is inlined and the
equity curve is the dashboard's own inline SVG (`web.charts.equity_curve`), so it opens offline
and can be mailed or archived as one file. Every text in it is escaped (autoescaping).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from trading_automation.backtest.attribution import OPEN
from trading_automation.backtest.labels import metric_rows
from trading_automation.backtest.metrics import (
    Metrics,
    benchmark_values,
    drawdowns,
    value_series,
)
from trading_automation.backtest.result import BacktestResult, Skip
from trading_automation.domain.enums import CloseCause, OrderSide
from trading_automation.domain.money import cents
from trading_automation.errors import InvalidArgumentError
from trading_automation.web import charts
from trading_automation.web.formatting import FILTERS, exit_cause

TRADES_CSV = "trades.csv"
EQUITY_CSV = "equity.csv"
REPORT_HTML = "report.html"

TRADE_COLUMNS = (
    "day",
    "symbol",
    "side",
    "quantity",
    "price",
    "amount",
    "lot",
    "member",
    "party",
    "chamber",
    "cause",
    "reason",
)
EQUITY_COLUMNS = (
    "day",
    "cash",
    "market_value",
    "equity",
    "drawdown",
    "benchmark_close",
    "benchmark_value",
)
_TABLE_TITLES = {
    "member": "member",
    "party": "party",
    "chamber": "chamber",
    "exit_cause": "exit cause",
}


@dataclass(frozen=True)
class ReportFiles:
    """Where the report's three files were written."""

    trades: Path
    equity: Path
    html: Path


def write_reports(
    result: BacktestResult,
    directory: Path,
    *,
    metrics: Metrics,
    benchmark_metrics: Metrics,
    attribution: Mapping[str, Sequence[Mapping[str, str | int]]],
) -> ReportFiles:
    """Write trades.csv, equity.csv and report.html into `directory` (created when missing,
    files in it replaced)."""
    written = ReportFiles(
        trades=directory / TRADES_CSV,
        equity=directory / EQUITY_CSV,
        html=directory / REPORT_HTML,
    )
    html = render_html(
        result,
        metrics=metrics,
        benchmark_metrics=benchmark_metrics,
        attribution=attribution,
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_csv(written.trades, TRADE_COLUMNS, _trade_rows(result))
        _write_csv(written.equity, EQUITY_COLUMNS, _equity_rows(result))
        written.html.write_text(html, encoding="utf-8")
    except OSError as error:
        raise InvalidArgumentError(
            f"cannot write the backtest's report into {directory}: {error.strerror or error}"
        ) from None
    return written


def render_html(
    result: BacktestResult,
    *,
    metrics: Metrics,
    benchmark_metrics: Metrics,
    attribution: Mapping[str, Sequence[Mapping[str, str | int]]],
) -> str:
    """The self-contained HTML report."""
    params = result.params
    # The drawdown from the highest value so far, the capital included (as the metrics).
    falls = drawdowns(value_series(result))[1:]
    points = [(day.day, day.equity, fall) for day, fall in zip(result.equity, falls, strict=True)]
    held = [None if value is None else cents(value) for value in benchmark_values(result)]
    sides = Counter(fill.side for fill in result.fills)
    context: dict[str, Any] = {
        "css": Markup(_stylesheet()),  # noqa: S704 - the package's own stylesheet
        "params": params,
        "days": len(result.equity),
        "risk_free": _percent(params.risk_free_rate),
        "benchmark": result.benchmark,
        "strategy_sha256": result.strategy_sha256,
        "final_equity": result.final_equity,
        "fills": len(result.fills),
        "buys": sides[OrderSide.BUY],
        "sells": sides[OrderSide.SELL],
        "lots_closed": len({part.lot for part in result.closed} - _open_lots(result)),
        "lots_open": len(_open_lots(result)),
        "skips_total": len(result.skips),
        "sales_without_lot": result.sales_without_lot,
        "chart": charts.equity_curve(
            points,
            held,
            result.benchmark,
            "bought with the capital at its first close in the period and held",
        ),
        "metric_rows": metric_rows(metrics, benchmark_metrics),
        "tables": [
            {"key": key, "title": title, "rows": _attribution_rows(key, attribution.get(key, ()))}
            for key, title in _TABLE_TITLES.items()
        ],
        "skips": _skips_by_rule(result.skips),
    }
    return _environment().get_template(REPORT_HTML).render(context)


def metrics_table(
    metrics: Metrics, benchmark_metrics: Metrics, *, benchmark: str = "Benchmark"
) -> str:
    """The metrics, strategy against benchmark, as aligned plain-text columns."""
    rows = [("Metric", "Strategy", benchmark), *metric_rows(metrics, benchmark_metrics)]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        f"{label:<{widths[0]}}  {ours:>{widths[1]}}  {theirs:>{widths[2]}}"
        for label, ours, theirs in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def _trade_rows(result: BacktestResult) -> list[list[str]]:
    return [
        [
            fill.day.isoformat(),
            fill.symbol,
            fill.side.value,
            _exact(fill.quantity),
            _exact(fill.price),
            _exact(fill.amount),
            str(fill.lot),
            fill.who.member,
            fill.who.party,
            fill.who.chamber,
            fill.cause.value if fill.cause is not None else "",
            fill.reason,
        ]
        for fill in result.fills
    ]


def _equity_rows(result: BacktestResult) -> list[list[str]]:
    falls = drawdowns(value_series(result))[1:]
    held = benchmark_values(result)
    return [
        [
            day.day.isoformat(),
            _exact(day.cash),
            _exact(day.market_value),
            _exact(day.equity),
            _exact(fall),
            "" if day.benchmark_close is None else _exact(day.benchmark_close),
            "" if value is None else str(cents(value)),
        ]
        for day, fall, value in zip(result.equity, falls, held, strict=True)
    ]


def _exact(value: Decimal) -> str:
    """A decimal with all its digits and never an exponent (`1E+2` reads as text in sheets)."""
    return format(value, "f")


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _open_lots(result: BacktestResult) -> set[int]:
    return {position.lot for position in result.open_lots}


def _attribution_rows(key: str, rows: Sequence[Mapping[str, str | int]]) -> list[dict[str, Any]]:
    """The rows with their money as decimals (for the filters) and causes in words."""
    return [
        {
            "name": _cause_name(str(row["name"])) if key == "exit_cause" else row["name"],
            "lots": row["lots"],
            "realized": Decimal(str(row["realized"])),
            "unrealized": Decimal(str(row["unrealized"])),
            "pnl": Decimal(str(row["pnl"])),
        }
        for row in rows
    ]


def _cause_name(name: str) -> str:
    if name in CloseCause.__members__:
        return exit_cause(CloseCause(name))
    return "still open" if name == OPEN else name


def _skips_by_rule(skips: Sequence[Skip]) -> list[dict[str, Any]]:
    """One row per rule, the most frequent first, with the first skip's reason as example."""
    counts = Counter(skip.rule for skip in skips)
    example: dict[str, str] = {}
    for skip in skips:
        example.setdefault(skip.rule, skip.reason)
    return [
        {"rule": rule, "count": count, "example": example[rule]}
        for rule, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _stylesheet() -> str:
    return (files("trading_automation.web") / "static" / "style.css").read_text(encoding="utf-8")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("trading_automation.backtest", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    return environment
