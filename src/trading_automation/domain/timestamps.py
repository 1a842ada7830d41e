"""Timezone-aware time: the system holds UTC instants and America/New_York trading dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from trading_automation.errors import InvalidValueError

NEW_YORK = ZoneInfo("America/New_York")


class NaiveDatetimeError(InvalidValueError):
    """A datetime without a timezone reached the database: attach a tzinfo (UTC) at the boundary."""


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def require_aware_utc(value: datetime, *, field: str = "datetime") -> datetime:
    """Return `value` converted to UTC, refusing a naive datetime."""
    if not isinstance(value, datetime):
        raise InvalidValueError(field, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            field, f"naive datetime {value.isoformat()} refused; pass a timezone-aware datetime"
        )
    return value.astimezone(UTC)


def trading_date_et(instant: datetime) -> date:
    """The America/New_York calendar date of an aware instant."""
    return require_aware_utc(instant).astimezone(NEW_YORK).date()
