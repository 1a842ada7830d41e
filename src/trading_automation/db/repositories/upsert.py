"""The dialect's own INSERT, the one that offers ON CONFLICT (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def conflict_insert(session: Session, model: Any) -> Any:
    """`insert(model)` with `.on_conflict_do_nothing()` / `.on_conflict_do_update()`."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
