"""The tables of the backtests: each run stored (its settings, strategy, metrics and attribution)
and its equity at every close (migration 0008).

A run is written once, when it ends, and read by the dashboard's Backtests page; deleting a run
deletes its days with it. They share `Base.metadata` (`trading_automation.db.base`) with the other
tables; `trading_automation.db` imports this module, so the tables are registered wherever the
data layer is.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from trading_automation.db.base import NOTIONAL, PRICE, Base, install_validators
from trading_automation.db.types import ExactDecimal, JSONDocument, UTCDateTime

# Slippage in basis points and the yearly risk-free rate: exact, up to 9 decimal places.
RATE = ExactDecimal(18, 9)


class BacktestRun(Base):
    """One backtest run: the period and settings it ran with, the strategy in effect (its hash
    and its content), and what came out (final equity, metrics against the benchmark's,
    attribution, how many fills and skipped filings).

    `metrics` and `benchmark_metrics` are keyed by `backtest.labels.METRIC_KEYS`; `attribution`
    holds the rows by member, party, chamber and exit cause; `parameters` anything else the run
    was given (a sweep's overrides).
    """

    __tablename__ = "backtest_run"
    __table_args__ = (
        CheckConstraint("period_from <= period_to", name="period_ordered"),
        CheckConstraint("capital > 0", name="capital_positive"),
        CheckConstraint("fills >= 0 AND skips >= 0", name="counts_not_negative"),
        Index("ix_backtest_run_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    capital: Mapped[Decimal] = mapped_column(NOTIONAL)
    slippage_bps: Mapped[Decimal] = mapped_column(RATE)
    risk_free_rate: Mapped[Decimal] = mapped_column(RATE)
    strategy_sha256: Mapped[str] = mapped_column(Text)
    strategy_json: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    benchmark: Mapped[str] = mapped_column(Text)
    final_equity: Mapped[Decimal] = mapped_column(NOTIONAL)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    benchmark_metrics: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    attribution: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    fills: Mapped[int] = mapped_column(Integer)
    skips: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return (
            f"BacktestRun(id={self.id}, period={self.period_from}..{self.period_to}, "
            f"final_equity={self.final_equity})"
        )


class BacktestEquity(Base):
    """A run's portfolio at one close: cash, the market value held, and the benchmark's close
    that day (None when it had no bar)."""

    __tablename__ = "backtest_equity"

    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("backtest_run.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cash: Mapped[Decimal] = mapped_column(NOTIONAL)
    market_value: Mapped[Decimal] = mapped_column(NOTIONAL)
    benchmark_close: Mapped[Decimal | None] = mapped_column(PRICE)

    def __repr__(self) -> str:
        return (
            f"BacktestEquity(run_id={self.run_id}, day={self.day}, cash={self.cash}, "
            f"market_value={self.market_value})"
        )


install_validators(BacktestRun, BacktestEquity)
