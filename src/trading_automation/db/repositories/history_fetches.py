"""How far each fetch of Quiver's paged disclosure history got."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trading_automation.db.history_models import HistoryFetch
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.timestamps import require_aware_utc


def range_key(from_date: date, to_date: date | None, page_size: int) -> str:
    """The key of one fetch: its filing dates and page size (page numbers depend on it)."""
    return f"quiver-congresstrading:{from_date}..{to_date or 'latest'}:{page_size}"


class HistoryFetchRepository:
    """Start, advance and finish history fetches; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start(
        self, *, from_date: date, to_date: date | None, page_size: int, now: datetime
    ) -> HistoryFetch:
        """The fetch of this range: the one recorded (to resume), or a new one at page 1."""
        when = require_aware_utc(now, field="now")
        key = range_key(from_date, to_date, page_size)
        self.session.execute(
            conflict_insert(self.session, HistoryFetch)
            .values(
                id=uuid.uuid4(),
                range_key=key,
                from_date=from_date,
                to_date=to_date,
                page_size=page_size,
                next_page=1,
                pages=0,
                records_received=0,
                records_stored=0,
                started_at=when,
                updated_at=when,
            )
            .on_conflict_do_nothing(index_elements=["range_key"])
        )
        fetch = self.get(key)
        assert fetch is not None
        return fetch

    def get(self, key: str) -> HistoryFetch | None:
        """The fetch with this range key, or None."""
        return self.session.scalar(
            select(HistoryFetch)
            .where(HistoryFetch.range_key == key)
            .execution_options(populate_existing=True)
        )

    def advance(
        self,
        fetch_id: uuid.UUID,
        *,
        page: int,
        received: int,
        stored: int,
        complete: bool,
        now: datetime,
    ) -> bool:
        """Record page `page` as done (its records are stored in the same transaction): the next
        page to ask for is the one after. False when `page` is no longer the next page (another
        process got there first): the caller's transaction must then be rolled back."""
        when = require_aware_utc(now, field="now")
        result: Any = self.session.execute(
            update(HistoryFetch)
            .where(HistoryFetch.id == fetch_id, HistoryFetch.next_page == page)
            .values(
                next_page=page + 1,
                pages=HistoryFetch.pages + 1,
                records_received=HistoryFetch.records_received + received,
                records_stored=HistoryFetch.records_stored + stored,
                updated_at=when,
                completed_at=when if complete else None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0) == 1

    def restart(self, fetch_id: uuid.UUID, *, now: datetime) -> None:
        """Start the fetch over from page 1 (what it stored stays: duplicates are skipped)."""
        when = require_aware_utc(now, field="now")
        self.session.execute(
            update(HistoryFetch)
            .where(HistoryFetch.id == fetch_id)
            .values(next_page=1, completed_at=None, started_at=when, updated_at=when)
            .execution_options(synchronize_session=False)
        )

    def list_recent(self, limit: int = 20) -> list[HistoryFetch]:
        """The most recently updated fetches, newest first."""
        return list(
            self.session.scalars(
                select(HistoryFetch).order_by(HistoryFetch.updated_at.desc()).limit(limit)
            )
        )
