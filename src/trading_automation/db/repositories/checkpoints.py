"""Ingest checkpoints: per trading day, the newest filing already processed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.db.run_models import IngestCheckpoint
from trading_automation.domain.timestamps import require_aware_utc, utcnow
from trading_automation.errors import InvalidValueError


class IngestCheckpointRepository:
    """Read and advance checkpoints; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, trading_date_et: date) -> IngestCheckpoint | None:
        """The checkpoint of a trading day."""
        return self.session.scalars(
            select(IngestCheckpoint)
            .where(IngestCheckpoint.trading_date_et == trading_date_et)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def advance(
        self, trading_date_et: date, processed_up_to: datetime, *, now: datetime | None = None
    ) -> datetime:
        """Move the day's high-water mark to `processed_up_to` unless it is already later.

        One upsert decides in the database, so concurrent advances end at the maximum and the mark
        never moves backwards. Returns the mark after the call.
        """
        mark = require_aware_utc(processed_up_to, field="processed_up_to")
        when = require_aware_utc(now, field="now") if now else utcnow()
        upsert = conflict_insert(self.session, IngestCheckpoint).values(
            trading_date_et=trading_date_et, last_filed_ts_processed_et=mark, updated_at=when
        )
        current = IngestCheckpoint.last_filed_ts_processed_et
        proposed = upsert.excluded.last_filed_ts_processed_et
        statement = upsert.on_conflict_do_update(
            index_elements=["trading_date_et"],
            set_={
                "last_filed_ts_processed_et": case(
                    (current.is_(None), proposed), (proposed > current, proposed), else_=current
                ),
                "updated_at": upsert.excluded.updated_at,
            },
        ).returning(IngestCheckpoint.last_filed_ts_processed_et)
        result = self.session.execute(statement).scalar_one()
        if result is None:  # pragma: no cover - the upsert always writes a mark
            raise InvalidValueError("processed_up_to", "the checkpoint was not stored")
        return require_aware_utc(result)

    def list_recent(self, *, limit: int = 20) -> list[IngestCheckpoint]:
        """The most recent checkpoints, newest trading day first."""
        if not 1 <= limit <= 1000:
            raise InvalidValueError("limit", "must be between 1 and 1000")
        return list(
            self.session.scalars(
                select(IngestCheckpoint)
                .order_by(IngestCheckpoint.trading_date_et.desc())
                .limit(limit)
            )
        )
