"""The notifier: filter by level, collapse repeats in the database, deliver, count."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from trading_automation.db.errors import DatabaseError
from trading_automation.domain.enums import AlertLevel
from trading_automation.domain.timestamps import utcnow
from trading_automation.logs import SecretRedactor
from trading_automation.notify.delivery import Delivery, Message, deliver
from trading_automation.notify.events import Event

if TYPE_CHECKING:
    import uuid

    from trading_automation.config import Settings
    from trading_automation.db import Database

log = structlog.get_logger(__name__)

Deliver = Callable[..., list[list[Delivery]]]


@dataclass
class NotifyReport:
    """What became of a batch of events: sent (to at least one URL), not delivered anywhere,
    repeats collapsed, and those below NOTIFY_LEVEL."""

    sent: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    repeats: list[str] = field(default_factory=list)
    below_level: list[str] = field(default_factory=list)
    failed_deliveries: int = 0


class Notifier:
    """Sends events to NOTIFY_URLS; every method is safe to call from a trading run."""

    def __init__(
        self,
        *,
        urls: Sequence[str],
        level: AlertLevel = AlertLevel.INFO,
        database: Database | None,
        timeout_s: float = 10.0,
        secrets: Iterable[str] = (),
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        send: Deliver = deliver,
    ) -> None:
        self.urls = list(urls)
        self.level = level
        self.database = database
        self.timeout_s = timeout_s
        self.redactor = SecretRedactor(secrets)
        self.now = now
        self.monotonic = monotonic
        self._send = send

    @classmethod
    def from_settings(
        cls, settings: Settings, database: Database | None, **options: object
    ) -> Notifier:
        """The notifier NOTIFY_URLS, NOTIFY_LEVEL and NOTIFY_TIMEOUT_S describe."""
        return cls(
            urls=settings.notify_url_list,
            level=AlertLevel(settings.notify_level.upper()),
            database=database,
            timeout_s=settings.notify_timeout_s,
            secrets=settings.secret_values(),
            **options,  # type: ignore[arg-type]
        )

    @property
    def enabled(self) -> bool:
        """True when NOTIFY_URLS names at least one URL."""
        return bool(self.urls)

    def notify(self, events: Iterable[Event]) -> NotifyReport:
        """Alert each event once per problem and trading day; never raises."""
        report = NotifyReport()
        if not self.enabled:
            return report
        try:
            self._notify(list(events), report)
        except Exception as error:  # alerts never stop the caller, whatever went wrong
            log.error("alerts_failed", error=self.redactor.redact(str(error)))
        return report

    def notify_built(self, build: Callable[[], Iterable[Event]]) -> NotifyReport:
        """Like `notify`, for events that take work to find: `build` runs only when alerts are
        on, and a failure in it is logged, never raised."""
        if not self.enabled:
            return NotifyReport()
        try:
            events = list(build())
        except Exception as error:  # alerts never stop the caller, whatever went wrong
            log.error("alerts_not_built", error=self.redactor.redact(str(error)))
            return NotifyReport()
        return self.notify(events)

    def _notify(self, events: list[Event], report: NotifyReport) -> None:
        due: list[tuple[Event, uuid.UUID | None, Message]] = []
        for event in events:
            if event.level.rank < self.level.rank:
                report.below_level.append(event.key)
                continue
            message = Message(
                self.redactor.redact(event.title), self.redactor.redact(event.message), event.level
            )
            alert_id, send = self._record(event, message)
            if not send:
                report.repeats.append(event.key)
                log.info("alert_repeat", key=event.key, trading_date=str(event.trading_date))
                continue
            due.append((event, alert_id, message))
        if not due:
            return
        outcomes = self._send(
            self.urls,
            [message for _, _, message in due],
            timeout_s=self.timeout_s,
            monotonic=self.monotonic,
        )
        for (event, alert_id, _), deliveries in zip(due, outcomes, strict=True):
            ok = sum(1 for d in deliveries if d.ok)
            failed = len(deliveries) - ok
            report.failed_deliveries += failed
            (report.sent if ok else report.undelivered).append(event.key)
            for delivery in deliveries:
                if not delivery.ok:
                    log.warning(
                        "alert_not_delivered",
                        key=event.key,
                        url=delivery.shown,
                        reason=delivery.error,
                    )
            log.info("alert_sent" if ok else "alert_undelivered", key=event.key, urls_ok=ok)
            if alert_id is not None:
                self._record_delivery(alert_id, ok, failed)

    def _record(self, event: Event, message: Message) -> tuple[uuid.UUID | None, bool]:
        """Remember the occurrence; when the database cannot, send anyway (an outage of the
        database is itself worth hearing about) without collapsing repeats."""
        if self.database is None:
            return None, True
        try:
            with self.database.transaction() as uow:
                claim = uow.alerts.record(
                    event.key,
                    event.trading_date,
                    kind=event.kind,
                    level=event.level,
                    title=message.title,
                    message=message.body,
                    now=self.now(),
                )
        except DatabaseError as error:
            log.warning("alert_not_recorded", key=event.key, error=str(error))
            return None, True
        return claim.id, claim.send

    def _record_delivery(self, alert_id: uuid.UUID, delivered: int, failed: int) -> None:
        assert self.database is not None
        try:
            with self.database.transaction() as uow:
                uow.alerts.record_delivery(alert_id, delivered=delivered, failed=failed)
        except DatabaseError as error:
            log.warning("alert_delivery_not_recorded", error=str(error))
