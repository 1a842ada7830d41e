"""JSON as the APIs send it, exactly: numbers keep every digit they were sent with.

`loads` is the one JSON parser of responses and stored documents: a number with a fraction or an
exponent becomes a `Decimal` (never a binary float, which would turn `123456789.123456789` into
`123456789.12345679`), an integer stays an `int` (a `Decimal` past Python's 4,300-digit limit for
`int`), and `NaN`/`Infinity` (which some JSON writers emit) stay floats.

`dumps` writes such values back as compact JSON with each `Decimal` as a JSON number: as the
shortest float text when that text has the same value (`4.02`, exactly what a float-based writer
gave for the same number), else with all its digits (`123456789.123456789`). So what `loads` read,
`dumps` writes with the same value, and text written before numbers were parsed exactly is
written the same way again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

# Python refuses to convert integers of more digits than this from text (CVE-2020-10735).
_INT_DIGITS = 4300
_SEPARATORS = (",", ":")


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text) < _INT_DIGITS else Decimal(text)


def loads(text: str | bytes | bytearray) -> Any:
    """Parse JSON text with exact numbers (see the module docstring)."""
    return json.loads(text, parse_float=Decimal, parse_int=_integer)


class _NeedsAllDigits(Exception):
    """A Decimal that no float text equals: the document takes the exact writer."""


def dumps(
    value: Any,
    *,
    sort_keys: bool = False,
    ensure_ascii: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """Compact JSON text with every `Decimal` written as an exact number (module docstring)."""

    def as_float(item: Any) -> Any:
        if isinstance(item, Decimal):
            number = _same_float(item)
            if number is None:
                raise _NeedsAllDigits
            return number
        if default is None:
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")
        return default(item)

    try:
        # The C encoder for the common case; floats that equal their Decimal say the same thing.
        return json.dumps(
            value,
            default=as_float,
            sort_keys=sort_keys,
            ensure_ascii=ensure_ascii,
            separators=_SEPARATORS,
        )
    except _NeedsAllDigits:
        return "".join(_exact(value, sort_keys, ensure_ascii, default))


def number_text(value: Decimal) -> str:
    """A Decimal as a JSON number: its shortest float text when equal in value, else every digit."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("-Infinity" if value.is_signed() else "Infinity")
    number = _same_float(value)
    return repr(number) if number is not None else str(value)


def _same_float(value: Decimal) -> float | None:
    if not value.is_finite():
        return None
    number = float(value)
    return number if Decimal(repr(number)) == value else None


def _exact(
    value: Any, sort_keys: bool, ensure_ascii: bool, default: Callable[[Any], Any] | None
) -> Iterator[str]:
    if isinstance(value, str) or value is None or isinstance(value, bool | int | float):
        yield json.dumps(value, ensure_ascii=ensure_ascii)
    elif isinstance(value, Decimal):
        yield number_text(value)
    elif isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        yield "{"
        for index, (key, item) in enumerate(items):
            yield ("," if index else "") + json.dumps(_key(key), ensure_ascii=ensure_ascii) + ":"
            yield from _exact(item, sort_keys, ensure_ascii, default)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _exact(item, sort_keys, ensure_ascii, default)
        yield "]"
    elif default is not None:
        yield from _exact(default(value), sort_keys, ensure_ascii, default)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any) -> str:
    # Object keys as the standard encoder writes them.
    if isinstance(key, str):
        return key
    if isinstance(key, Decimal):
        return number_text(key)
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
