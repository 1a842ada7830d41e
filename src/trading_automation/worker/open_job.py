"""The daily open-job (SPEC §3): gate, claim, collect, execute, reconcile, finish.

This module orchestrates; each step lives in a module of its own: `collect` (Quiver days into
the feed), `guards` (what may be sent), `orders` (intent, order, fallback, acknowledgements),
`reconcile` (fills), `dry_run`. A run killed at any point and started again places at most one
order per filing and finishes the work (see `trading_automation.worker.orders`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import ApiError
from trading_automation.db import (
    OrderSide,
    TradeStatus,
)
from trading_automation.db.errors import DatabaseError
from trading_automation.domain.timestamps import NEW_YORK, utcnow
from trading_automation.errors import InvalidValueError, TradingAutomationError
from trading_automation.logs import SecretRedactor
from trading_automation.notify import Notifier
from trading_automation.notify.run_events import OpenJobEvents, crash_event
from trading_automation.strategy_file import LoadedStrategy, load_strategy
from trading_automation.worker.clock import RunClock
from trading_automation.worker.collect import Candidate, Collector
from trading_automation.worker.decisions import Decisions, mark_amendments, read_account
from trading_automation.worker.dry_run import dry_run
from trading_automation.worker.exits import ExitStep
from trading_automation.worker.lease import LeaseLostError, RunLease
from trading_automation.worker.orders import OrderPlacer
from trading_automation.worker.owner import process_owner
from trading_automation.worker.quiver_budget import QuiverBudget
from trading_automation.worker.reconcile import Reconciler, ReconcileReport
from trading_automation.worker.schedule import (
    CALENDAR_LOOKBACK,
    collection_days,
    decide_gate,
    new_york_time,
)
from trading_automation.worker.summary import RunSummary, account_balances

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.clients.quiver import QuiverClient
    from trading_automation.config import Settings
    from trading_automation.db import Database

__all__ = ["Candidate", "OpenJob", "OpenJobOptions", "OpenJobResult", "RunClock"]

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY_S = 10.0
EXIT_OK = 0
EXIT_FAILED = 1


@dataclass(frozen=True)
class OpenJobOptions:
    """How to run: `requested_date` backfills a trading day, `force` re-runs a finished one."""

    dry_run: bool = False
    requested_date: date | None = None
    force: bool = False
    poll_budget_s: float = 60.0
    poll_first_delay_s: float = 0.5
    poll_max_delay_s: float = 8.0
    lease: timedelta = timedelta(minutes=5)


@dataclass
class OpenJobResult:
    """The outcome of one invocation: exit code, the summary (None when nothing ran), and the
    lines printed for a person."""

    exit_code: int
    summary: RunSummary | None
    lines: list[str] = field(default_factory=list)


class OpenJob:
    """One invocation of `trading-automation open-job`."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        alpaca: AlpacaClient,
        quiver: QuiverClient,
        owner: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] | None = None,
        progress: Callable[[str], None] | None = None,
        notifier: Notifier | None = None,
        strategy: LoadedStrategy | None = None,
    ) -> None:
        self.settings = settings
        self.notifier = notifier or Notifier.from_settings(settings, database)
        self.strategy = strategy or load_strategy(settings)
        self.decisions = Decisions(self.strategy, settings.trade_notional_usd)
        self.database = database
        self.alpaca = alpaca
        self.quiver = quiver
        self.owner = owner or process_owner()
        self.sleep = sleep
        self.monotonic = monotonic
        self.redactor = SecretRedactor(settings.secret_values())
        self.collector = Collector(database=database, quiver=quiver, redactor=self.redactor)
        self.orders = OrderPlacer(
            settings=settings,
            database=database,
            alpaca=alpaca,
            redactor=self.redactor,
            monotonic=monotonic,
            decisions=self.decisions,
        )
        self._lines: list[str] = []
        self._echo = echo
        self._progress = progress
        self.lease = RunLease(
            database=database,
            owner=self.owner,
            monotonic=monotonic,
            redactor=self.redactor,
            say=self._say,
        )

    # -- entry point -------------------------------------------------------------------------

    def run(self, options: OpenJobOptions) -> OpenJobResult:
        """Run the job once; never raises for broker or data problems (they fail the run).

        Raises `InvalidValueError` naming `--date` for a requested day that is not a trading
        day, or whose open has not happened yet (unless it is a dry run). What a person must
        hear about is alerted at the end (see `trading_automation.notify`).
        """
        try:
            result = self._run(options)
        except (ApiError, DatabaseError) as error:
            day = options.requested_date or utcnow().astimezone(NEW_YORK).date()
            redacted = self.redactor.redact(str(error))
            self.notifier.notify_built(lambda: [crash_event(day, "open-job", redacted)])
            raise
        run_id, summary = self.orders.job_run_id, result.summary
        if summary is not None and run_id is not None:
            self.notifier.notify_built(
                lambda: OpenJobEvents(self.database, quiet_days=self.settings.quiet_days).events(
                    summary,
                    run_id=run_id,
                    trade_ids=self.orders.touched | self.orders.touched_exits,
                )
            )
        return result

    def _run(self, options: OpenJobOptions) -> OpenJobResult:
        self._check_schema()
        broker_now = self.alpaca.clock().timestamp
        clock = RunClock(broker_now, self.monotonic)
        self.collector.budget = QuiverBudget(
            self.database,
            limit=self.settings.quiver_bulk_requests_per_hour,
            now=clock.now,
            owner=self.owner,
        )
        anchor = options.requested_date or broker_now.astimezone(NEW_YORK).date()
        sessions = self.alpaca.calendar(anchor - CALENDAR_LOOKBACK, anchor)
        gate = decide_gate(broker_now, sessions, requested=options.requested_date)
        if options.requested_date is not None and not gate.run:
            raise InvalidValueError("--date", gate.reason)
        if gate.session is not None and options.requested_date is not None:
            opens = gate.session.open_at
            if opens > broker_now and not options.dry_run:
                raise InvalidValueError(
                    "--date",
                    f"the market has not opened on {gate.trading_day} yet (it opens at "
                    f"{new_york_time(opens)}); a day is run at or after its open "
                    "(--dry-run previews it now)",
                )
        log.info("gate", run=gate.run, trading_day=gate.trading_day.isoformat(), reason=gate.reason)
        if not gate.run:
            self._say(f"nothing to do: {gate.reason}")
            return self._result(EXIT_OK, None)
        days = collection_days(sessions, gate.trading_day)
        summary = RunSummary(trading_date=gate.trading_day, dry_run=options.dry_run)
        if self.strategy.path is not None and self.strategy.sha256 is not None:
            summary.strategy = {"file": str(self.strategy.path), "sha256": self.strategy.sha256}
        if options.dry_run:
            dry_run(
                settings=self.settings,
                database=self.database,
                collector=self.collector,
                alpaca=self.alpaca,
                summary=summary,
                days=days,
                clock=clock,
                say=self._say,
                decisions=self.decisions,
            )
            self._exits().run(summary, clock, window_sales=self.collector.sales, dry_run=True)
            return self._result(EXIT_FAILED if summary.failed else EXIT_OK, summary)
        return self._real_run(summary, days, clock, options)

    # -- the real run ------------------------------------------------------------------------

    def _real_run(
        self,
        summary: RunSummary,
        days: list[date],
        clock: RunClock,
        options: OpenJobOptions,
    ) -> OpenJobResult:
        claim = self.lease.claim(
            summary.trading_date, clock, lease=options.lease, force=options.force
        )
        if not claim.won:
            return self._result(EXIT_OK, None)
        run_id = claim.run.id
        self.orders.job_run_id = run_id
        self.orders.now = clock.now
        summary.attempt = claim.run.attempt
        self._say(
            f"open-job for {summary.trading_date} (attempt {summary.attempt}, "
            f"{claim.outcome.value}); collecting {days[0]} .. {days[-1]}"
        )
        reconcile_report = ReconcileReport()
        reconciler = self._reconciler(clock, options.lease, run_id)
        try:
            candidates, newest_filed = self.collector.collect(days, summary, clock, store=True)
            self.lease.heartbeat(run_id, clock)
            self._resume(summary, clock, reconcile_report, reconciler, run_id)
            self._exits().run(summary, clock, window_sales=self.collector.sales)
            self.lease.heartbeat(run_id, clock)
            self._execute(candidates, summary, clock, run_id)
            reconciler.poll(
                budget_s=options.poll_budget_s,
                first_delay_s=options.poll_first_delay_s,
                max_delay_s=options.poll_max_delay_s,
                on_round=lambda report: self._polled(report, run_id, clock),
                report=reconcile_report,
            )
            summary.errors.extend(reconcile_report.errors)
            self._count_outcomes(summary)
            summary.account = account_balances(self.alpaca)
            self.lease.heartbeat(run_id, clock, force=True)
            if newest_filed is not None:
                with self.database.transaction() as uow:
                    mark = uow.checkpoints.advance(
                        summary.trading_date, newest_filed, now=clock.now()
                    )
                summary.checkpoint = mark.isoformat()
        except LeaseLostError as lost:
            self._say(f"stopped: {lost}")
            log.error("lease_lost", trading_date=summary.trading_date.isoformat())
            return self._result(EXIT_FAILED, summary)
        except (ApiError, TradingAutomationError) as error:
            summary.errors.append(self.redactor.redact(str(error)))
            log.error("run_step_failed", error=str(error))
        except BaseException as error:
            summary.errors.append(f"interrupted: {type(error).__name__}")
            self.lease.finish(run_id, summary, clock)
            raise
        if not self.lease.finish(run_id, summary, clock):
            self._say(f"stopped: {LeaseLostError.MESSAGE}")
            return self._result(EXIT_FAILED, summary)
        failed_orders = summary.orders.failed > 0
        code = EXIT_FAILED if summary.failed or failed_orders else EXIT_OK
        return self._result(code, summary)

    def _exits(self) -> ExitStep:
        return ExitStep(
            settings=self.settings,
            database=self.database,
            alpaca=self.alpaca,
            orders=self.orders,
            say=self._say,
            strategy=self.strategy.strategy,
        )

    def _reconciler(self, clock: RunClock, lease: timedelta, run_id: uuid.UUID) -> Reconciler:
        return Reconciler(
            self.database,
            self.alpaca,
            sleep=self.sleep,
            monotonic=self.monotonic,
            now=clock.now,
            lease=lease,
            job_run_id=run_id,
        )

    def _check_schema(self) -> None:
        """Raise `SchemaNotReadyError` (with what to do) before anything is asked or planned."""
        with self.database.transaction(readonly=True) as uow:
            uow.job_runs.list_recent(limit=1)

    def _polled(self, report: ReconcileReport, run_id: uuid.UUID, clock: RunClock) -> None:
        """After each reconcile round: renew the lease and tell a person how it stands."""
        self.lease.heartbeat(run_id, clock)
        if self._progress is not None and report.still_open:
            noun = "order" if report.still_open == 1 else "orders"
            self._progress(
                f"  waiting for fills: {report.still_open} {noun} still open "
                f"(round {report.rounds})"
            )

    # -- execute -----------------------------------------------------------------------------

    def _resume(
        self,
        summary: RunSummary,
        clock: RunClock,
        report: ReconcileReport,
        reconciler: Reconciler,
        run_id: uuid.UUID,
    ) -> None:
        """Finish what a killed or finished run left: orders placed but not recorded are found
        by client order id; today's intents that never reached the broker are sent now. The
        intents of another run that is still at work are its own to send."""
        today = clock.now().astimezone(NEW_YORK).date()
        unsent = reconciler.settle_unsent(today=today, report=report)
        summary.errors.extend(report.errors)
        report.errors.clear()
        summary.orders.found_at_broker += report.found_at_broker
        for trade in unsent:
            touched = (
                self.orders.touched_exits if trade.side is OrderSide.SELL else self.orders.touched
            )
            touched.add(trade.id)
            summary.orders.resumed += 1
            log.info("resume_unsent", client_order_id=trade.client_order_id, symbol=trade.symbol)
            self.orders.submit(trade, summary)
            self.lease.heartbeat(run_id, clock)

    def _execute(
        self, candidates: list[Candidate], summary: RunSummary, clock: RunClock, run_id: uuid.UUID
    ) -> None:
        summary.orders.candidates = len(candidates)
        with self.database.transaction(readonly=True) as uow:
            self.orders.feed_ids = uow.feed.ids_by_source_hash(c.source_hash for c in candidates)
            hashes = [c.source_hash for c in candidates]
            traded = uow.trades.existing_source_hashes(hashes)
            skipped = uow.skips.skipped(hashes, untraded_only=True)
            first = uow.feed.originals(c.filing.transaction_key for c in candidates)
        # A filing is decided once: one traded or skipped before is not decided again.
        summary.orders.already_traded += sum(1 for c in candidates if c.source_hash in traded)
        summary.orders.already_skipped += sum(1 for c in candidates if c.source_hash in skipped)
        candidates = [c for c in candidates if c.source_hash not in traded | skipped]
        mark_amendments(candidates, first)
        if self.decisions.needs_account and candidates:
            self.decisions.account_at = clock.now()
            self.decisions.account = read_account(self.alpaca)
        with self.orders.placing_orders(summary):
            for candidate in candidates:
                trade = self.orders.record_intent(candidate, summary, clock)
                if trade is not None:
                    self.orders.submit(trade, summary)
                self.orders.flush_when_due(summary)
                self.lease.heartbeat(run_id, clock)

    def _count_outcomes(self, summary: RunSummary) -> None:
        """Tally the final state of the trades this run created or resumed (one query)."""
        orders = summary.orders
        with self.database.transaction(readonly=True) as uow:
            counts = uow.trades.status_counts(self.orders.touched)
        orders.filled = counts.get(TradeStatus.FILLED, 0)
        orders.partially_filled = counts.get(TradeStatus.PARTIALLY_FILLED, 0)
        orders.canceled_or_expired = counts.get(TradeStatus.CANCELED, 0) + counts.get(
            TradeStatus.EXPIRED, 0
        )
        orders.rejected = counts.get(TradeStatus.REJECTED, 0)
        orders.open_after_polling = counts.get(TradeStatus.ACCEPTED, 0) + counts.get(
            TradeStatus.PARTIALLY_FILLED, 0
        )
        if self.orders.touched_exits:
            with self.database.transaction(readonly=True) as uow:
                sold = uow.trades.status_counts(self.orders.touched_exits)
            summary.exits.filled = sold.get(TradeStatus.FILLED, 0)

    # -- output ------------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        self._lines.append(line)
        if self._echo is not None:
            self._echo(line)

    def _result(self, code: int, summary: RunSummary | None) -> OpenJobResult:
        return OpenJobResult(exit_code=code, summary=summary, lines=list(self._lines))
