"""A backtest run built by hand, as the engine, the metrics and the attribution would give it, for
the tests that store and show runs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from trading_automation.backtest.result import (
    BacktestResult,
    ClosedPart,
    EquityDay,
    Fill,
    Params,
    Skip,
    Who,
)
from trading_automation.domain.enums import CloseCause, OrderSide

PELOSI = Who("Nancy Pelosi", "DEMOCRAT", "House")
START = date(2024, 1, 2)
SHA = "ab" * 32

# Cash and market value at each close (the benchmark has no bar on the second day).
DAYS = [
    EquityDay(date(2024, 1, 2), Decimal("100000.00"), Decimal("0.00"), Decimal("470.123456789")),
    EquityDay(date(2024, 1, 3), Decimal("90000.00"), Decimal("10250.50"), None),
    EquityDay(date(2024, 1, 4), Decimal("90000.00"), Decimal("9800.25"), Decimal("468.50")),
    EquityDay(date(2024, 1, 5), Decimal("101100.75"), Decimal("0.00"), Decimal("475.00")),
]

METRICS: dict[str, float | int | None] = {
    "total_return": 0.011007500000000001,
    "cagr": 1.0e-05,
    "volatility": 0.1234567890123,
    "sharpe": 1.5,
    "sortino": None,
    "max_drawdown": -0.02944,
    "max_drawdown_days": 2,
    "win_rate": 1.0,
    "avg_holding_days": 3.0,
    "turnover": 12.25,
    "exposure": 0.5,
    "trades": 2,
    "alpha": -0.0,
    "beta": 0.75,
}
BENCHMARK_METRICS: dict[str, float | int | None] = {
    "total_return": 0.010367,
    "sharpe": 0.9,
    "max_drawdown": -0.003,
    "trades": 1,
}


def attribution(member: str = PELOSI.member) -> dict[str, list[dict[str, Any]]]:
    """The attribution tables, one row each (money as decimal strings)."""

    def row(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "realized": "1100.75",
            "unrealized": "0.00",
            "pnl": "1100.75",
            "lots": 1,
        }

    return {
        "member": [row(member)],
        "party": [row("DEMOCRAT")],
        "chamber": [row("House")],
        "exit_cause": [row("MIRRORED_SALE")],
    }


STRATEGY_JSON: dict[str, Any] = {
    "size": {"mode": "fixed", "notional_usd": "10000"},
    "members": {"include": ["Nancy Pelosi"]},
    "exits": {"max_holding_days": 30, "stop_loss_pct": None},
    "lag": {"max_filing_lag_days": 45},
}
PARAMETERS: dict[str, Any] = {"sweep": {"exits.max_holding_days": 30}, "seed": 7}


def sample_result(days: list[EquityDay] | None = None) -> BacktestResult:
    """A run of four closes: one lot of AAPL bought and sold on a mirrored sale, one skip."""
    equity = DAYS if days is None else days
    bought = Fill(
        day=date(2024, 1, 3),
        symbol="AAPL",
        side=OrderSide.BUY,
        quantity=Decimal("54.5"),
        price=Decimal("183.4862"),
        amount=Decimal("10000.00"),
        lot=1,
        who=PELOSI,
    )
    sold = Fill(
        day=date(2024, 1, 5),
        symbol="AAPL",
        side=OrderSide.SELL,
        quantity=Decimal("54.5"),
        price=Decimal("203.6835"),
        amount=Decimal("11100.75"),
        lot=1,
        who=PELOSI,
        cause=CloseCause.MIRRORED_SALE,
        reason="the member sold",
    )
    closed = ClosedPart(
        lot=1,
        symbol="AAPL",
        who=PELOSI,
        cause=CloseCause.MIRRORED_SALE,
        opened=date(2024, 1, 3),
        closed=date(2024, 1, 5),
        held_days=2,
        quantity=Decimal("54.5"),
        cost=Decimal("10000.00"),
        proceeds=Decimal("11100.75"),
    )
    return BacktestResult(
        params=Params(
            start=equity[0].day if equity else START,
            end=equity[-1].day if equity else START,
            capital=Decimal("100000.00"),
            slippage_bps=Decimal("2.5"),
            risk_free_rate=Decimal("0.0425"),
        ),
        strategy_sha256=SHA,
        benchmark="SPY",
        equity=list(equity),
        fills=[bought, sold],
        closed=[closed],
        skips=[Skip(date(2024, 1, 4), "MSFT", "members", "not a member followed")],
    )


def long_days(count: int) -> list[EquityDay]:
    """`count` consecutive closes with cents and odd benchmark digits that change every day."""
    return [
        EquityDay(
            START + timedelta(days=index),
            Decimal(50_000) + Decimal(index) / 100,
            Decimal(50_000 + index * 3) + Decimal(index % 100) / 100,
            None if index % 7 == 3 else Decimal(400) + Decimal(index) / 10**9,
        )
        for index in range(count)
    ]
