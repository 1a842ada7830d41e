"""Backtest runs: stored when a run ends, listed and shown by the dashboard, deleted on request.

A run's equity is stored to the cent: its cash rounded half-up, and its market value as the rest
of the equity rounded to the cent, so that cash + market value is the run's equity at that close
as a person reads it (the metrics were computed from the exact values before). The metrics are
statistics in floats; the JSON columns give them back as floats, equal to those stored.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from trading_automation.backtest.result import BacktestResult, EquityDay
from trading_automation.db.backtest_models import BacktestEquity, BacktestRun
from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.money import cents
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.domain.trade_rules import PRICE_DIGITS
from trading_automation.errors import InvalidValueError

MetricValue = float | int | None
Metrics = dict[str, MetricValue]
MAX_LISTING = 1000
_EQUITY = cast(Table, BacktestEquity.__table__)


@dataclass(frozen=True)
class BacktestSummary:
    """A stored run as the list of runs shows it: the headline metrics (None when the metric
    could not be computed, or was not stored)."""

    id: uuid.UUID
    created_at: datetime
    period_from: date
    period_to: date
    capital: Decimal
    final_equity: Decimal
    total_return: MetricValue
    sharpe: MetricValue
    max_drawdown: MetricValue
    strategy_sha256: str
    fills: int


@dataclass(frozen=True)
class BacktestDetail:
    """A stored run with everything it was stored with, and its equity at each close, oldest
    first."""

    id: uuid.UUID
    created_at: datetime
    period_from: date
    period_to: date
    capital: Decimal
    slippage_bps: Decimal
    risk_free_rate: Decimal
    strategy_sha256: str
    strategy_json: dict[str, Any]
    parameters: dict[str, Any]
    benchmark: str
    final_equity: Decimal
    metrics: Metrics
    benchmark_metrics: Metrics
    attribution: dict[str, Any]
    fills: int
    skips: int
    days: list[EquityDay]


class BacktestRepository:
    """`backtest_run` and `backtest_equity`; works inside the caller's transaction and never
    commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save(
        self,
        result: BacktestResult,
        *,
        metrics: Mapping[str, MetricValue],
        benchmark_metrics: Mapping[str, MetricValue],
        attribution: Mapping[str, Any],
        strategy_json: Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
        created_at: datetime,
    ) -> uuid.UUID:
        """Store a finished run and its equity days (one statement for all the days); returns
        the run's id."""
        params = result.params
        run = BacktestRun(
            id=uuid.uuid4(),
            created_at=require_aware_utc(created_at, field="created_at"),
            period_from=params.start,
            period_to=params.end,
            capital=params.capital,
            slippage_bps=params.slippage_bps,
            risk_free_rate=params.risk_free_rate,
            strategy_sha256=result.strategy_sha256,
            strategy_json=_document(strategy_json, "strategy_json"),
            parameters=_document(parameters or {}, "parameters"),
            benchmark=result.benchmark,
            final_equity=cents(result.final_equity),
            metrics=_metrics(metrics, "metrics"),
            benchmark_metrics=_metrics(benchmark_metrics, "benchmark_metrics"),
            attribution=_document(attribution, "attribution"),
            fills=result.fill_count,
            skips=result.skip_count,
        )
        self.session.add(run)
        self.session.flush()
        days = [_equity_row(run.id, day) for day in result.equity]
        if days:
            # Core's executemany: the ORM's bulk insert would split the rows into a statement
            # per run of rows with and without a benchmark close.
            self.session.execute(insert(_EQUITY), days)
        return run.id

    def listing(self, limit: int = 50) -> list[BacktestSummary]:
        """The newest `limit` runs, newest first."""
        if not 1 <= limit <= MAX_LISTING:
            raise InvalidValueError("limit", f"must be between 1 and {MAX_LISTING}")
        runs = self.session.execute(
            select(
                BacktestRun.id,
                BacktestRun.created_at,
                BacktestRun.period_from,
                BacktestRun.period_to,
                BacktestRun.capital,
                BacktestRun.final_equity,
                BacktestRun.metrics,
                BacktestRun.strategy_sha256,
                BacktestRun.fills,
            )
            .order_by(BacktestRun.created_at.desc(), BacktestRun.id.desc())
            .limit(limit)
        ).all()
        summaries = []
        for row in runs:
            metrics = _read_metrics(row.metrics)
            summaries.append(
                BacktestSummary(
                    id=row.id,
                    created_at=row.created_at,
                    period_from=row.period_from,
                    period_to=row.period_to,
                    capital=row.capital,
                    final_equity=row.final_equity,
                    total_return=metrics.get("total_return"),
                    sharpe=metrics.get("sharpe"),
                    max_drawdown=metrics.get("max_drawdown"),
                    strategy_sha256=row.strategy_sha256,
                    fills=row.fills,
                )
            )
        return summaries

    def get(self, run_id: uuid.UUID) -> BacktestDetail | None:
        """A stored run and its days, oldest first; None when no run has this id."""
        run = self.session.get(BacktestRun, run_id, populate_existing=True)
        if run is None:
            return None
        days = self.session.execute(
            select(
                BacktestEquity.day,
                BacktestEquity.cash,
                BacktestEquity.market_value,
                BacktestEquity.benchmark_close,
            )
            .where(BacktestEquity.run_id == run_id)
            .order_by(BacktestEquity.day)
        ).all()
        return BacktestDetail(
            id=run.id,
            created_at=run.created_at,
            period_from=run.period_from,
            period_to=run.period_to,
            capital=run.capital,
            slippage_bps=run.slippage_bps,
            risk_free_rate=run.risk_free_rate,
            strategy_sha256=run.strategy_sha256,
            strategy_json=run.strategy_json,
            parameters=run.parameters,
            benchmark=run.benchmark,
            final_equity=run.final_equity,
            metrics=_read_metrics(run.metrics),
            benchmark_metrics=_read_metrics(run.benchmark_metrics),
            attribution=run.attribution,
            fills=run.fills,
            skips=run.skips,
            days=[
                EquityDay(row.day, row.cash, row.market_value, row.benchmark_close) for row in days
            ],
        )

    def delete(self, run_id: uuid.UUID) -> bool:
        """Delete a run and, by the foreign key's cascade, its days; False when no run has
        this id."""
        deleted = self.session.execute(
            delete(BacktestRun).where(BacktestRun.id == run_id).returning(BacktestRun.id)
        ).first()
        return deleted is not None


def _equity_row(run_id: uuid.UUID, day: EquityDay) -> dict[str, Any]:
    """One close as stored: cash to the cent, market value the rest of the equity to the cent."""
    cash = cents(day.cash)
    close = day.benchmark_close
    if close is not None:
        precision, scale = PRICE_DIGITS
        field = f"benchmark_close of {day.day}"
        close = fit_decimal(close, field=field, precision=precision, scale=scale)
    return {
        "run_id": run_id,
        "day": day.day,
        "cash": cash,
        "market_value": cents(day.equity) - cash,
        "benchmark_close": close,
    }


def _metrics(values: Mapping[str, MetricValue], field: str) -> Metrics:
    """Metrics as stored: each a finite float, an int, or None."""
    stored: Metrics = {}
    for key, value in values.items():
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidValueError(
                f"{field}.{key}", f"expected a finite number or None, got {value!r}"
            )
        stored[str(key)] = value
    return stored


def _read_metrics(stored: Mapping[str, Any]) -> Metrics:
    """Metrics as read: numbers with a fraction come back from JSON as exact decimals, the
    very text the float was written as, so `float()` gives the float stored."""
    return {
        key: float(value) if isinstance(value, Decimal) else value for key, value in stored.items()
    }


def _document(value: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A JSON document to store (decimals and dates are stored as strings); NaN and infinity,
    which JSON cannot hold, are refused."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if (isinstance(item, float) and not math.isfinite(item)) or (
            isinstance(item, Decimal) and not item.is_finite()
        ):
            raise InvalidValueError(field, f"holds {item}, which JSON cannot hold")
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return dict(value)
