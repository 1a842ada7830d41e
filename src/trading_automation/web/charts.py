"""Charts drawn on the server as inline SVG: no script, no third-party code, readable without JS.

Coordinates are floats (they are pixels); every number a person reads is formatted from the exact
Decimal. Each bar carries a <title>, which browsers show on hover and screen readers read out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

from trading_automation.domain.money import format_usd, sign_after_rounding

WIDTH = 720
ROW = 24
LABEL_W = 80
VALUE_W = 110
DAY_CHART_H = 200
AXIS_H = 22


def _money(value: Decimal) -> str:
    return format_usd(value, signed=True)


def pnl_by_position(items: Sequence[tuple[str, Decimal]]) -> Markup:
    """Horizontal bars of unrealized P&L per symbol, gains right of zero and losses left."""
    if not items:
        return Markup("")
    height = ROW * len(items) + 8
    plot_left = LABEL_W
    plot_w = WIDTH - LABEL_W - VALUE_W
    largest = max((abs(value) for _symbol, value in items), default=Decimal(0))
    has_losses = any(value < 0 for _symbol, value in items)
    zero_x = plot_left + (plot_w / 2 if has_losses else 0)
    half = plot_w / 2 if has_losses else plot_w
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        "<title>Unrealized P&amp;L by position</title>",
    ]
    for index, (symbol, value) in enumerate(items):
        y = 4 + index * ROW
        length = 0.0 if largest.is_zero() else float(abs(value) / largest) * half
        x = zero_x - length if value < 0 else zero_x
        tone = {1: "gain", -1: "loss", 0: "flat"}[sign_after_rounding(value)]
        label = f"{symbol}: {_money(value)}"
        parts.append(
            f'<g class="bar {tone}"><title>{escape(label)}</title>'
            f'<text class="label" x="{plot_left - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(symbol)}</text>"
            f'<rect x="{x:.1f}" y="{y + 3}" width="{max(length, 1.0):.1f}" height="{ROW - 8}"/>'
            f'<text class="value" x="{WIDTH - 4}" y="{y + 16}" text-anchor="end">'
            f"{escape(_money(value))}</text></g>"
        )
    parts.append(
        f'<line class="axis" x1="{zero_x:.1f}" y1="0" x2="{zero_x:.1f}" y2="{height}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def orders_per_day(counts: Sequence[tuple[date, int]]) -> Markup:
    """Vertical bars of trades created per day, with the first day of each week labelled."""
    if not counts:
        return Markup("")
    plot_h = DAY_CHART_H - AXIS_H - 16
    slot = (WIDTH - 40) / len(counts)
    largest = max(count for _day, count in counts)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {DAY_CHART_H}" '
        f'width="{WIDTH}" height="{DAY_CHART_H}" xmlns="http://www.w3.org/2000/svg">',
        "<title>Orders per day</title>",
        f'<text class="label" x="34" y="14" text-anchor="end">{largest}</text>',
        '<text class="label" x="34" y="' + str(16 + plot_h) + '" text-anchor="end">0</text>',
    ]
    for index, (day, count) in enumerate(counts):
        x = 40 + index * slot
        bar_h = 0.0 if largest == 0 else count / largest * plot_h
        y = 16 + plot_h - bar_h
        noun = "order" if count == 1 else "orders"
        parts.append(
            f'<g class="bar day"><title>{day.isoformat()}: {count} {noun}</title>'
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
            f'height="{max(bar_h, 0.0):.1f}"/></g>'
        )
        last = index == len(counts) - 1
        if index == 0 or day.weekday() == 0 or last:
            anchor, at = (
                ("end", x + slot)
                if last
                else ("start", x)
                if index == 0
                else ("middle", x + slot / 2)
            )
            parts.append(
                f'<text class="label" x="{at:.1f}" y="{DAY_CHART_H - 4}" '
                f'text-anchor="{anchor}">{day:%m-%d}</text>'
            )
    parts.append(
        f'<line class="axis" x1="40" y1="{16 + plot_h}" x2="{WIDTH}" y2="{16 + plot_h}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


EQUITY_H = 220
DRAWDOWN_H = 90
PLOT_LEFT = 96


def equity_curve(
    points: Sequence[tuple[date, Decimal, Decimal]],
    benchmark: Sequence[Decimal | None] = (),
    benchmark_name: str = "SPY",
    benchmark_rule: str = "bought with the first close's equity and held",
) -> Markup:
    """The equity at each close as a line, and below it the drawdown (how far below the highest
    close so far) as a shaded area; `points` are (day, equity, drawdown <= 0), oldest first.
    `benchmark`, when given, is the benchmark's value at each of those closes (None where
    unknown), drawn as a second, dashed line on the same scale; `benchmark_rule` says how it was
    bought."""
    if not points:
        return Markup("")
    plot_w = WIDTH - PLOT_LEFT - 8
    top, bottom = 16, EQUITY_H - AXIS_H
    known = [value for value in benchmark if value is not None]
    low = min([equity for _day, equity, _dd in points] + known)
    high = max([equity for _day, equity, _dd in points] + known)
    span = high - low
    deepest = min(drawdown for _day, _equity, drawdown in points)
    step = plot_w / max(len(points) - 1, 1)

    def x(index: int) -> float:
        return PLOT_LEFT + (index * step if len(points) > 1 else plot_w / 2)

    def y(equity: Decimal) -> float:
        share = 0.5 if span.is_zero() else float((equity - low) / span)
        return bottom - share * (bottom - top)

    dd_top = EQUITY_H + 8
    dd_bottom = EQUITY_H + DRAWDOWN_H - 8

    def dd_y(drawdown: Decimal) -> float:
        share = 0.0 if deepest.is_zero() else float(drawdown / deepest)
        return dd_top + share * (dd_bottom - dd_top)

    height = EQUITY_H + DRAWDOWN_H
    line = " ".join(f"{x(i):.1f},{y(e):.1f}" for i, (_d, e, _dd) in enumerate(points))
    area = " ".join(f"{x(i):.1f},{dd_y(dd):.1f}" for i, (_d, _e, dd) in enumerate(points))
    parts = [
        f'<svg class="chart equity" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        "<title>Equity at each close, and drawdown</title>",
        f'<text class="label" x="{PLOT_LEFT - 8}" y="{top + 4}" text-anchor="end">'
        f"{escape(format_usd(high))}</text>",
        f'<text class="label" x="{PLOT_LEFT - 8}" y="{bottom}" text-anchor="end">'
        f"{escape(format_usd(low))}</text>",
        f'<line class="axis" x1="{PLOT_LEFT}" y1="{bottom}" x2="{WIDTH - 8}" y2="{bottom}"/>',
        *_benchmark_line(benchmark, f"{benchmark_name} {benchmark_rule}", benchmark_name, x, y),
        f'<polyline class="equity-line" points="{line}"/>',
        f'<text class="label" x="{PLOT_LEFT - 8}" y="{dd_top + 8}" text-anchor="end">'
        "drawdown</text>",
        f'<text class="label" x="{PLOT_LEFT - 8}" y="{dd_bottom}" text-anchor="end">'
        f"{escape(format_usd(deepest))}</text>",
        f'<polygon class="drawdown" points="{x(0):.1f},{dd_top} {area} '
        f'{x(len(points) - 1):.1f},{dd_top}"/>',
        f'<line class="axis" x1="{PLOT_LEFT}" y1="{dd_top}" x2="{WIDTH - 8}" y2="{dd_top}"/>',
    ]
    for index, (day, equity, drawdown) in enumerate(points):
        label = f"{day.isoformat()}: {format_usd(equity)}, drawdown {format_usd(drawdown)}"
        parts.append(
            f'<circle class="close" cx="{x(index):.1f}" cy="{y(equity):.1f}" r="3">'
            f"<title>{escape(label)}</title></circle>"
        )
    first, last = points[0][0], points[-1][0]
    parts.append(
        f'<text class="label" x="{PLOT_LEFT}" y="{EQUITY_H - 4}" text-anchor="start">'
        f"{first.isoformat()}</text>"
    )
    if last != first:
        parts.append(
            f'<text class="label" x="{WIDTH - 8}" y="{EQUITY_H - 4}" text-anchor="end">'
            f"{last.isoformat()}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _benchmark_line(
    values: Sequence[Decimal | None],
    title: str,
    name: str,
    x: Callable[[int], float],
    y: Callable[[Decimal], float],
) -> list[str]:
    """The benchmark's dashed line and its legend (nothing when no value is known)."""
    drawn = [(index, value) for index, value in enumerate(values) if value is not None]
    if not drawn:
        return []
    line = " ".join(f"{x(index):.1f},{y(value):.1f}" for index, value in drawn)
    return [
        f'<polyline class="benchmark-line" points="{line}"><title>'
        f"{escape(title)}</title></polyline>",
        f'<text class="label legend" x="{WIDTH - 8}" y="12" text-anchor="end">'
        f"solid: the account · dashed: {escape(name)} held</text>",
    ]
