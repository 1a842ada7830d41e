"""B7 and B8's daily bars: years of them for thousands of symbols, streamed in Alpaca's pages.

Every symbol's bars follow one of a few shapes drawn from the sandbox's synthetic walk (so the
values are realistic: four decimals, split-adjusted), generated once, before anything is timed;
the rows themselves are built page by page as they are loaded, so neither side ever holds more
than a page. The project's loader and the raw-COPY baseline consume the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from trading_automation.domain.bars import PriceBarRow
from trading_automation.sandbox import MarketCalendar, SyntheticBars

LAST_SESSION = date(2024, 6, 18)
PAGE = 10_000
SHAPES = 16
COLUMNS = ("symbol", "day", "open", "high", "low", "close", "volume", "adjustment", "fetched_at")
Values = tuple[Decimal, Decimal, Decimal, Decimal, int]


def symbols(count: int) -> list[str]:
    """`count` symbols, B0000 onwards."""
    return [f"B{number:04d}" for number in range(count)]


def trading_days(years: int, last: date = LAST_SESSION) -> list[date]:
    """The sandbox's trading days over the `years` up to `last`."""
    return MarketCalendar().trading_days(
        last - timedelta(days=365 * years) + timedelta(days=1), last
    )


def shapes(days: list[date]) -> list[list[Values]]:
    """`SHAPES` series of bar values over `days` (from the sandbox's walk, missing days filled
    with the day before)."""
    generator = SyntheticBars(missing_rate=0.0)
    out = []
    for shape in range(SHAPES):
        bars = {
            bar.day: bar
            for bar in generator.bars(
                f"SHAPE{shape}", days[0], days[-1], adjustment="all", today=days[-1]
            )
        }
        out.append(
            [
                (
                    _price(bars[day].open),
                    _price(bars[day].high),
                    _price(bars[day].low),
                    _price(bars[day].close),
                    bars[day].volume,
                )
                for day in days
            ]
        )
    return out


def _price(value: float) -> Decimal:
    return Decimal(f"{value:.4f}")


def pages(
    names: list[str], days: list[date], series: list[list[Values]], size: int = PAGE
) -> Iterator[list[PriceBarRow]]:
    """Every (symbol, day) bar in pages of `size`, ordered by symbol then day, like Alpaca."""
    page: list[PriceBarRow] = []
    for number, symbol in enumerate(names):
        values = series[number % len(series)]
        for day, (opened, high, low, close, volume) in zip(days, values, strict=True):
            page.append(PriceBarRow(symbol, day, opened, high, low, close, volume, "all"))
            if len(page) == size:
                yield page
                page = []
    if page:
        yield page
