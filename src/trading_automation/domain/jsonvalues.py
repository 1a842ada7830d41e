"""JSON as the APIs send it, exactly, and in a form every database column can hold.

`loads` is the one JSON parser of responses and stored documents: a number with a fraction or an
exponent becomes a `Decimal` (never a binary float, which would turn `123456789.123456789` into
`123456789.12345679`), an integer stays an `int` (a `Decimal` past Python's 4,300-digit limit for
`int`), and `NaN`/`Infinity` (which some JSON writers emit) stay floats.

`dumps` writes such values back as compact JSON with each `Decimal` as a JSON number: as Python's
shortest float text when that float holds it without loss (`4.02`, exactly what a float-based
writer gave for the same number), else with all its digits (`123456789.123456789`). So what
`loads` read, `dumps` writes with the same value, and text written before numbers were parsed
exactly is written the same way again. `canonical_json` is SPEC §4's canonical JSON (sorted keys,
no spaces, unicode as is), what the feed's `row_hash` is computed from. Both work at any nesting
depth.

`storage_text` is what a raw record's JSON column receives. PostgreSQL's JSONB cannot hold a NUL
character (`\\u0000`), a lone UTF-16 surrogate, `NaN`/`Infinity`, or a number beyond NUMERIC's
range, rewrites numbers written with an exponent (`1e-05` reads back as `0.00001`) and negative
zero, and neither database's driver can encode a lone surrogate. Such a record, a record nested
more than `MAX_STORED_DEPTH` levels, a bare number (which SQLite's column affinity would turn
into a binary number), and a record that is itself `{"$json": …}` are stored as
`{"$json": "<the record's canonical JSON, non-ASCII characters escaped>"}` — plain ASCII, lossless.
`decode_stored` reverses it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# Python refuses to convert integers of more digits than this to or from text (CVE-2020-10735);
# an integer of more bits than `_INT_BITS` may have that many digits.
_INT_DIGITS = 4300
_INT_BITS = 14_000
_SEPARATORS = (",", ":")
ENVELOPE_KEY = "$json"
MAX_STORED_DEPTH = 100
# PostgreSQL NUMERIC: at most 131,072 digits before the decimal point and 16,383 after it.
_MAX_ADJUSTED_EXPONENT = 131_071
_MAX_FRACTION_DIGITS = 16_383


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text) < _INT_DIGITS else Decimal(text)


def loads(text: str | bytes | bytearray) -> Any:
    """Parse JSON text with exact numbers (see the module docstring)."""
    return json.loads(text, parse_float=Decimal, parse_int=_integer)


class _NeedsAllDigits(Exception):
    """A number no float text equals, or a document too deep for the C encoder."""


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
        # The C encoder for the common case: a float that equals its Decimal says the same.
        return json.dumps(
            value,
            default=as_float,
            sort_keys=sort_keys,
            ensure_ascii=ensure_ascii,
            separators=_SEPARATORS,
        )
    except (_NeedsAllDigits, RecursionError, ValueError):
        # ValueError: an integer past Python's digit limit, which `int.__repr__` refuses.
        return _write_any_depth(value, sort_keys, ensure_ascii, default)


def canonical_json(value: Any, *, ascii_only: bool = False) -> str:
    """SPEC §4's canonical JSON of a value (see the module docstring); any depth.

    `ascii_only` escapes every non-ASCII character (`\\u00e9`), so the text holds no NUL and no
    lone surrogate.
    """
    return dumps(value, sort_keys=True, ensure_ascii=ascii_only)


def number_text(value: int | float | Decimal) -> str:
    """A JSON number as `dumps` writes it."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return int.__repr__(value) if value.bit_length() < _INT_BITS else str(Decimal(value))
    if isinstance(value, float):
        return _float_text(value)
    if not value.is_finite():
        return _float_text(float(value))
    number = _same_float(value)
    return float.__repr__(number) if number is not None else str(value)


def _same_float(value: Decimal) -> float | None:
    """The float equal in value to `value` when its shortest text says the same, else None."""
    if not value.is_finite():
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return number if Decimal(float.__repr__(number)) == value else None


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _string(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)


def _write_any_depth(
    value: Any, sort_keys: bool, ascii_only: bool, default: Callable[[Any], Any] | None
) -> str:
    """`dumps` without recursion, for what the C encoder cannot write."""
    parts: list[str] = []
    # Work still to do, last first: a value to write (False, value) or text to emit (True, text).
    stack: list[tuple[bool, Any]] = [(False, value)]
    while stack:
        is_text, item = stack.pop()
        if is_text:
            parts.append(item)
        elif isinstance(item, list | tuple):
            parts.append("[")
            stack.extend(_array_work(item))
        elif isinstance(item, dict):
            parts.append("{")
            stack.extend(_object_work(item, sort_keys, ascii_only))
        elif _is_scalar(item):
            parts.append(_scalar_text(item, ascii_only))
        elif default is not None:
            stack.append((False, default(item)))
        else:
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")
    return "".join(parts)


def _array_work(items: list[Any] | tuple[Any, ...]) -> list[tuple[bool, Any]]:
    work: list[tuple[bool, Any]] = [(True, "]")]
    for index in range(len(items) - 1, -1, -1):
        work.append((False, items[index]))
        if index:
            work.append((True, ","))
    return work


def _object_work(
    members: dict[Any, Any], sort_keys: bool, ascii_only: bool
) -> list[tuple[bool, Any]]:
    keys = sorted(members) if sort_keys else list(members)
    work: list[tuple[bool, Any]] = [(True, "}")]
    for index in range(len(keys) - 1, -1, -1):
        key = keys[index]
        work.append((False, members[key]))
        work.append((True, _string(_key(key), ascii_only) + ":"))
        if index:
            work.append((True, ","))
    return work


def _key(key: Any) -> str:
    """An object key as the standard encoder writes it."""
    if isinstance(key, str):
        return key
    if isinstance(key, Decimal):
        return number_text(key)
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _is_scalar(item: Any) -> bool:
    return item is None or isinstance(item, str | bool | int | float | Decimal)


def _scalar_text(item: Any, ascii_only: bool) -> str:
    if item is None:
        return "null"
    if item is True:
        return "true"
    if item is False:
        return "false"
    if isinstance(item, str):
        return _string(item, ascii_only)
    return number_text(item)


def unstorable_reason(value: Any) -> str | None:
    """Why a JSON column could not hold `value` as it is, or None when it can."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return problem
        elif isinstance(item, float | Decimal):
            problem = _number_problem(item)
            if problem:
                return problem
        elif isinstance(item, list | tuple | dict):
            if depth > MAX_STORED_DEPTH:
                return f"nested more than {MAX_STORED_DEPTH} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = _text_problem(key) if isinstance(key, str) else None
                    if problem:
                        return problem
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a string holds a NUL character"
    if _SURROGATE.search(text):
        return "a string holds a lone surrogate"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")
# What the canonical text of a value JSONB cannot hold as it is may show: an escaped NUL, a lone
# surrogate, NaN or Infinity, an exponent, negative zero. A sign of one (possibly inside a string)
# only sends the value to the exact check; none means there is nothing to find.
_EXPONENT = re.compile("[0-9][eE]")
_NEGATIVE_ZERO = re.compile("-0(?:\\.0+)?(?![0-9.eE])")
# Longer canonical texts may hold a number beyond NUMERIC's digits: checked exactly.
_LONG_TEXT = 100_000


def _surely_storable(canonical: str) -> bool:
    """True when the canonical text shows none of what `unstorable_reason` looks for (cheap
    tests first: this runs for every record stored)."""
    if len(canonical) > _LONG_TEXT:
        return False
    if canonical.count("[") + canonical.count("{") > MAX_STORED_DEPTH:
        return False
    if "\\u0000" in canonical or "NaN" in canonical or "Infinity" in canonical:
        return False
    if not canonical.isascii() and _SURROGATE.search(canonical):
        return False
    if _EXPONENT.search(canonical):
        return False
    return "-0" not in canonical or _NEGATIVE_ZERO.search(canonical) is None


def _number_problem(number: float | Decimal) -> str | None:
    text = number_text(number)
    if text in _NOT_JSON:
        return f"the number {text} is not valid JSON"
    if isinstance(number, Decimal):
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        if number.adjusted() > _MAX_ADJUSTED_EXPONENT or -exponent > _MAX_FRACTION_DIGITS:
            return "a number is beyond the range a database column holds"
    # JSONB keeps a number's value but writes it without an exponent and without the sign of
    # zero: the record would no longer read back as the text it was hashed from.
    if "e" in text or "E" in text or (text.startswith("-") and Decimal(text).is_zero()):
        return f"JSONB would rewrite the number {text}"
    return None


_NOT_JSON = frozenset({"NaN", "Infinity", "-Infinity"})


_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")


def without_unstorable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD (for the system's own texts)."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE_CHARS.sub("\ufffd", text) if _UNSTORABLE_CHARS.search(text) else text


def sanitized(value: Any) -> Any:
    """A JSON document of the system's own (a run summary, an order payload) that any JSON
    column holds: strings and keys pass through `without_unstorable`. Lossy, by design."""
    if unstorable_reason(value) is None:
        return value
    return _sanitized(value)


def _sanitized(value: Any) -> Any:
    if isinstance(value, str):
        return without_unstorable(value)
    if isinstance(value, dict):
        return {
            without_unstorable(key) if isinstance(key, str) else key: _sanitized(child)
            for key, child in value.items()
        }
    if isinstance(value, list | tuple):
        return [_sanitized(child) for child in value]
    return value


def is_envelope(value: Any) -> bool:
    """True for the stored form of a record no JSON column could hold as it is."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(ENVELOPE_KEY), str)


def storage_text(value: Any, canonical: str | None = None) -> str:
    """The JSON text a JSON column stores for `value`: its canonical JSON, or the envelope.

    `canonical` is `canonical_json(value)` when the caller already has it.
    """
    # A bare number is enveloped too: SQLite's NUMERIC column affinity would turn its JSON text
    # into a binary number.
    bare_number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if not bare_number and not is_envelope(value):
        text = canonical if canonical is not None else canonical_json(value)
        if _surely_storable(text) or unstorable_reason(value) is None:
            return text
    return canonical_json({ENVELOPE_KEY: canonical_json(value, ascii_only=True)})


def decode_stored(value: Any) -> Any:
    """The value a JSON column's content stands for (undoes the envelope of `storage_text`)."""
    if is_envelope(value):
        return loads(value[ENVELOPE_KEY])
    return value


class StoredJson(str):
    """JSON text already in storage form: the engine's JSON serializer sends it as it is."""

    __slots__ = ()
