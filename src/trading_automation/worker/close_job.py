"""The day's close (`trading-automation close-job`): after the market closes, bring every open
order up to date, snapshot the account into `account_snapshot` (one row per trading day, an
upsert, so a killed and rerun job writes one), work out the day's P&L and send the daily summary.

Gated on the broker's calendar like the open-job, and claimed in `job_run` (type CLOSE_JOB), so
one close-job runs per trading day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import structlog

from trading_automation.clients.errors import ApiError
from trading_automation.db import JobType
from trading_automation.db.errors import DatabaseError
from trading_automation.domain.money import format_usd
from trading_automation.domain.timestamps import NEW_YORK, utcnow
from trading_automation.errors import InvalidValueError, TradingAutomationError
from trading_automation.logs import SecretRedactor
from trading_automation.notify import Notifier
from trading_automation.notify.run_events import crash_event, run_failed_event
from trading_automation.worker.clock import RunClock
from trading_automation.worker.day_report import Balances, daily_summary, day_activity
from trading_automation.worker.lease import LeaseLostError, RunLease
from trading_automation.worker.owner import process_owner
from trading_automation.worker.reconcile import Reconciler, ReconcileReport
from trading_automation.worker.schedule import CALENDAR_LOOKBACK, new_york_time

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.clients.models import Position
    from trading_automation.config import Settings
    from trading_automation.db import Database

log = structlog.get_logger(__name__)

JOB = "close-job"
# Balances are stored with 6 decimal places (`account_snapshot`); Alpaca sends fewer.
BALANCE_PLACES = Decimal("0.000001")


@dataclass
class CloseSummary:
    """What the close-job did, stored with its run (no secrets: messages are redacted)."""

    trading_date: date
    attempt: int = 1
    changed: int = 0
    still_open: int = 0
    not_sent: int = 0
    snapshot: dict[str, Any] | None = None
    realized_pl: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when a step failed."""
        return bool(self.errors)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["trading_date"] = self.trading_date.isoformat()
        return data


@dataclass
class CloseJobResult:
    """Exit code, the summary (None when nothing ran), and the lines printed."""

    exit_code: int
    summary: CloseSummary | None
    lines: list[str] = field(default_factory=list)


class CloseJob:
    """One invocation of `trading-automation close-job`."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        alpaca: AlpacaClient,
        owner: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.alpaca = alpaca
        self.owner = owner or process_owner()
        self.monotonic = monotonic
        self.redactor = SecretRedactor(settings.secret_values())
        self.notifier = notifier or Notifier.from_settings(settings, database)
        self._echo = echo
        self._lines: list[str] = []
        self.lease = RunLease(
            database=database,
            owner=self.owner,
            monotonic=monotonic,
            redactor=self.redactor,
            say=self._say,
            job_type=JobType.CLOSE_JOB,
        )

    def run(self, requested: date | None = None, *, force: bool = False) -> CloseJobResult:
        """Run the close of today (or of `requested`, a past trading day); alerts at the end.

        Raises `InvalidValueError` naming `--date` for a day that is not a trading day or that
        has not closed yet.
        """
        try:
            return self._run(requested, force)
        except (ApiError, DatabaseError) as error:
            day = requested or utcnow().astimezone(NEW_YORK).date()
            redacted = self.redactor.redact(str(error))
            self.notifier.notify_built(lambda: [crash_event(day, JOB, redacted)])
            raise

    def _run(self, requested: date | None, force: bool) -> CloseJobResult:
        with self.database.transaction(readonly=True) as uow:
            uow.job_runs.list_recent(limit=1)  # SchemaNotReadyError, with what to do
        clock = RunClock(self.alpaca.clock().timestamp, self.monotonic)
        now = clock.now()
        day = requested or now.astimezone(NEW_YORK).date()
        session = next(
            (s for s in self.alpaca.calendar(day - CALENDAR_LOOKBACK, day) if s.date == day), None
        )
        if session is None:
            reason = f"{day} is not a trading day (weekend or holiday)"
            if requested is not None:
                raise InvalidValueError("--date", reason)
            self._say(f"nothing to do: {reason}")
            return CloseJobResult(0, None, list(self._lines))
        if now < session.close_at:
            reason = f"the market closes at {new_york_time(session.close_at)} on {day}"
            if requested is not None:
                raise InvalidValueError("--date", f"{reason}; a day is closed after its close")
            self._say(f"nothing to do: too early, {reason}")
            return CloseJobResult(0, None, list(self._lines))
        claim = self.lease.claim(day, clock, lease=self.settings.job_lease, force=force)
        if not claim.won:
            return CloseJobResult(0, None, list(self._lines))
        summary = CloseSummary(trading_date=day, attempt=claim.run.attempt)
        self._say(f"close-job for {day} (attempt {summary.attempt}, {claim.outcome.value})")
        balances: Balances | None = None
        try:
            self._reconcile(summary, clock, day)
            self.lease.heartbeat(claim.run.id, clock, force=True)
            balances = self._snapshot(summary, clock, day)
        except LeaseLostError as lost:
            self._say(f"stopped: {lost}")
            return CloseJobResult(1, summary, list(self._lines))
        except (ApiError, TradingAutomationError) as error:
            summary.errors.append(self.redactor.redact(str(error)))
            log.error("close_step_failed", error=str(error))
        if not self.lease.finish(claim.run.id, summary, clock):
            self._say(f"stopped: {LeaseLostError.MESSAGE}")
            return CloseJobResult(1, summary, list(self._lines))
        self.notifier.notify_built(lambda: self._events(summary, day, balances))
        return CloseJobResult(1 if summary.failed else 0, summary, list(self._lines))

    # -- steps -------------------------------------------------------------------------------

    def _reconcile(self, summary: CloseSummary, clock: RunClock, day: date) -> None:
        """Every open order, once: DAY orders have ended by now, so one round settles them."""
        reconciler = Reconciler(
            self.database, self.alpaca, now=clock.now, lease=self.settings.job_lease
        )
        report = ReconcileReport()
        reconciler.settle_unsent(today=day, report=report)
        reconciler.round(report)
        summary.changed = len(report.changes)
        summary.still_open = report.still_open
        summary.not_sent = len(report.not_sent)
        summary.errors += [self.redactor.redact(error) for error in report.errors]
        self._say(
            f"reconciled: {summary.changed} changed, {summary.still_open} still open, "
            f"{summary.not_sent} recorded but never sent"
        )

    def _snapshot(self, summary: CloseSummary, clock: RunClock, day: date) -> Balances:
        account = self.alpaca.account()
        positions = self.alpaca.positions()
        activity = day_activity(self.database, day)
        equity, cash, long_value = (
            _balance(account.equity, "equity"),
            _balance(account.cash, "cash"),
            _balance(account.long_market_value, "long_market_value"),
        )
        realized = activity.realized_pl.quantize(BALANCE_PLACES, rounding=ROUND_HALF_EVEN)
        with self.database.transaction() as uow:
            previous = uow.snapshots.previous(day)
            day_pl = equity - previous.equity if previous is not None else None
            stored = uow.snapshots.upsert(
                day,
                taken_at=clock.now(),
                equity=equity,
                cash=cash,
                long_market_value=long_value,
                day_pl=day_pl,
                realized_pl=realized,
                positions=[_position(p) for p in positions],
                now=clock.now(),
            )
        summary.snapshot = {
            "equity": str(stored.equity),
            "cash": str(stored.cash),
            "long_market_value": str(stored.long_market_value),
            "day_pl": None if day_pl is None else str(day_pl),
            "positions": len(positions),
            "taken_at": stored.taken_at.isoformat(),
        }
        summary.realized_pl = str(realized)
        change = "" if day_pl is None else f" ({format_usd(day_pl, signed=True)} on the day)"
        self._say(
            f"snapshot of {day}: equity {format_usd(equity)}{change}, cash {format_usd(cash)}, "
            f"{len(positions)} positions; realized today {format_usd(realized, signed=True)}"
        )
        return Balances(equity, cash, long_value, len(positions), day_pl)

    def _events(self, summary: CloseSummary, day: date, balances: Balances | None) -> list[Any]:
        events = []
        if summary.errors:
            events.append(
                run_failed_event(
                    day,
                    JOB,
                    summary.errors,
                    money="the day's snapshot or P&L may be missing; orders and lots are safe.",
                )
            )
        attention = []
        if summary.still_open:
            attention.append(
                f"{summary.still_open} orders are still open after the close: look them up at "
                "the broker and run `trading-automation reconcile`"
            )
        if summary.not_sent:
            attention.append(
                f"{summary.not_sent} intents were recorded but never sent; the next open-job "
                "marks them FAILED"
            )
        events.append(daily_summary(day, day_activity(self.database, day), balances, attention))
        return events

    def _say(self, line: str) -> None:
        self._lines.append(line)
        if self._echo is not None:
            self._echo(line)


def _balance(value: Decimal | None, name: str) -> Decimal:
    if value is None:
        raise InvalidValueError(f"account.{name}", "Alpaca's account did not say")
    return value.quantize(BALANCE_PLACES, rounding=ROUND_HALF_EVEN)


def _position(position: Position) -> dict[str, Any]:
    fields = (
        "qty",
        "avg_entry_price",
        "current_price",
        "market_value",
        "cost_basis",
        "unrealized_pl",
    )
    shown = {name: getattr(position, name) for name in fields}
    return {"symbol": position.symbol} | {
        name: None if value is None else str(value) for name, value in shown.items()
    }
