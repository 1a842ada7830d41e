"""The JSON API's encoding: figures as exact strings, stored documents with their numbers exact.

A figure the dashboard computed (money, quantities, percentages) is a string (`"1000.00"`), so no
client parses it through a binary float. A stored JSON document (a Quiver record as received, a
run's summary) is sent as it was stored: its numbers stay JSON numbers, with every digit the
database holds (`123456789.123456789`, read back as a `Decimal`), which the standard library's
encoder cannot write.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from starlette.responses import JSONResponse

# Dataclass field metadata marking a stored JSON document, sent as it is.
DOCUMENT: dict[str, Any] = {"document": True}


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: decimals as strings, dates and times as ISO 8601, enums by value.

    Fields marked `DOCUMENT` keep their numbers as numbers (see the module docstring).
    """
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: (
                _document(getattr(value, field.name))
                if field.metadata.get("document")
                else jsonable(getattr(value, field.name))
            )
            for field in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def _document(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _document(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_document(item) for item in value]
    if value is None or isinstance(value, str | int | float | Decimal):
        return value
    return jsonable(value)


def dumps(value: Any, *, pretty: bool = False) -> str:
    """JSON text of a `jsonable` value, with `Decimal` numbers written exactly.

    Compact by default; `pretty` puts a space after `,` and `:` for reading on a page.
    """
    comma, colon = (", ", ": ") if pretty else (",", ":")
    try:
        # The standard encoder (in C) for everything without a Decimal or a non-finite float.
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(comma, colon))
    except (TypeError, ValueError):
        parts: list[str] = []
        _encode(value, parts, comma, colon)
        return "".join(parts)


def _encode(value: Any, parts: list[str], comma: str, colon: str) -> None:
    if isinstance(value, str):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif value is None or isinstance(value, bool):
        parts.append(json.dumps(value))
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, Decimal):
        # A JSON number as stored ("1E+3" is one); NaN and Infinity are not numbers in JSON.
        parts.append(str(value) if value.is_finite() else json.dumps(str(value)))
    elif isinstance(value, float):
        # As JSON writers that allow them spell them ("NaN", "Infinity"), but as text.
        parts.append(repr(value) if math.isfinite(value) else f'"{json.dumps(value)}"')
    elif isinstance(value, dict):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                parts.append(comma)
            parts.append(json.dumps(str(key), ensure_ascii=False))
            parts.append(colon)
            _encode(item, parts, comma, colon)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(comma)
            _encode(item, parts, comma, colon)
        parts.append("]")
    else:
        raise TypeError(f"not JSON: {type(value).__name__}")


def document_text(value: Any) -> str:
    """A stored JSON document as readable JSON text, its numbers exact (for a page)."""
    return dumps(_document(value), pretty=True)


class ExactJSONResponse(JSONResponse):
    """A JSON response written by `dumps`: exact numbers in stored documents."""

    def render(self, content: Any) -> bytes:
        # A lone surrogate (only ever inside a string) is written as its JSON escape, `\udc80`.
        return dumps(content).encode("utf-8", "backslashreplace")
