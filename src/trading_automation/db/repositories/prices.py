"""Daily price bars: stored once per symbol and day, loaded in bulk, corrections counted.

`store(rows)` writes one page of bars (at most a few thousand rows: the caller streams pages, so
memory stays bounded whatever the history's size). A bar already stored with the same values is
left alone, not rewritten; one stored with other values (a later fetch adjusted it, e.g. after a
split) is replaced, and counted, per symbol, as a correction.

With `expect_new` (days never asked for before), the page is first written straight into the
table, inside a savepoint: COPY on PostgreSQL, one `executemany` INSERT on SQLite, the fastest
way in. Should any of its bars be stored already (a run killed before it recorded the range, or
another process), the unique key refuses it, the savepoint is rolled back, and the page goes the
comparing way below instead; nothing is ever stored twice.

Otherwise PostgreSQL loads the page with COPY into a temporary table kept for the database
session, then one `INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE` the values differ, whose
`RETURNING` tells inserted rows from replaced ones. SQLite, whose writers run one at a time, reads
the page's stored bars, compares them, and writes only the new and the changed ones with one
`executemany`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trading_automation.db.errors import UniqueConstraintViolationError
from trading_automation.db.history_models import PriceBar
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.bars import PriceBarRow
from trading_automation.domain.timestamps import require_aware_utc

STAGING = "price_bar_load"
COLUMNS = (
    "symbol",
    "day",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "adjustment",
    "fetched_at",
)
_VALUES = COLUMNS[2:8]
# Created once per database session and emptied after each page, so a page costs no DDL.
_STAGING_DDL = f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (LIKE price_bar INCLUDING DEFAULTS)"
_UPSERT = f"""
WITH upserted AS (
    INSERT INTO price_bar AS stored ({", ".join(COLUMNS)})
    SELECT {", ".join(COLUMNS)} FROM {STAGING}
    ON CONFLICT (symbol, day) DO UPDATE SET
        {", ".join(f"{name} = EXCLUDED.{name}" for name in (*_VALUES, "fetched_at"))}
    WHERE ({", ".join(f"stored.{name}" for name in _VALUES)})
        IS DISTINCT FROM ({", ".join(f"EXCLUDED.{name}" for name in _VALUES)})
    RETURNING stored.symbol, stored.day, stored.xmax = 0 AS inserted
)
SELECT symbol, inserted, count(*), min(day), max(day) FROM upserted GROUP BY symbol, inserted
"""  # noqa: S608 - built from the constant column names above, never from input


@dataclass(frozen=True)
class Correction:
    """Bars of one symbol that a fetch replaced: how many, and the first and last day."""

    count: int
    first: date
    last: date


@dataclass
class BarStoreResult:
    """What storing a page of bars did."""

    received: int = 0
    new: int = 0
    corrected: int = 0
    corrections: dict[str, Correction] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        """Bars received that were stored already, with the same values."""
        return self.received - self.new - self.corrected


class PriceBarRepository:
    """Store and read daily bars; works inside the caller's transaction, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def store(
        self, rows: Iterable[PriceBarRow], *, fetched_at: datetime, expect_new: bool = False
    ) -> BarStoreResult:
        """Store one page of bars (see the module docstring); returns what changed."""
        when = require_aware_utc(fetched_at, field="fetched_at")
        # One row per symbol and day (the last wins): an upsert may touch a row once.
        unique = list({(row.symbol, row.day): row for row in rows}.values())
        if not unique:
            return BarStoreResult()
        postgresql = self.session.get_bind().dialect.name == "postgresql"
        if expect_new and (
            self._copy_new(unique, when) if postgresql else self._insert_new(unique, when)
        ):
            return BarStoreResult(received=len(unique), new=len(unique))
        if postgresql:
            return self._copy_upsert(unique, when)
        return self._compare_and_write(unique, when)

    def _copy_new(self, rows: Sequence[PriceBarRow], when: datetime) -> bool:
        """COPY the page straight into the table; False (nothing written) when a bar of it is
        stored already."""
        driver: Any = self.session.connection().connection.driver_connection
        with driver.cursor() as cursor:
            cursor.execute("SAVEPOINT price_bar_new")
            try:
                with cursor.copy(f"COPY price_bar ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row((*row, when))
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT price_bar_new")
                return False
            cursor.execute("RELEASE SAVEPOINT price_bar_new")
        return True

    def _insert_new(self, rows: Sequence[PriceBarRow], when: datetime) -> bool:
        """INSERT the page in one `executemany`; False (nothing written) when a bar of it is
        stored already."""
        try:
            with self.session.begin_nested():
                self.session.connection().execute(
                    insert(PriceBar), [{**row._asdict(), "fetched_at": when} for row in rows]
                )
        except (UniqueConstraintViolationError, IntegrityError):
            return False
        return True

    def _copy_upsert(self, rows: Sequence[PriceBarRow], when: datetime) -> BarStoreResult:
        driver: Any = self.session.connection().connection.driver_connection
        result = BarStoreResult(received=len(rows))
        with driver.cursor() as cursor:
            cursor.execute(_STAGING_DDL)
            with cursor.copy(f"COPY {STAGING} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, when))
            cursor.execute(_UPSERT)
            for symbol, inserted, count, first, last in cursor.fetchall():
                if inserted:
                    result.new += int(count)
                else:
                    result.corrected += int(count)
                    result.corrections[str(symbol)] = Correction(int(count), first, last)
            # Empty for the next page (a failure instead rolls the COPY back with the rest).
            cursor.execute(f"TRUNCATE {STAGING}")
        return result

    def _compare_and_write(self, rows: Sequence[PriceBarRow], when: datetime) -> BarStoreResult:
        stored = self._stored(rows)
        result = BarStoreResult(received=len(rows))
        changed: list[dict[str, Any]] = []
        corrected_days: dict[str, list[date]] = {}
        for row in rows:
            before = stored.get((row.symbol, row.day))
            if before is not None and before.same_values(row):
                continue
            if before is None:
                result.new += 1
            else:
                result.corrected += 1
                corrected_days.setdefault(row.symbol, []).append(row.day)
            changed.append({**row._asdict(), "fetched_at": when})
        for symbol, days in corrected_days.items():
            result.corrections[symbol] = Correction(len(days), min(days), max(days))
        if changed:
            statement = conflict_insert(self.session, PriceBar)
            statement = statement.on_conflict_do_update(
                index_elements=["symbol", "day"],
                set_={name: statement.excluded[name] for name in (*_VALUES, "fetched_at")},
            )
            self.session.connection().execute(statement, changed)
        return result

    def _stored(self, rows: Sequence[PriceBarRow]) -> dict[tuple[str, date], PriceBarRow]:
        """The stored bars of the page's symbols between its first and last day."""
        symbols = sorted({row.symbol for row in rows})
        first, last = min(row.day for row in rows), max(row.day for row in rows)
        query = select(*(getattr(PriceBar, name) for name in COLUMNS[:8])).where(
            PriceBar.symbol.in_(symbols), PriceBar.day.between(first, last)
        )
        found = (PriceBarRow(*values) for values in self.session.execute(query))
        return {(row.symbol, row.day): row for row in found}

    def bars(
        self, symbol: str, *, start: date | None = None, end: date | None = None
    ) -> list[PriceBar]:
        """The stored bars of `symbol`, oldest first, optionally from `start` to `end`."""
        query = select(PriceBar).where(PriceBar.symbol == symbol.strip().upper())
        if start is not None:
            query = query.where(PriceBar.day >= start)
        if end is not None:
            query = query.where(PriceBar.day <= end)
        return list(self.session.scalars(query.order_by(PriceBar.day)))

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """`symbol`'s closes from `start` to `end`, oldest first, led by the last close on or
        before `start` (so every day of the range has the close in force; empty when none
        is stored on or before `start`)."""
        symbol = symbol.strip().upper()
        lead = self.session.execute(
            select(PriceBar.day, PriceBar.close)
            .where(PriceBar.symbol == symbol, PriceBar.day <= start)
            .order_by(PriceBar.day.desc())
            .limit(1)
        ).first()
        if lead is None:
            return []
        rest = self.session.execute(
            select(PriceBar.day, PriceBar.close)
            .where(PriceBar.symbol == symbol, PriceBar.day > start, PriceBar.day <= end)
            .order_by(PriceBar.day)
        )
        return [(lead[0], lead[1]), *((day, close) for day, close in rest)]

    def count(self, symbols: Iterable[str] | None = None) -> int:
        """How many bars are stored (of `symbols`, when given)."""
        query = select(func.count()).select_from(PriceBar)
        if symbols is not None:
            query = query.where(PriceBar.symbol.in_(sorted(set(symbols))))
        return int(self.session.scalar(query) or 0)

    def get_many(self, keys: Iterable[tuple[str, date]]) -> dict[tuple[str, date], PriceBar]:
        """The stored bars of these (symbol, day) keys."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(PriceBar).where(tuple_(PriceBar.symbol, PriceBar.day).in_(wanted))
        )
        return {(row.symbol, row.day): row for row in rows}
