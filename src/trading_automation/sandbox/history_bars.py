"""Synthetic daily bars for any symbol and range: deterministic, generated lazily, fast.

Each symbol follows its own seeded random walk of log prices: one anchor a year (a base price and
a trend drawn from the symbol's name, plus a draw of the year's own), and daily steps bridged from
one anchor to the next, so any year can be generated on its own, without the years before it.
Open, high, low and volume come from the same year's stream. The same symbol, day and seed always
give the same bar, whatever range was asked for.

What a real feed has, the walk has too:

- splits (`splits`: symbol → [(day, ratio)]): from its day on the raw price is divided by the
  ratio; the split- and dividend-adjusted prices (`adjustment=all` or `split`) are divided by every
  split that has happened by `today`, so a split that happens later changes every earlier
  adjusted bar, as at Alpaca. The sandbox pays no dividends (`dividend` is `raw`).
- delisted symbols (`delisted`: symbol → last day with a bar), symbols the feed does not know at
  all (`unknown`), and missing days (a day without a bar, about one in `1 / missing_rate`).

The calendar is the sandbox's market calendar (weekdays less its holidays).
"""

from __future__ import annotations

import math
import random
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache

from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox.market import MarketCalendar

DEFAULT_SPLITS: dict[str, tuple[tuple[date, int], ...]] = {
    "AAPL": ((date(2020, 8, 31), 4),),
    "NVDA": ((date(2021, 7, 20), 4), (date(2024, 6, 10), 10)),
    "TSLA": ((date(2020, 8, 31), 5), (date(2022, 8, 25), 3)),
}
DEFAULT_DELISTED: dict[str, date] = {"TWTR": date(2022, 10, 27), "FRC": date(2023, 4, 28)}
DEFAULT_UNKNOWN: frozenset[str] = frozenset({"ZZZZ", "XXII"})
# The year the walk's trend is measured from (any year before or after it can be generated).
EPOCH_YEAR = 2015
_CACHED_YEARS = 8192


@dataclass(frozen=True)
class DayBar:
    """One generated bar; prices are floats, written with four decimals."""

    day: date
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass
class SyntheticBars:
    """Daily bars for any symbol from a seed (see the module docstring)."""

    seed: int = 7
    calendar: MarketCalendar = field(default_factory=MarketCalendar)
    splits: dict[str, tuple[tuple[date, int], ...]] = field(
        default_factory=lambda: dict(DEFAULT_SPLITS)
    )
    delisted: dict[str, date] = field(default_factory=lambda: dict(DEFAULT_DELISTED))
    unknown: frozenset[str] = DEFAULT_UNKNOWN
    missing_rate: float = 0.003

    def __post_init__(self) -> None:
        self._years: OrderedDict[tuple[str, int], list[DayBar | None]] = OrderedDict()

    def knows(self, symbol: str) -> bool:
        """False for a symbol the feed has no bars of at all."""
        return symbol not in self.unknown

    def add_split(self, symbol: str, day: date, ratio: int) -> None:
        """A split of `symbol` on `day` (from then on its raw price is divided by `ratio`)."""
        if ratio < 2:
            raise ValueError("a split's ratio is at least 2")
        found = dict(self.splits.get(symbol, ()))
        found[day] = ratio
        self.splits[symbol] = tuple(sorted(found.items()))

    def bars(
        self, symbol: str, start: date, end: date, *, adjustment: str, today: date
    ) -> Iterator[DayBar]:
        """The bars of `symbol` from `start` to `end`, oldest first, adjusted as of `today`."""
        if not self.knows(symbol):
            return
        last = min(end, today, self.delisted.get(symbol, end))
        splits = [(day, ratio) for day, ratio in self.splits.get(symbol, ()) if day <= today]
        adjusted = adjustment in ("all", "split")
        everything = math.prod(ratio for _, ratio in splits)
        for year in range(start.year, last.year + 1):
            for bar in self._year(symbol, year):
                if bar is None or bar.day < start or bar.day > last:
                    continue
                if adjusted:
                    factor = everything
                else:
                    factor = math.prod(ratio for day, ratio in splits if day <= bar.day)
                yield _scaled(bar, factor) if factor != 1 else bar

    def _year(self, symbol: str, year: int) -> list[DayBar | None]:
        key = (symbol, year)
        cached = self._years.get(key)
        if cached is not None:
            self._years.move_to_end(key)
            return cached
        generated = self._generate(symbol, year)
        self._years[key] = generated
        if len(self._years) > _CACHED_YEARS:
            self._years.popitem(last=False)
        return generated

    def _generate(self, symbol: str, year: int) -> list[DayBar | None]:
        """The year's trading days: a bar each, or None on a missing day."""
        days = _trading_days(self.calendar, year)
        sigma, volume_base = self._profile(symbol)
        start_log, end_log = self._anchor(symbol, year), self._anchor(symbol, year + 1)
        rng = random.Random(_mix(self.seed, symbol, year))
        steps = [rng.gauss(0.0, sigma) for _ in days]
        # Bridge the steps so the year ends on the next year's anchor: any year stands alone.
        correction = (end_log - start_log - sum(steps)) / max(1, len(steps))
        log_price = start_log
        previous = math.exp(start_log)
        out: list[DayBar | None] = []
        for day, step in zip(days, steps, strict=True):
            log_price += step + correction
            close = math.exp(log_price)
            gap, up, down, size, missing = (rng.random() for _ in range(5))
            opened = previous * math.exp((gap - 0.5) * sigma)
            high = max(opened, close) * (1 + up * sigma)
            low = min(opened, close) * (1 - down * sigma)
            previous = close
            if missing < self.missing_rate:
                out.append(None)
            else:
                volume = int(volume_base * (0.5 + size))
                out.append(DayBar(day, opened, high, low, close, volume))
        return out

    def _profile(self, symbol: str) -> tuple[float, int]:
        """The symbol's daily volatility and typical volume."""
        rng = random.Random(_mix(self.seed, symbol, -1))
        return rng.uniform(0.008, 0.03), int(rng.uniform(2e5, 5e7))

    def _anchor(self, symbol: str, year: int) -> float:
        """The symbol's log price at the start of `year`: a base and a trend drawn from its name,
        and a yearly draw of its own (so every year is reached directly, without the others)."""
        rng = random.Random(_mix(self.seed, symbol, -2))
        base, trend = math.log(rng.uniform(8.0, 400.0)), rng.uniform(-0.06, 0.1)
        yearly = random.Random(_mix(self.seed, symbol, year + 100_000)).gauss(0.0, 0.3)
        return base + trend * (year - EPOCH_YEAR) + yearly


def _scaled(bar: DayBar, factor: int) -> DayBar:
    return DayBar(
        bar.day,
        bar.open / factor,
        bar.high / factor,
        bar.low / factor,
        bar.close / factor,
        bar.volume * factor,
    )


def _mix(seed: int, symbol: str, number: int) -> int:
    """A seed for one symbol's stream (stable across runs: no salted `hash()`)."""
    return zlib.crc32(f"{seed}:{symbol}:{number}".encode())


@lru_cache(maxsize=256)
def _trading_days_cached(calendar: MarketCalendar, year: int) -> tuple[date, ...]:
    return tuple(calendar.trading_days(date(year, 1, 1), date(year, 12, 31)))


def _trading_days(calendar: MarketCalendar, year: int) -> tuple[date, ...]:
    return _trading_days_cached(calendar, year)


@lru_cache(maxsize=8192)
def bar_time(day: date) -> str:
    """A daily bar's `t`: midnight New York time, in UTC, as Alpaca writes it."""
    moment = datetime.combine(day, time(0), NEW_YORK).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bar_json(bar: DayBar) -> str:
    """One bar as Alpaca's JSON (prices as numbers with four decimals)."""
    return (
        f'{{"t":"{bar_time(bar.day)}","o":{bar.open:.4f},"h":{bar.high:.4f},'
        f'"l":{bar.low:.4f},"c":{bar.close:.4f},"v":{bar.volume},'
        f'"n":{max(1, bar.volume // 180)},"vw":{(bar.high + bar.low + bar.close) / 3:.4f}}}'
    )
