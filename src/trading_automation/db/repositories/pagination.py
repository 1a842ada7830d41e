"""Keyset (cursor) pagination: each page continues from the last row seen, never from an OFFSET.

A cursor is an opaque URL-safe token naming a row by its sort key and id. Pages cost the same
however deep they are, and rows inserted meanwhile do not shift later pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from trading_automation.errors import InvalidValueError

T = TypeVar("T")
Direction = Literal["next", "prev"]
MAX_PAGE_SIZE = 500


class InvalidCursorError(InvalidValueError):
    """A page cursor could not be read: it was altered or truncated; start from the first page."""


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first listing: the row's sort key and id, and which way to go."""

    key: datetime | date | None
    id: uuid.UUID
    direction: Direction = "next"

    def encode(self) -> str:
        """The opaque token to hand to a client."""
        key: str | None
        if self.key is None:
            key = None
        elif isinstance(self.key, datetime):
            key = "t" + self.key.isoformat()
        else:
            key = "d" + self.key.isoformat()
        payload = json.dumps([key, self.id.hex, self.direction], separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, field: str = "cursor") -> Cursor:
        """Read a token made by `encode`; raise `InvalidCursorError` for anything else."""
        try:
            padded = token + "=" * (-len(token) % 4)
            key, id_hex, direction = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if direction not in ("next", "prev"):
                raise ValueError(direction)
            parsed_key: datetime | date | None
            if key is None:
                parsed_key = None
            elif key.startswith("t"):
                parsed_key = datetime.fromisoformat(key[1:])
                if parsed_key.tzinfo is None:
                    raise ValueError("naive timestamp")
            elif key.startswith("d"):
                parsed_key = date.fromisoformat(key[1:])
            else:
                raise ValueError(key)
            return cls(key=parsed_key, id=uuid.UUID(hex=id_hex), direction=direction)
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, AttributeError):
            raise InvalidCursorError(field, "not a valid page cursor") from None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, with cursors to the pages around it (None at either end)."""

    items: Sequence[T]
    next_cursor: str | None
    prev_cursor: str | None


def check_page_size(limit: int) -> int:
    """Refuse page sizes outside 1..MAX_PAGE_SIZE."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidValueError("limit", f"must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    return limit
