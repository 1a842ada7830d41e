"""The dashboard's query parameters: read, checked, and written back into page links.

A bad value raises `InvalidValueError` naming the parameter, which the application answers with
a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from urllib.parse import urlencode

from trading_automation.db.repositories.pagination import MAX_PAGE_SIZE
from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.errors import InvalidValueError

DEFAULT_PAGE_SIZE = 50
MALFORMED_CHOICES: dict[str, bool | None] = {"any": None, "only": True, "none": False}
# The filings page's decision filter (see `db.repositories.feed_listing.DECISIONS`).
DECISION_CHOICES = ("any", "traded", "skipped", "amendment", "undecided")
STATUS_ORDER = [status.value for status in TradeStatus]


def text_param(params: Mapping[str, str], name: str) -> str | None:
    """The parameter trimmed; None when absent or blank."""
    value = params.get(name)
    return value.strip() or None if value is not None else None


def date_param(params: Mapping[str, str], name: str) -> date | None:
    """A `YYYY-MM-DD` parameter."""
    text = text_param(params, name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(name, f"expected a date as YYYY-MM-DD, got {text!r}") from None


def limit_param(params: Mapping[str, str]) -> int:
    """`limit`: 1 to the largest page, `DEFAULT_PAGE_SIZE` when absent."""
    text = text_param(params, "limit")
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise InvalidValueError("limit", f"expected a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def status_param(params: Mapping[str, str]) -> TradeStatus | None:
    """`status`, any case."""
    text = text_param(params, "status")
    if text is None:
        return None
    try:
        return TradeStatus(text.upper())
    except ValueError:
        raise InvalidValueError("status", f"expected one of {', '.join(STATUS_ORDER)}") from None


def start_of(day: date) -> datetime:
    """Midnight in New York at the start of `day`: trade dates are New York dates."""
    return datetime.combine(day, time(0), NEW_YORK)


def present(**values: str | None) -> dict[str, str]:
    """The values that are set."""
    return {key: value for key, value in values.items() if value}


def page_url(
    path: str, filters: Mapping[str, str], cursor: str | None, *, always: bool = False
) -> str | None:
    """The URL of a page of `path` with these filters (None without a cursor, unless `always`)."""
    if cursor is None and not always:
        return None
    query = dict(filters)
    if cursor is not None:
        query["cursor"] = cursor
    return f"{path}?{urlencode(query)}" if query else path
