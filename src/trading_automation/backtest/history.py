"""The history a backtest replays, loaded once: disclosures by the session they reach, and bars.

The point-in-time rule: a disclosure reaches the first session whose open (09:30 in New York) is
at or after the moment it became public (`published_at`: Quiver's upload time, else the end of its
`Filed` day), never earlier. The period's disclosures are those published from the start day's
midnight in New York to the last session's open; earlier ones only tell which transactions a later
filing amends.

The sessions are the days from `start` to `end` that have a bar of any loaded symbol (the
benchmark's included): the price history says when the market was open. Bars are held per symbol
in compact arrays (day ordinals and prices in billionths, as the `price_bar` columns store them),
so ten years of three thousand symbols fit in a few hundred megabytes; a price becomes a `Decimal`
only when read, exactly as stored.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from trading_automation.domain.filings import NormalizedFiling, normalize_record
from trading_automation.domain.timestamps import NEW_YORK

if TYPE_CHECKING:
    from trading_automation.db import Database

MARKET_OPEN = time(9, 30)
BENCHMARK = "SPY"
_SCALE = 9  # price_bar keeps 9 decimal places


def session_open(day: date) -> datetime:
    """The open of `day`'s session (09:30 in New York), in UTC."""
    return datetime.combine(day, MARKET_OPEN, NEW_YORK).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    """Midnight starting `day` in New York, in UTC."""
    return datetime.combine(day, time(0), NEW_YORK).astimezone(UTC)


class Bars:
    """One symbol's daily bars, oldest first, in compact arrays (see the module docstring)."""

    __slots__ = ("_closes", "_days", "_opens")

    def __init__(self) -> None:
        self._days = array("l")
        self._opens = array("q")
        self._closes = array("q")

    def append(self, day: date, opened: Decimal, closed: Decimal) -> None:
        """Add the bar of a day later than every one held."""
        self._days.append(day.toordinal())
        self._opens.append(int(opened.scaleb(_SCALE)))
        self._closes.append(int(closed.scaleb(_SCALE)))

    def __len__(self) -> int:
        return len(self._days)

    def days(self) -> Iterator[date]:
        """The days with a bar, oldest first."""
        return (date.fromordinal(ordinal) for ordinal in self._days)

    def ordinals(self) -> array[int]:
        """The days with a bar as ordinals (`date.toordinal`), oldest first; not a copy."""
        return self._days

    def on(self, day: date) -> tuple[Decimal, Decimal] | None:
        """(open, close) of `day`, or None when it has no bar."""
        ordinal = day.toordinal()
        index = bisect_left(self._days, ordinal)
        if index == len(self._days) or self._days[index] != ordinal:
            return None
        return _price(self._opens[index]), _price(self._closes[index])

    def last_close(self, day: date) -> tuple[date, Decimal] | None:
        """The day and close of the last bar on or before `day` (None when there is none)."""
        index = bisect_right(self._days, day.toordinal()) - 1
        if index < 0:
            return None
        return date.fromordinal(self._days[index]), _price(self._closes[index])


def _price(billionths: int) -> Decimal:
    return Decimal(billionths).scaleb(-_SCALE)


@dataclass(frozen=True)
class Release:
    """A disclosure as the replay meets it: the session it reaches, when it became public, the
    normalised record, and (for a purchase) the filing date of the earlier filing of the same
    transaction when this one amends or re-uploads it."""

    session: date
    published_at: datetime
    filing: NormalizedFiling
    amends: date | None = None


@dataclass
class History:
    """Everything a replay reads (see the module docstring)."""

    start: date
    end: date
    sessions: tuple[date, ...]
    releases: dict[date, list[Release]] = field(default_factory=dict)
    bars: dict[str, Bars] = field(default_factory=dict)
    benchmark: str = BENCHMARK

    @property
    def disclosures(self) -> int:
        return sum(len(found) for found in self.releases.values())

    def bars_of(self, symbol: str) -> Bars | None:
        return self.bars.get(symbol)


class SessionPrices:
    """One session's prices as the replay reads them, each symbol's looked up once (exits,
    delistings, buys and the close ask for the same symbols several times a session)."""

    def __init__(self, history: History, day: date) -> None:
        self.history = history
        self.day = day
        self._bars: dict[str, tuple[Decimal, Decimal] | None] = {}
        self._closes: dict[str, tuple[date, Decimal] | None] = {}

    def bar(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        """(open, close) of `symbol` this session, or None when it has no bar."""
        if symbol not in self._bars:
            bars = self.history.bars_of(symbol)
            self._bars[symbol] = bars.on(self.day) if bars is not None else None
        return self._bars[symbol]

    def last_close(self, symbol: str) -> tuple[date, Decimal] | None:
        """The day and close of `symbol`'s last bar on or before this session."""
        if symbol not in self._closes:
            bars = self.history.bars_of(symbol)
            self._closes[symbol] = bars.last_close(self.day) if bars is not None else None
        return self._closes[symbol]

    def price_or_zero(self, symbol: str) -> Decimal:
        """`symbol`'s last close on or before this session (0 when it never had a bar)."""
        last = self.last_close(symbol)
        return last[1] if last is not None else Decimal(0)


def build_history(
    start: date,
    end: date,
    published: Iterable[tuple[datetime, NormalizedFiling]],
    bars: Iterable[tuple[str, date, Decimal, Decimal]],
    *,
    known_transactions: Iterable[tuple[str, date | None]] = (),
    benchmark: str = BENCHMARK,
) -> History:
    """A history from normalised records in publication order, their symbols' bars (by symbol,
    then day) and the transactions disclosed before the period (for amendments)."""
    held: dict[str, Bars] = {}
    current: str | None = None
    found = Bars()
    for symbol, day, opened, closed in bars:
        if symbol != current:  # the bars come by symbol: one lookup per symbol, not per bar
            current = symbol
            if symbol not in held:
                held[symbol] = Bars()
            found = held[symbol]
        found.append(day, opened, closed)
    ordinals: set[int] = set()
    for symbol_bars in held.values():
        ordinals.update(symbol_bars.ordinals())
    first_day, last_day = start.toordinal(), end.toordinal()
    sessions = tuple(
        date.fromordinal(ordinal)
        for ordinal in sorted(ordinals)
        if first_day <= ordinal <= last_day
    )
    history = History(start, end, sessions, bars=held, benchmark=benchmark)
    first: dict[str, tuple[str | None, date | None]] = {
        key: (None, filed) for key, filed in known_transactions
    }
    opens = [session_open(day) for day in sessions]
    for published_at, filing in published:
        index = bisect_left(opens, published_at)
        if index == len(opens):
            continue  # public after the last session's open: the replay never meets it
        amends = None
        key = filing.transaction_key
        if key is not None:
            source, filed = first.setdefault(key, (filing.source_hash, filing.filing_date))
            if source != filing.source_hash:
                amends = filed or filing.filing_date
        session = sessions[index]
        history.releases.setdefault(session, []).append(
            Release(session, published_at, filing, amends)
        )
    return history


def load_history(
    database: Database, start: date, end: date, *, benchmark: str = BENCHMARK
) -> History:
    """The history of `start`..`end` from the database (see the module docstring)."""
    begins = start_of_day(start)
    until = session_open(end)
    with database.transaction() as uow:
        known = list(uow.replay.transactions_before(begins))
        records = [
            (published_at, normalize_record(raw))
            for published_at, raw in uow.replay.disclosures(begins, until)
        ]
        symbols = {benchmark} | {filing.ticker for _when, filing in records if filing.ticker}
        return build_history(
            start,
            end,
            records,
            uow.replay.bars(start, end, symbols),
            known_transactions=known,
            benchmark=benchmark,
        )
