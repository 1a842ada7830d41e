"""The sandbox's market: its calendar (weekdays minus holidays, 09:30-16:00 New York, half days to
13:00) and its answers to Alpaca's `GET /v2/clock` and `GET /v2/calendar`, and its latest trades.

The default holidays and half days are NYSE's for 2024-2026; the sandbox takes others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox.orders import order_timestamp

NYSE_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(day)
    for day in [
        "2024-01-01",
        "2024-01-15",
        "2024-02-19",
        "2024-03-29",
        "2024-05-27",
        "2024-06-19",
        "2024-07-04",
        "2024-09-02",
        "2024-11-28",
        "2024-12-25",
        "2025-01-01",
        "2025-01-09",
        "2025-01-20",
        "2025-02-17",
        "2025-04-18",
        "2025-05-26",
        "2025-06-19",
        "2025-07-04",
        "2025-09-01",
        "2025-11-27",
        "2025-12-25",
        "2026-01-01",
        "2026-01-19",
        "2026-02-16",
        "2026-04-03",
        "2026-05-25",
        "2026-06-19",
        "2026-07-03",
        "2026-09-07",
        "2026-11-26",
        "2026-12-25",
    ]
)
NYSE_HALF_DAYS: frozenset[date] = frozenset(
    date.fromisoformat(day)
    for day in [
        "2024-07-03",
        "2024-11-29",
        "2024-12-24",
        "2025-07-03",
        "2025-11-28",
        "2025-12-24",
        "2026-11-27",
        "2026-12-24",
    ]
)
OPEN = time(9, 30)
CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)
_SEARCH_DAYS = 30


@dataclass(frozen=True)
class MarketCalendar:
    """Which days trade and when, in New York time."""

    holidays: frozenset[date] = NYSE_HOLIDAYS
    half_days: frozenset[date] = NYSE_HALF_DAYS

    def with_days(
        self, *, holidays: Iterable[date] = (), half_days: Iterable[date] = ()
    ) -> MarketCalendar:
        """This calendar with more holidays and half days."""
        return MarketCalendar(
            holidays=self.holidays | frozenset(holidays),
            half_days=self.half_days | frozenset(half_days),
        )

    def is_trading_day(self, day: date) -> bool:
        """True on a weekday that is not a holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def close_time(self, day: date) -> time:
        """16:00, or 13:00 on a half day."""
        return EARLY_CLOSE if day in self.half_days else CLOSE

    def open_at(self, day: date) -> datetime:
        """The open of `day` as an aware UTC instant."""
        return datetime.combine(day, OPEN, NEW_YORK).astimezone(UTC)

    def close_at(self, day: date) -> datetime:
        """The close of `day` as an aware UTC instant."""
        return datetime.combine(day, self.close_time(day), NEW_YORK).astimezone(UTC)

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days from `start` to `end` inclusive."""
        days = []
        day = start
        while day <= end:
            if self.is_trading_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def next_trading_day(self, after: date) -> date:
        """The first trading day strictly after `after`."""
        day = after + timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            if self.is_trading_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no trading day within {_SEARCH_DAYS} days after {after}")

    def previous_trading_day(self, before: date) -> date:
        """The last trading day strictly before `before`."""
        day = before - timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            if self.is_trading_day(day):
                return day
            day -= timedelta(days=1)
        raise ValueError(f"no trading day within {_SEARCH_DAYS} days before {before}")

    def is_open(self, instant: datetime) -> bool:
        """True while the market is open at `instant`."""
        day = instant.astimezone(NEW_YORK).date()
        return self.is_trading_day(day) and self.open_at(day) <= instant < self.close_at(day)

    def next_open(self, instant: datetime) -> datetime:
        """The first open strictly after `instant`."""
        day = instant.astimezone(NEW_YORK).date()
        if self.is_trading_day(day) and instant < self.open_at(day):
            return self.open_at(day)
        return self.open_at(self.next_trading_day(day))

    def next_close(self, instant: datetime) -> datetime:
        """The first close strictly after `instant`."""
        day = instant.astimezone(NEW_YORK).date()
        if self.is_trading_day(day) and instant < self.close_at(day):
            return self.close_at(day)
        return self.close_at(self.next_trading_day(day))

    def clock_payload(self, now: datetime, nanos: int) -> dict[str, Any]:
        """`GET /v2/clock` at `now` (`nanos` fills the timestamp's last three digits)."""
        return {
            "timestamp": _et(now, nanos),
            "is_open": self.is_open(now),
            "next_open": _et(self.next_open(now)),
            "next_close": _et(self.next_close(now)),
        }

    def calendar_payload(self, start: date, end: date) -> list[dict[str, Any]]:
        """`GET /v2/calendar?start=&end=`: one entry per trading day, times in New York."""
        return [
            {
                "date": day.isoformat(),
                "open": OPEN.strftime("%H:%M"),
                "close": self.close_time(day).strftime("%H:%M"),
                "session_open": "0400",
                "session_close": "1700" if day in self.half_days else "2000",
                "settlement_date": self.next_trading_day(day).isoformat(),
            }
            for day in self.trading_days(start, end)
        ]


def latest_trade_payload(price: Decimal, now: datetime, sequence: int) -> dict[str, Any]:
    """The `trade` of `GET /v2/stocks/{symbol}/trades/latest`: at `price`, just before `now`."""
    return {
        "t": order_timestamp(now - timedelta(milliseconds=250), sequence),
        "x": "V",
        # A JSON number with every digit, like the real API (integral prices as integers).
        "p": int(price) if price == price.to_integral_value() else price,
        "s": 100,
        "c": ["@"],
        "i": 52983525000 + sequence,
        "z": "C",
    }


def _et(instant: datetime, nanos: int | None = None) -> str:
    """Alpaca's clock timestamp: New York wall time with its offset, optionally nanoseconds."""
    local = instant.astimezone(NEW_YORK)
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    if nanos is None:
        return f"{local:%Y-%m-%dT%H:%M:%S}{offset}"
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}{nanos % 1000:03d}{offset}"
