"""The overview's equity curve: the account's equity at each close (the close-job's snapshots),
and its drawdown, how far each close is below the highest one before it.

Computed exactly from the stored balances, rounded to the cent (`cents`) only here, where shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from trading_automation.db.database import UnitOfWork
from trading_automation.domain.money import cents
from trading_automation.web.pnl import percent

# About a year of trading days.
CURVE_DAYS = 260


@dataclass(frozen=True)
class EquityPoint:
    """One close: equity, and its drawdown from the highest close so far (in dollars, <= 0,
    and in percent of that high)."""

    day: date
    equity: Decimal
    drawdown: Decimal
    drawdown_pct: Decimal | None


@dataclass(frozen=True)
class EquityCurve:
    """The closes shown, oldest first, with the figures the page states."""

    points: list[EquityPoint]
    first: EquityPoint
    latest: EquityPoint
    peak: Decimal
    change: Decimal
    change_pct: Decimal | None
    max_drawdown: Decimal
    max_drawdown_pct: Decimal | None


def equity_curve(uow: UnitOfWork, *, days: int = CURVE_DAYS) -> EquityCurve | None:
    """The last `days` snapshots as a curve; None before the first close-job."""
    series = uow.snapshots.equity_series(limit=days)
    if not series:
        return None
    points = []
    peak = series[0][1]
    for day, equity in series:
        peak = max(peak, equity)
        drawdown = equity - peak
        points.append(EquityPoint(day, cents(equity), cents(drawdown), percent(drawdown, peak)))
    deepest = min(points, key=lambda point: point.drawdown)
    first, latest = series[0][1], series[-1][1]
    return EquityCurve(
        points=points,
        first=points[0],
        latest=points[-1],
        peak=cents(peak),
        change=cents(latest - first),
        change_pct=percent(latest - first, first),
        max_drawdown=deepest.drawdown,
        max_drawdown_pct=deepest.drawdown_pct,
    )
