"""Alerts: one row per problem and trading day, so a repeat is counted instead of sent again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trading_automation.db.ops_models import Alert
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.enums import AlertLevel
from trading_automation.domain.timestamps import require_aware_utc

# A problem whose alert reached no URL is tried again on a repeat, at most this often.
RESEND_UNDELIVERED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class AlertClaim:
    """The alert's row after recording an occurrence, and whether the caller must send it."""

    id: uuid.UUID
    occurrences: int
    send: bool


@dataclass(frozen=True)
class AlertCounts:
    """Alerts recorded, sent (reached at least one URL), failed deliveries, repeats collapsed."""

    recorded: int
    sent: int
    failed_deliveries: int
    repeats: int


class AlertRepository:
    """Record alerts and their deliveries; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        alert_key: str,
        trading_date_et: date,
        *,
        kind: str,
        level: AlertLevel,
        title: str,
        message: str,
        now: datetime,
    ) -> AlertClaim:
        """Record one occurrence of a problem; `send` is True for its first occurrence of the
        day, and for a repeat when no URL took the earlier message (at most every 15 minutes).

        Concurrent callers agree: exactly one of them is told to send.
        """
        when = require_aware_utc(now, field="now")
        inserted = self.session.execute(
            conflict_insert(self.session, Alert)
            .values(
                id=uuid.uuid4(),
                alert_key=alert_key,
                trading_date_et=trading_date_et,
                kind=kind,
                level=AlertLevel(level),
                title=title,
                message=message,
                occurrences=1,
                first_at=when,
                last_at=when,
                sent_at=when,
                delivered=0,
                failed=0,
            )
            .on_conflict_do_nothing(index_elements=["alert_key", "trading_date_et"])
            .returning(Alert.id)
        ).scalar_one_or_none()
        if inserted is not None:
            return AlertClaim(inserted, 1, send=True)
        # The row lock orders concurrent repeats: each sees what the one before it decided.
        current = self.session.execute(
            select(Alert.id, Alert.delivered, Alert.sent_at, Alert.occurrences)
            .where(Alert.alert_key == alert_key, Alert.trading_date_et == trading_date_et)
            .with_for_update()
        ).one()
        resend = current.delivered == 0 and (
            current.sent_at is None or current.sent_at <= when - RESEND_UNDELIVERED_AFTER
        )
        changes: dict[str, object] = {"occurrences": Alert.occurrences + 1, "last_at": when}
        if resend:
            changes |= {"sent_at": when, "title": title, "message": message}
        self.session.execute(
            update(Alert)
            .where(Alert.id == current.id)
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        return AlertClaim(current.id, current.occurrences + 1, send=resend)

    def record_delivery(self, alert_id: uuid.UUID, *, delivered: int, failed: int) -> None:
        """Count the URLs that took the alert's message and those that did not."""
        self.session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values(delivered=Alert.delivered + delivered, failed=Alert.failed + failed)
            .execution_options(synchronize_session=False)
        )

    def get(self, alert_key: str, trading_date_et: date) -> Alert | None:
        """The alert of a problem on a trading day."""
        return self.session.scalars(
            select(Alert)
            .where(Alert.alert_key == alert_key, Alert.trading_date_et == trading_date_et)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def list_recent(self, *, limit: int = 50) -> list[Alert]:
        """The newest alerts first."""
        return list(self.session.scalars(select(Alert).order_by(Alert.last_at.desc()).limit(limit)))

    def counts(self) -> AlertCounts:
        """Totals over every alert recorded (one query)."""
        row = self.session.execute(
            select(
                func.count(Alert.id),
                func.count(Alert.id).filter(Alert.delivered > 0),
                func.coalesce(func.sum(Alert.failed), 0),
                func.coalesce(func.sum(Alert.occurrences - 1), 0),
            )
        ).one()
        return AlertCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
