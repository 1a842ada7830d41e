"""The overview's equity curve: the account's equity at each close (the close-job's snapshots),
and its drawdown, how far each close is below the highest one before it; against it, SPY bought
with the first close's equity and held (from the daily bars `history prices` stores).

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
BENCHMARK = "SPY"


@dataclass(frozen=True)
class EquityPoint:
    """One close: equity, and its drawdown from the highest close so far (in dollars, <= 0,
    and in percent of that high)."""

    day: date
    equity: Decimal
    drawdown: Decimal
    drawdown_pct: Decimal | None
    # The first close's equity in SPY on that day, held: its value at this day's SPY close (the
    # last stored on or before the day). None without SPY bars from the first day on.
    spy: Decimal | None = None


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
    # SPY held over the same closes (see EquityPoint.spy); None without its bars.
    spy_change: Decimal | None = None
    spy_change_pct: Decimal | None = None


def equity_curve(uow: UnitOfWork, *, days: int = CURVE_DAYS) -> EquityCurve | None:
    """The last `days` snapshots as a curve; None before the first close-job."""
    series = uow.snapshots.equity_series(limit=days)
    if not series:
        return None
    first_day, first = series[0]
    latest_day, latest = series[-1]
    spy = _held(uow.prices.closes(BENCHMARK, first_day, latest_day), first, [d for d, _ in series])
    points = []
    peak = first
    for (day, equity), held in zip(series, spy, strict=True):
        peak = max(peak, equity)
        drawdown = equity - peak
        points.append(
            EquityPoint(
                day,
                cents(equity),
                cents(drawdown),
                percent(drawdown, peak),
                cents(held) if held is not None else None,
            )
        )
    deepest = min(points, key=lambda point: point.drawdown)
    spy_last = spy[-1]
    return EquityCurve(
        points=points,
        first=points[0],
        latest=points[-1],
        peak=cents(peak),
        change=cents(latest - first),
        change_pct=percent(latest - first, first),
        max_drawdown=deepest.drawdown,
        max_drawdown_pct=deepest.drawdown_pct,
        spy_change=cents(spy_last - first) if spy_last is not None else None,
        spy_change_pct=percent(spy_last - first, first) if spy_last is not None else None,
    )


def _held(
    closes: list[tuple[date, Decimal]], start: Decimal, days: list[date]
) -> list[Decimal | None]:
    """`start` dollars of the benchmark bought at the close in force on `days[0]`, valued at the
    close in force on each day; all None when no close is stored on or before the first
    day, or the first close is zero."""
    if not closes or closes[0][1].is_zero():
        return [None] * len(days)
    base = closes[0][1]
    values: list[Decimal | None] = []
    index, close = 0, base
    for day in days:
        while index + 1 < len(closes) and closes[index + 1][0] <= day:
            index += 1
            close = closes[index][1]
        values.append(start * close / base)
    return values
