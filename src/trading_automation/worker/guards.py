"""The guardrails that decide whether a filing's order is sent: TRADING_ENABLED and the caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from typing import TYPE_CHECKING

from trading_automation.db import TradeStatus
from trading_automation.domain.timestamps import NEW_YORK

if TYPE_CHECKING:
    from trading_automation.config import Settings

GUARD_TRADING_DISABLED = "trading_disabled"
GUARD_DAILY_MAX = "daily_max_filings"
GUARD_TICKER_MAX = "per_ticker_daily_max"

# Trades that placed no order do not use up a cap.
NOT_COUNTED_FOR_CAPS = (TradeStatus.SKIPPED, TradeStatus.FAILED)


@dataclass(frozen=True)
class Guard:
    """A guardrail that stopped a filing: its code (summary key) and the reason in words."""

    code: str
    reason: str


def guard_decision(
    settings: Settings, symbol: str, day: date, *, placed_today: int, placed_symbol_today: int
) -> Guard | None:
    """The guardrail that stops this filing, or None to send it."""
    if not settings.trading_enabled:
        return Guard(GUARD_TRADING_DISABLED, "TRADING_ENABLED is false: recorded, not sent")
    cap = settings.daily_max_filings
    if cap is not None and placed_today >= cap:
        return Guard(GUARD_DAILY_MAX, f"DAILY_MAX_FILINGS ({cap}) reached for {day}")
    ticker_cap = settings.per_ticker_daily_max
    if ticker_cap is not None and placed_symbol_today >= ticker_cap:
        return Guard(
            GUARD_TICKER_MAX, f"PER_TICKER_DAILY_MAX ({ticker_cap}) reached for {symbol} on {day}"
        )
    return None


def caps_apply(settings: Settings) -> bool:
    """True when a daily cap is set and trading is on: counting must happen under the lock."""
    return settings.trading_enabled and (
        settings.daily_max_filings is not None or settings.per_ticker_daily_max is not None
    )


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants a New York calendar day starts and ends (aware)."""
    start = datetime.combine(day, wall_time(0), NEW_YORK)
    return start, start + timedelta(days=1)
