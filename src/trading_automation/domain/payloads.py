"""How Alpaca writes numbers and instants in JSON, parsed exactly, once, at the boundary.

Numbers come as strings (`"4.180203894"`) or JSON numbers, instants as ISO 8601 text with up to
nine fractional digits. `ApiDecimal` and `ApiDatetime` are the pydantic field types every Alpaca
payload model uses (orders here, the rest in `trading_automation.clients.models`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

# Alpaca timestamps carry nanoseconds; Python keeps microseconds.
_FRACTION = re.compile(r"(\.\d{6})\d+")


def api_timestamp(value: object) -> object:
    """Trim nanoseconds to microseconds; an empty string is no value."""
    if isinstance(value, str):
        text = value.strip()
        return _FRACTION.sub(r"\1", text) if text else None
    return value


def api_number(value: object) -> object:
    """A JSON number as the digits that were sent; an empty string is no value."""
    if isinstance(value, float):
        # A JSON number arrives as a float; its shortest repr is the digits that were sent.
        return repr(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


# The Maybe* forms accept null and "" as None: the cleaning runs before the union's check.
ApiDecimal = Annotated[Decimal, BeforeValidator(api_number)]
MaybeDecimal = Annotated[Decimal | None, BeforeValidator(api_number)]
ApiDatetime = Annotated[AwareDatetime, BeforeValidator(api_timestamp), AfterValidator(_utc)]
MaybeDatetime = Annotated[
    AwareDatetime | None, BeforeValidator(api_timestamp), AfterValidator(_utc)
]
