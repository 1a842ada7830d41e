"""When the open-job runs, and which days it collects: decided by the broker's calendar.

The schedule fires at 13:30 and 14:30 UTC on weekdays; depending on daylight saving one of the two
is 9:30 in New York. Alpaca's calendar says whether a date is a trading day and when it opens, so
weekends, holidays and half days never come from a list kept here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from trading_automation.domain.timestamps import NEW_YORK, require_aware_utc, trading_date_et

# The invocation "at the open" is the one within this window around the opening bell; the other
# scheduled invocation is an hour away from it in either season.
OPEN_WINDOW_BEFORE = timedelta(minutes=15)
OPEN_WINDOW_AFTER = timedelta(minutes=30)
# How far back to ask the calendar for the previous trading day (covers the longest closures).
CALENDAR_LOOKBACK = timedelta(days=14)


class TradingSession(Protocol):
    """A day of the market calendar."""

    @property
    def date(self) -> date: ...

    @property
    def open_at(self) -> datetime: ...


@dataclass(frozen=True)
class Gate:
    """Whether this invocation should run, for which trading day, and why."""

    run: bool
    trading_day: date
    reason: str
    session: TradingSession | None = None


def decide_gate(
    now: datetime, sessions: Sequence[TradingSession], *, requested: date | None = None
) -> Gate:
    """Decide from the calendar whether to run now (or for the `requested` backfill day)."""
    moment = require_aware_utc(now, field="now")
    day = requested or trading_date_et(moment)
    session = next((s for s in sessions if s.date == day), None)
    if session is None:
        return Gate(False, day, f"{day.isoformat()} is not a trading day (weekend or holiday)")
    if requested is not None:
        return Gate(True, day, f"backfill of trading day {day.isoformat()}", session)
    opens = session.open_at
    if moment < opens - OPEN_WINDOW_BEFORE:
        return Gate(
            False,
            day,
            f"too early: the market opens at {new_york_time(opens)}; not this invocation",
        )
    if moment > opens + OPEN_WINDOW_AFTER:
        return Gate(
            False,
            day,
            f"too late: the market opened at {new_york_time(opens)}; not this invocation",
        )
    return Gate(True, day, f"trading day {day.isoformat()}, at the open", session)


def new_york_time(moment: datetime) -> str:
    """An instant as people near the exchange read it: `09:30 New York time (13:30 UTC)`."""
    utc = require_aware_utc(moment)
    return f"{utc.astimezone(NEW_YORK):%H:%M} New York time ({utc:%H:%M} UTC)"


def previous_trading_day(sessions: Sequence[TradingSession], day: date) -> date | None:
    """The last trading day before `day` in the calendar."""
    earlier = [session.date for session in sessions if session.date < day]
    return max(earlier) if earlier else None


def collection_days(sessions: Sequence[TradingSession], day: date) -> list[date]:
    """Every calendar day from the previous trading day through `day` (weekends and holidays
    in between included): the days of Quiver data the run collects."""
    first = previous_trading_day(sessions, day) or day
    return [first + timedelta(days=offset) for offset in range((day - first).days + 1)]
