"""What the Backtests pages show: the stored runs, and one run's settings, equity curve against
its benchmark, metrics and attribution, as plain dataclasses.

The same objects feed the templates and the JSON API, so a page and its `/api/` twin never
disagree. The curve is worked out exactly from the stored closes (cash + market value, to the
cent) and rounded to the cent only here; the metrics are shown as `backtest.labels` formats them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from trading_automation.backtest.labels import format_metric, metric_rows
from trading_automation.backtest.metrics import drawdowns, held_benchmark
from trading_automation.backtest.result import EquityDay
from trading_automation.db.repositories.backtests import BacktestDetail, BacktestSummary
from trading_automation.domain.enums import CloseCause
from trading_automation.domain.money import cents
from trading_automation.web.formatting import exit_cause
from trading_automation.web.jsonout import DOCUMENT
from trading_automation.web.pnl import percent

# The attribution tables, in the order shown: (key in the stored attribution, heading).
ATTRIBUTION_TABLES = (
    ("member", "By member"),
    ("party", "By party"),
    ("chamber", "By chamber"),
    ("exit_cause", "By exit cause"),
)


@dataclass(frozen=True)
class BacktestRow:
    """A run in the list: when, over which period, with how much, and how it went."""

    id: uuid.UUID
    created_at: datetime
    period_from: date
    period_to: date
    capital: Decimal
    final_equity: Decimal
    total_return: float | int | None
    sharpe: float | int | None
    max_drawdown: float | int | None
    # The three metrics as the page shows them.
    total_return_shown: str
    sharpe_shown: str
    max_drawdown_shown: str
    strategy_sha256: str
    fills: int


@dataclass(frozen=True)
class CurvePoint:
    """One close: the run's equity, its drawdown from the highest equity so far (the capital
    to start with; dollars, <= 0), and the benchmark held (None before its first close)."""

    day: date
    equity: Decimal
    drawdown: Decimal
    benchmark: Decimal | None


@dataclass(frozen=True)
class MetricRow:
    """A metric as shown: its label, the run's value, the benchmark's."""

    label: str
    strategy: str
    benchmark: str


@dataclass(frozen=True)
class AttributionRow:
    """One member's, party's, chamber's or exit cause's share of the P&L (None: not a number
    in the stored row)."""

    name: str
    label: str
    realized: Decimal | None
    unrealized: Decimal | None
    pnl: Decimal | None
    lots: int | None


@dataclass(frozen=True)
class AttributionTable:
    """One attribution table: its key in the stored attribution, its heading, its rows."""

    key: str
    title: str
    rows: list[AttributionRow]


@dataclass(frozen=True)
class BacktestView:
    """/backtests/{id}: one run, everything it was stored with, laid out for reading."""

    id: uuid.UUID
    created_at: datetime
    period_from: date
    period_to: date
    capital: Decimal
    slippage_bps: Decimal
    risk_free_rate: Decimal
    benchmark: str
    strategy_sha256: str
    strategy: dict[str, Any] = field(metadata=DOCUMENT)
    parameters: dict[str, Any] = field(metadata=DOCUMENT)
    final_equity: Decimal
    change: Decimal
    change_pct: Decimal | None
    # The benchmark held over the same closes: its last value and change (None without a close).
    benchmark_final: Decimal | None
    benchmark_change: Decimal | None
    benchmark_change_pct: Decimal | None
    # The deepest drawdown of the curve, in dollars (<= 0).
    max_drawdown: Decimal
    fills: int
    skips: int
    metrics: dict[str, float | int | None]
    benchmark_metrics: dict[str, float | int | None]
    metric_rows: list[MetricRow]
    attribution: list[AttributionTable]
    curve: list[CurvePoint]


def backtest_row(run: BacktestSummary) -> BacktestRow:
    """A stored run as the list shows it."""
    return BacktestRow(
        id=run.id,
        created_at=run.created_at,
        period_from=run.period_from,
        period_to=run.period_to,
        capital=run.capital,
        final_equity=run.final_equity,
        total_return=run.total_return,
        sharpe=run.sharpe,
        max_drawdown=run.max_drawdown,
        total_return_shown=format_metric(run.total_return, "pct"),
        sharpe_shown=format_metric(run.sharpe, "ratio"),
        max_drawdown_shown=format_metric(run.max_drawdown, "pct"),
        strategy_sha256=run.strategy_sha256,
        fills=run.fills,
    )


def backtest_view(run: BacktestDetail) -> BacktestView:
    """A stored run as its page shows it."""
    curve = equity_points(run.days, run.capital)
    held = curve[-1].benchmark if curve else None
    return BacktestView(
        id=run.id,
        created_at=run.created_at,
        period_from=run.period_from,
        period_to=run.period_to,
        capital=run.capital,
        slippage_bps=run.slippage_bps,
        risk_free_rate=run.risk_free_rate,
        benchmark=run.benchmark,
        strategy_sha256=run.strategy_sha256,
        strategy=run.strategy_json,
        parameters=run.parameters,
        final_equity=run.final_equity,
        change=run.final_equity - run.capital,
        change_pct=percent(run.final_equity - run.capital, run.capital),
        benchmark_final=held,
        benchmark_change=held - run.capital if held is not None else None,
        benchmark_change_pct=percent(held - run.capital, run.capital) if held is not None else None,
        max_drawdown=min((point.drawdown for point in curve), default=Decimal("0.00")),
        fills=run.fills,
        skips=run.skips,
        metrics=run.metrics,
        benchmark_metrics=run.benchmark_metrics,
        metric_rows=[MetricRow(*row) for row in metric_rows(run.metrics, run.benchmark_metrics)],
        attribution=attribution_tables(run.attribution),
        curve=curve,
    )


def equity_points(days: Sequence[EquityDay], capital: Decimal) -> list[CurvePoint]:
    """The run's equity at each close with its drawdown (from the capital on), and the benchmark
    bought with the capital at its first close in the run and held (the report's own rules)."""
    equities = [day.equity for day in days]
    falls = drawdowns([capital, *equities])[1:]
    held = held_benchmark(days, capital)
    return [
        CurvePoint(
            day.day,
            cents(equity),
            cents(fall),
            None if benchmark is None else cents(benchmark),
        )
        for day, equity, fall, benchmark in zip(days, equities, falls, held, strict=True)
    ]


def chart_series(
    curve: Sequence[CurvePoint],
) -> tuple[list[tuple[date, Decimal, Decimal]], list[Decimal | None]]:
    """`charts.equity_curve`'s arguments: (day, equity, drawdown) and the benchmark's values."""
    return (
        [(point.day, point.equity, point.drawdown) for point in curve],
        [point.benchmark for point in curve],
    )


def attribution_tables(attribution: Mapping[str, Any]) -> list[AttributionTable]:
    """The stored attribution as tables, in `ATTRIBUTION_TABLES`' order (a table missing from
    the stored document is shown empty)."""
    tables = []
    for key, title in ATTRIBUTION_TABLES:
        stored = attribution.get(key)
        rows = stored if isinstance(stored, list) else []
        tables.append(
            AttributionTable(
                key, title, [_attribution_row(key, row) for row in rows if isinstance(row, dict)]
            )
        )
    return tables


def _attribution_row(key: str, row: Mapping[str, Any]) -> AttributionRow:
    name = str(row.get("name", ""))
    label = name
    if key == "exit_cause" and name in CloseCause.__members__:
        label = exit_cause(CloseCause(name))
    lots = row.get("lots")
    return AttributionRow(
        name=name,
        label=label,
        realized=_money(row.get("realized")),
        unrealized=_money(row.get("unrealized")),
        pnl=_money(row.get("pnl")),
        lots=lots if isinstance(lots, int) and not isinstance(lots, bool) else None,
    )


def _money(value: object) -> Decimal | None:
    """A stored amount (a decimal string, or a number) to the cent; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return cents(amount) if amount.is_finite() else None
