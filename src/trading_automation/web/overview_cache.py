"""The overview's aggregates, computed again only when the database has changed since.

Totals, per-day counts and the P&L's sums read every trade: at 100,000 trades that takes a few
hundred milliseconds, for figures that change only when something writes to the database. So they
are kept with a marker of the database's state, and a request that reads the same marker reuses
them; any commit changes the marker, and the next request computes them afresh, exactly.

- PostgreSQL: `pg_current_snapshot()`. Two equal snapshots see the same committed transactions,
  so they see the same rows. Any commit in the cluster changes it (recomputing more often than
  needed, never less).
- SQLite: `PRAGMA data_version` on a connection of the cache's own, which never writes: it
  changes whenever another connection, in this process or any other, commits to the file. An
  in-memory database has no such connection and is not cached.

The marker is read before the aggregates, so aggregates are never older than the marker stored
with them: a commit in between only costs one more computation.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Hashable
from pathlib import Path

from sqlalchemy import text

from trading_automation.db.database import Database, UnitOfWork
from trading_automation.web import read_models
from trading_automation.web.read_models import Aggregates


class AggregateCache:
    """`read_models.aggregates`, reused while the database's marker stays the same."""

    def __init__(self, database: Database) -> None:
        self._postgresql = database.dialect_name == "postgresql"
        path = database.engine.url.database
        self._sqlite_path = (
            path if not self._postgresql and path not in (None, "", ":memory:") else None
        )
        self._sqlite: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._marker: Hashable | None = None
        self._value: Aggregates | None = None

    def get(self, uow: UnitOfWork) -> Aggregates:
        """The aggregates as `uow` sees them; call it before anything else reads in `uow`.

        (SQLite's read transaction starts at its first read, after the marker is taken.)
        """
        with self._lock:
            marker = self._read_marker(uow)
            if marker is not None and marker == self._marker and self._value is not None:
                return self._value
            value = read_models.aggregates(uow)
            self._marker, self._value = marker, value
            return value

    def close(self) -> None:
        """Close the cache's own SQLite connection."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    def _read_marker(self, uow: UnitOfWork) -> Hashable | None:
        if self._postgresql:
            snapshot: str | None = uow.session.scalar(text("SELECT pg_current_snapshot()::text"))
            return snapshot
        if self._sqlite_path is None:
            return None
        try:
            if self._sqlite is None:
                # mode=rw: never create the file (a mistyped path stays a missing database).
                self._sqlite = sqlite3.connect(
                    Path(self._sqlite_path).absolute().as_uri() + "?mode=rw",
                    uri=True,
                    check_same_thread=False,
                    isolation_level=None,
                )
            rows = self._sqlite.execute("PRAGMA data_version").fetchall()
        except sqlite3.Error:
            # No marker, no reuse: the request computes, and meets the database's own error.
            self.close()
            return None
        return int(rows[0][0]) if rows else None
