"""JSON as the APIs send it, exactly: numbers keep every digit they were sent with.

`loads` is the one JSON parser of responses and stored documents: a number with a fraction or an
exponent becomes a `Decimal` (never a binary float, which would turn `123456789.123456789` into
`123456789.12345679`), an integer stays an `int` (a `Decimal` past Python's 4,300-digit limit for
`int`), and `NaN`/`Infinity` (which some JSON writers emit) stay floats.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# Python refuses to convert integers of more digits than this from text (CVE-2020-10735).
_INT_DIGITS = 4300


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text) < _INT_DIGITS else Decimal(text)


def loads(text: str | bytes | bytearray) -> Any:
    """Parse JSON text with exact numbers (see the module docstring)."""
    return json.loads(text, parse_float=Decimal, parse_int=_integer)
