"""The open-job's gate and collection window, across seasons, weekends, holidays and half days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.worker.schedule import collection_days, decide_gate, previous_trading_day

HOLIDAYS_2024 = {
    date(2024, 1, 1),
    date(2024, 6, 19),
    date(2024, 7, 4),
    date(2024, 11, 28),
    date(2024, 12, 25),
}
HALF_DAYS_2024 = {date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24)}


@dataclass(frozen=True)
class Session:
    """A calendar day as Alpaca describes it: a date and New York opening/closing times."""

    date: date
    open: time = time(9, 30)
    close: time = time(16, 0)

    @property
    def open_at(self) -> datetime:
        return datetime.combine(self.date, self.open, NEW_YORK).astimezone(UTC)


def calendar(start: date, end: date) -> list[Session]:
    """A 2024 market calendar: weekdays minus holidays, half days closing at 13:00."""
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5 and day not in HOLIDAYS_2024:
            days.append(Session(day, close=time(13) if day in HALF_DAYS_2024 else time(16)))
        day += timedelta(days=1)
    return days


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def gate_at(now: datetime) -> tuple[bool, str]:
    today = now.astimezone(NEW_YORK).date()
    decision = decide_gate(now, calendar(today - timedelta(days=14), today))
    return decision.run, decision.reason


@pytest.mark.parametrize(
    ("now", "runs"),
    [
        # Summer (EDT, UTC-4): 13:30 UTC is 9:30 in New York; 14:30 UTC is 10:30.
        (utc(2024, 6, 20, 13, 30), True),
        (utc(2024, 6, 20, 14, 30), False),
        # Winter (EST, UTC-5): 13:30 UTC is 8:30; 14:30 UTC is 9:30.
        (utc(2024, 1, 8, 13, 30), False),
        (utc(2024, 1, 8, 14, 30), True),
        # The Monday after clocks moved forward (10 March 2024).
        (utc(2024, 3, 11, 13, 30), True),
        (utc(2024, 3, 11, 14, 30), False),
        # The Friday before, still on EST.
        (utc(2024, 3, 8, 13, 30), False),
        (utc(2024, 3, 8, 14, 30), True),
        # The Monday after clocks moved back (3 November 2024).
        (utc(2024, 11, 4, 13, 30), False),
        (utc(2024, 11, 4, 14, 30), True),
        # A cron that fires a few minutes late still counts as the open.
        (utc(2024, 6, 20, 13, 41), True),
    ],
)
def test_exactly_one_of_the_two_scheduled_invocations_runs(now: datetime, runs: bool) -> None:
    assert gate_at(now)[0] is runs


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (utc(2024, 6, 22, 13, 30), "2024-06-22 is not a trading day"),  # Saturday
        (utc(2024, 6, 19, 13, 30), "2024-06-19 is not a trading day"),  # Juneteenth
        (utc(2024, 12, 25, 14, 30), "2024-12-25 is not a trading day"),
    ],
)
def test_weekends_and_holidays_do_not_run(now: datetime, reason: str) -> None:
    runs, why = gate_at(now)

    assert runs is False
    assert reason in why


def test_a_half_day_runs_at_the_open_like_any_other() -> None:
    assert gate_at(utc(2024, 7, 3, 13, 30)) == (True, "trading day 2024-07-03, at the open")


def test_the_reason_says_why_the_other_invocation_exits() -> None:
    assert "too late" in gate_at(utc(2024, 6, 20, 14, 30))[1]
    assert "too early" in gate_at(utc(2024, 1, 8, 13, 30))[1]


def test_a_requested_trading_day_runs_whatever_the_time() -> None:
    sessions = calendar(date(2024, 6, 1), date(2024, 6, 30))

    backfill = decide_gate(utc(2024, 11, 24, 3, 0), sessions, requested=date(2024, 6, 18))
    holiday = decide_gate(utc(2024, 11, 24, 3, 0), sessions, requested=date(2024, 6, 19))

    assert (backfill.run, backfill.trading_day) == (True, date(2024, 6, 18))
    assert holiday.run is False


@pytest.mark.parametrize(
    ("day", "previous", "collected"),
    [
        # A Monday collects Friday, the weekend and Monday.
        (date(2024, 6, 17), date(2024, 6, 14), 4),
        # The day after Juneteenth collects Tuesday, the holiday and Thursday.
        (date(2024, 6, 20), date(2024, 6, 18), 3),
        # After the 4 July holiday, the half day before it is the previous trading day.
        (date(2024, 7, 5), date(2024, 7, 3), 3),
        # An ordinary Wednesday collects Tuesday and Wednesday.
        (date(2024, 6, 12), date(2024, 6, 11), 2),
        # After New Year's Day, across the year boundary.
        (date(2024, 1, 2), date(2023, 12, 29), 5),
    ],
)
def test_collection_runs_from_the_previous_trading_day_through_today(
    day: date, previous: date, collected: int
) -> None:
    sessions = [*calendar(date(2023, 12, 15), date(2023, 12, 29)), *calendar(date(2024, 1, 1), day)]
    sessions = [s for s in sessions if s.date not in {date(2023, 12, 25)}]

    days = collection_days(sessions, day)

    assert previous_trading_day(sessions, day) == previous
    assert days[0] == previous
    assert days[-1] == day
    assert len(days) == collected
    assert days == [previous + timedelta(days=n) for n in range(collected)]
