"""Which daily bars to ask for: the missing (symbol, trading day) ranges, grouped into requests.

Each symbol's coverage is one range of trading days already asked for. Against the trading
calendar from the first day wanted to the last complete session, a symbol needs:

- `new`: everything, when it was never asked for;
- `head`: the days before its coverage, when the first day wanted is earlier;
- `tail`: the days after its coverage, starting `OVERLAP_DAYS` trading days before its end: the
  bars of those days are stored already, and a later fetch that returns other values for them
  shows the history was adjusted since (a split or a dividend), so the older bars are to be
  fetched again;
- `refetch`: its covered days before `stale_before`, once such an adjustment was seen.

Symbols needing the same range share requests (Alpaca's bars endpoint takes many symbols), so an
ordinary day's refresh of thousands of symbols is a handful of requests.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, Protocol

OVERLAP_DAYS = 3
SYMBOLS_PER_REQUEST = 100
# A symbol with no bar for this many trading days (since its last bar, or since the first day
# asked for) is taken as unknown to the data API: delisted, renamed, not a stock.
UNKNOWN_AFTER_DAYS = 10

Kind = Literal["new", "head", "tail", "refetch"]


class Coverage(Protocol):
    """What the planner reads of a symbol's state."""

    @property
    def symbol(self) -> str:
        """The symbol."""

    @property
    def covered_from(self) -> date | None:
        """The first trading day asked for."""

    @property
    def covered_to(self) -> date | None:
        """The last trading day asked for."""

    @property
    def stale_before(self) -> date | None:
        """Covered bars before this day are to be fetched again."""


@dataclass(frozen=True)
class BarsRequest:
    """One range of days to ask for, for up to `SYMBOLS_PER_REQUEST` symbols."""

    kind: Kind
    start: date
    end: date
    symbols: tuple[str, ...]


def plan(
    states: Iterable[Coverage],
    trading_days: Sequence[date],
    *,
    per_request: int = SYMBOLS_PER_REQUEST,
    refetch: bool = True,
) -> list[BarsRequest]:
    """The requests that fetch every missing bar of `states` within `trading_days` (sorted), and
    with `refetch` the adjusted ranges to fetch again."""
    if not trading_days:
        return []
    first, last = trading_days[0], trading_days[-1]
    wanted: dict[tuple[Kind, date, date], list[str]] = {}

    def need(kind: Kind, start: date, end: date, symbol: str) -> None:
        wanted.setdefault((kind, start, end), []).append(symbol)

    for state in states:
        if state.covered_from is None or state.covered_to is None:
            need("new", first, last, state.symbol)
            continue
        if refetch and state.stale_before is not None and state.stale_before > state.covered_from:
            need(
                "refetch", state.covered_from, state.stale_before - timedelta(days=1), state.symbol
            )
        if first < state.covered_from:
            need("head", first, state.covered_from - timedelta(days=1), state.symbol)
        if last > state.covered_to:
            need("tail", overlap_start(trading_days, state.covered_to), last, state.symbol)
    requests = []
    for (kind, start, end), symbols in sorted(wanted.items()):
        ordered = sorted(symbols)
        for index in range(0, len(ordered), per_request):
            requests.append(
                BarsRequest(kind, start, end, tuple(ordered[index : index + per_request]))
            )
    return requests


def overlap_start(trading_days: Sequence[date], covered_to: date) -> date:
    """The trading day `OVERLAP_DAYS` before the end of a coverage (on or before `covered_to`)."""
    index = bisect.bisect_right(trading_days, covered_to) - 1
    if index < 0:
        return covered_to
    return trading_days[max(0, index - OVERLAP_DAYS + 1)]


def trading_days_after(trading_days: Sequence[date], day: date, *, until: date) -> int:
    """How many trading days fall after `day`, up to `until` inclusive."""
    return max(0, bisect.bisect_right(trading_days, until) - bisect.bisect_right(trading_days, day))


def unknown_reason(
    trading_days: Sequence[date],
    *,
    covered_from: date,
    covered_to: date,
    last_bar_day: date | None,
) -> str | None:
    """Why a symbol is taken as unknown to the data API (see `UNKNOWN_AFTER_DAYS`), or None."""
    if last_bar_day is None:
        silent = trading_days_after(
            trading_days, covered_from - timedelta(days=1), until=covered_to
        )
        if silent >= UNKNOWN_AFTER_DAYS:
            return f"no bars at all from {covered_from} to {covered_to}"
        return None
    if trading_days_after(trading_days, last_bar_day, until=covered_to) >= UNKNOWN_AFTER_DAYS:
        return f"no bar since {last_bar_day} (delisted or renamed?)"
    return None
