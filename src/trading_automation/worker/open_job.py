"""The daily open-job (SPEC §3): gate, claim, collect, execute, reconcile, finish.

Crash safety rests on three facts. The trade row (with its client order id) is committed before
the order is sent. An order whose fate is unknown is looked up by that client order id before
anything is sent again. And Alpaca refuses a second order with the same client order id. So a run
killed at any point and started again places at most one order per filing, and finishes the
work: trades left NEW today are looked up and sent, open orders are reconciled.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import (
    ApiError,
    AuthenticationError,
    InsufficientBuyingPowerError,
    NotFoundError,
    ValidationRefusedError,
)
from trading_automation.db import (
    ClaimOutcome,
    ClaimResult,
    JobStatus,
    JobType,
    Trade,
    TradeStatus,
    UnitOfWork,
)
from trading_automation.domain.filings import NormalizedFiling, normalize_record
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.timestamps import NEW_YORK, require_aware_utc
from trading_automation.errors import InvalidValueError, TradingAutomationError
from trading_automation.logs import SecretRedactor
from trading_automation.worker.owner import is_dead_local_owner, process_owner
from trading_automation.worker.reconcile import Reconciler, ReconcileReport
from trading_automation.worker.schedule import CALENDAR_LOOKBACK, collection_days, decide_gate
from trading_automation.worker.summary import RunSummary, WindowSummary

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.clients.quiver import QuiverClient
    from trading_automation.config import Settings
    from trading_automation.db import Database

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY_S = 10.0
# The order loop writes the broker's acknowledgements in batches: one transaction per this many,
# or sooner once the oldest waiting one is this old (see `OpenJob.placing_orders`).
ACK_BATCH = 50
ACK_FLUSH_S = 1.0
EXIT_OK = 0
EXIT_FAILED = 1

GUARD_TRADING_DISABLED = "trading_disabled"
GUARD_DAILY_MAX = "daily_max_filings"
GUARD_TICKER_MAX = "per_ticker_daily_max"
SKIP_ZERO_SHARES = "zero_shares"


# Trades that placed no order do not use up a cap.
NOT_COUNTED_FOR_CAPS = (TradeStatus.SKIPPED, TradeStatus.FAILED)


def guard_decision(
    settings: Settings, symbol: str, day: date, *, placed_today: int, placed_symbol_today: int
) -> tuple[str, str] | None:
    """The guardrail that stops this filing, as (code, reason), or None to send it."""
    if not settings.trading_enabled:
        return GUARD_TRADING_DISABLED, "TRADING_ENABLED is false: recorded, not sent"
    cap = settings.daily_max_filings
    if cap is not None and placed_today >= cap:
        return GUARD_DAILY_MAX, f"DAILY_MAX_FILINGS ({cap}) reached for {day}"
    ticker_cap = settings.per_ticker_daily_max
    if ticker_cap is not None and placed_symbol_today >= ticker_cap:
        return (
            GUARD_TICKER_MAX,
            f"PER_TICKER_DAILY_MAX ({ticker_cap}) reached for {symbol} on {day}",
        )
    return None


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, wall_time(0), NEW_YORK)
    return start, start + timedelta(days=1)


class LeaseLostError(TradingAutomationError):
    """Another worker took this run over (this one stopped heartbeating in time); this worker
    stopped. Check for long pauses (suspended host, slow broker) and the job lease."""

    MESSAGE = "another worker took over this run; stopping"


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


@dataclass
class Candidate:
    """A BUY filing to trade: the normalised record, its key and its symbol."""

    filing: NormalizedFiling
    source_hash: str
    symbol: str


class RunClock:
    """The broker's time at the start of the run, advanced by the local monotonic clock.

    Every timestamp the run writes comes from here, so trades, caps and checkpoints agree with
    the market calendar the run was gated on.
    """

    def __init__(self, start: datetime, monotonic: Callable[[], float]) -> None:
        self.start = require_aware_utc(start)
        self.monotonic = monotonic
        self.origin = monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic() - self.origin)


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
    ) -> None:
        self.settings = settings
        self.database = database
        self.alpaca = alpaca
        self.quiver = quiver
        self.owner = owner or process_owner()
        self.sleep = sleep
        self.monotonic = monotonic
        self.redactor = SecretRedactor(settings.secret_values())
        self._lines: list[str] = []
        self._echo = echo
        self._touched: set[uuid.UUID] = set()
        self._feed_ids: dict[str, uuid.UUID] = {}
        self._last_heartbeat = float("-inf")
        self._acks: list[tuple[Trade, AlpacaOrder]] | None = None
        self._acks_since = 0.0

    # -- entry point -------------------------------------------------------------------------

    def run(self, options: OpenJobOptions) -> OpenJobResult:
        """Run the job once; never raises for broker or data problems (they fail the run)."""
        broker_now = self.alpaca.clock().timestamp
        clock = RunClock(broker_now, self.monotonic)
        anchor = options.requested_date or broker_now.astimezone(NEW_YORK).date()
        sessions = self.alpaca.calendar(anchor - CALENDAR_LOOKBACK, anchor)
        gate = decide_gate(broker_now, sessions, requested=options.requested_date)
        log.info("gate", run=gate.run, trading_day=gate.trading_day.isoformat(), reason=gate.reason)
        if not gate.run:
            if options.requested_date is not None:
                raise InvalidValueError("--date", gate.reason)
            self._say(f"nothing to do: {gate.reason}")
            return self._result(EXIT_OK, None)
        days = collection_days(sessions, gate.trading_day)
        summary = RunSummary(trading_date=gate.trading_day, dry_run=options.dry_run)
        if options.dry_run:
            return self._dry_run(summary, days, clock)
        return self._real_run(summary, days, clock, options)

    # -- the real run ------------------------------------------------------------------------

    def _real_run(
        self,
        summary: RunSummary,
        days: list[date],
        clock: RunClock,
        options: OpenJobOptions,
    ) -> OpenJobResult:
        claim = self._claim(summary.trading_date, clock, options)
        if not claim.won:
            return self._result(EXIT_OK, None)
        run_id = claim.run.id
        summary.attempt = claim.run.attempt
        self._say(
            f"open-job for {summary.trading_date} (attempt {summary.attempt}, "
            f"{claim.outcome.value}); collecting {days[0]} .. {days[-1]}"
        )
        reconcile_report = ReconcileReport()
        try:
            candidates, newest_filed = self._collect(days, summary, clock, store=True)
            self._heartbeat(run_id, clock)
            self._resume(summary, clock, reconcile_report, run_id)
            self._execute(candidates, summary, clock, run_id)
            Reconciler(self.database, self.alpaca, sleep=self.sleep, monotonic=self.monotonic).poll(
                budget_s=options.poll_budget_s,
                first_delay_s=options.poll_first_delay_s,
                max_delay_s=options.poll_max_delay_s,
                on_round=lambda: self._heartbeat(run_id, clock),
                report=reconcile_report,
            )
            summary.errors.extend(reconcile_report.errors)
            self._count_outcomes(summary)
            summary.account = self._account_snapshot()
            self._heartbeat(run_id, clock, force=True)
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
            self._finish(run_id, summary, clock)
            raise
        if not self._finish(run_id, summary, clock):
            self._say(f"stopped: {LeaseLostError.MESSAGE}")
            return self._result(EXIT_FAILED, summary)
        failed_orders = summary.orders.failed > 0
        code = EXIT_FAILED if summary.failed or failed_orders else EXIT_OK
        return self._result(code, summary)

    def _claim(self, day: date, clock: RunClock, options: OpenJobOptions) -> ClaimResult:
        with self.database.transaction(readonly=True) as uow:
            existing = uow.job_runs.get(JobType.OPEN_JOB, day)
        dead = (
            existing.owner
            if existing is not None
            and existing.status is JobStatus.RUNNING
            and is_dead_local_owner(existing.owner)
            else None
        )
        with self.database.transaction() as uow:
            result = uow.job_runs.claim(
                JobType.OPEN_JOB,
                day,
                owner=self.owner,
                lease=options.lease,
                force=options.force,
                dead_owner=dead,
                now=clock.now(),
            )
        log.info(
            "claim",
            trading_date=day.isoformat(),
            outcome=result.outcome.value,
            attempt=result.run.attempt,
        )
        if not result.won:
            messages = {
                ClaimOutcome.ALREADY_SUCCEEDED: "already succeeded (use --force to run it again)",
                ClaimOutcome.ALREADY_SKIPPED: "was skipped (use --force to run it)",
                ClaimOutcome.HELD_BY_OTHER: f"is held by another run ({result.run.owner})",
            }
            self._say(f"nothing to do: the open-job for {day} {messages[result.outcome]}")
        return result

    def _heartbeat(self, run_id: uuid.UUID, clock: RunClock, *, force: bool = False) -> None:
        """Renew the lease (at most every HEARTBEAT_EVERY_S); stop if another run took it."""
        if not force and self.monotonic() - self._last_heartbeat < HEARTBEAT_EVERY_S:
            return
        self._last_heartbeat = self.monotonic()
        with self.database.transaction() as uow:
            alive = uow.job_runs.heartbeat(run_id, owner=self.owner, now=clock.now())
        if not alive:
            raise LeaseLostError(LeaseLostError.MESSAGE)

    def _finish(self, run_id: uuid.UUID, summary: RunSummary, clock: RunClock) -> bool:
        """Store the run's end; False when another worker holds the run by now."""
        status = JobStatus.FAILED if summary.failed else JobStatus.SUCCESS
        with self.database.transaction() as uow:
            finished = uow.job_runs.finish(
                run_id,
                owner=self.owner,
                status=status,
                summary=self.redactor.redact(summary.to_json()),
                now=clock.now(),
            )
        if not finished:
            log.error("lease_lost", trading_date=summary.trading_date.isoformat())
            return False
        log.info(
            "run_finished",
            trading_date=summary.trading_date.isoformat(),
            status=status.value,
            errors=len(summary.errors),
        )
        return True

    # -- collect -----------------------------------------------------------------------------

    def _collect(
        self, days: list[date], summary: RunSummary, clock: RunClock, *, store: bool
    ) -> tuple[list[Candidate], datetime | None]:
        """Fetch every day, store every record, and return the BUY filings in filing order."""
        ordered: list[tuple[date, int, int, NormalizedFiling]] = []
        newest: datetime | None = None
        for day_index, day in enumerate(days):
            window = WindowSummary(day=day)
            summary.windows.append(window)
            try:
                records = self.quiver.congress_trading(day)
            except ApiError as error:
                window.error = self.redactor.redact(str(error))
                summary.errors.append(f"quiver {day}: {window.error}")
                log.error("window_failed", day=day.isoformat(), error=window.error)
                continue
            filings = [normalize_record(record) for record in records]
            window.fetched = len(filings)
            window.malformed = sum(1 for filing in filings if filing.malformed)
            window.buys = sum(1 for filing in filings if filing.is_tradable_buy)
            window.non_buy = window.fetched - window.malformed - window.buys
            if store:
                with self.database.transaction() as uow:
                    stored = uow.feed.store_filings(filings, ingested_at=clock.now())
                window.stored, window.duplicates = stored.new, stored.duplicates
            for index, filing in enumerate(filings):
                if not filing.is_tradable_buy or filing.filing_date is None:
                    continue
                ordered.append((filing.filing_date, day_index, index, filing))
                filed_at = datetime.combine(filing.filing_date, wall_time(0), NEW_YORK)
                newest = filed_at if newest is None or filed_at > newest else newest
            log.info("window_collected", **_window_fields(window))
        ordered.sort(key=lambda item: item[:3])
        seen: set[str] = set()
        candidates = []
        for _, _, _, filing in ordered:
            assert filing.source_hash is not None
            assert filing.ticker is not None
            if filing.source_hash in seen:
                continue
            seen.add(filing.source_hash)
            candidates.append(Candidate(filing, filing.source_hash, filing.ticker))
        return candidates, newest

    # -- execute -----------------------------------------------------------------------------

    def _resume(
        self, summary: RunSummary, clock: RunClock, report: ReconcileReport, run_id: uuid.UUID
    ) -> None:
        """Finish what a killed run left: orders placed but not recorded are found by client
        order id; today's intents that never reached the broker are sent now."""
        today = clock.now().astimezone(NEW_YORK).date()
        reconciler = Reconciler(
            self.database, self.alpaca, sleep=self.sleep, monotonic=self.monotonic
        )
        unsent = reconciler.settle_unsent(today=today, report=report)
        summary.errors.extend(report.errors)
        report.errors.clear()
        for trade in unsent:
            self._touched.add(trade.id)
            summary.orders.resumed += 1
            log.info("resume_unsent", client_order_id=trade.client_order_id, symbol=trade.symbol)
            self._submit(trade, summary)
            self._heartbeat(run_id, clock)

    def _execute(
        self, candidates: list[Candidate], summary: RunSummary, clock: RunClock, run_id: uuid.UUID
    ) -> None:
        summary.orders.candidates = len(candidates)
        with self.database.transaction(readonly=True) as uow:
            self._feed_ids = uow.feed.ids_by_source_hash(c.source_hash for c in candidates)
        with self.placing_orders(summary):
            for candidate in candidates:
                trade = self.record_intent(candidate, summary, clock)
                if trade is not None:
                    self._submit(trade, summary)
                self._flush_acks_when_due(summary)
                self._heartbeat(run_id, clock)

    @contextmanager
    def placing_orders(self, summary: RunSummary) -> Iterator[None]:
        """The order loop's database side: each intent is committed (durably) before its order
        is sent, and the broker's acknowledgements are written in batches.

        Acknowledgements wait in memory and are written together, one transaction per
        `ACK_BATCH` or once the oldest is `ACK_FLUSH_S` old, and always when the block ends
        (before reconciliation reads them), also when it raises. Until then a trade reads NEW
        without its broker order id; if the worker dies first, the next run or `reconcile` finds
        the order by its client order id, exactly as after a worker killed right after the broker
        accepted it.
        """
        if self._acks is not None:  # already inside
            yield
            return
        self._acks = []
        try:
            yield
        except BaseException:
            self._flush_acks(summary, quiet=True)
            raise
        else:
            self._flush_acks(summary)
        finally:
            self._acks = None

    def record_intent(
        self, candidate: Candidate, summary: RunSummary, clock: RunClock
    ) -> Trade | None:
        """Check the guardrails and record the trade in one transaction; None when there is
        nothing to send (already traded, or skipped by a guardrail)."""
        now = clock.now()
        day = now.astimezone(NEW_YORK).date()
        # Under a daily cap, counting and recording happen in one transaction, under the cap's
        # lock; otherwise recording the intent is a single statement, committed as it runs.
        caps = self._caps_apply()
        unit = self.database.transaction() if caps else self.database.autocommit()
        with unit as uow:
            guard = None
            if caps:
                uow.trades.lock_daily_caps(day)
                guard = self._guard(uow, candidate.symbol, day)
            elif not self.settings.trading_enabled:
                guard = guard_decision(
                    self.settings, candidate.symbol, day, placed_today=0, placed_symbol_today=0
                )
            result = uow.trades.record_intent(
                source_hash=candidate.source_hash,
                symbol=candidate.symbol,
                congress_trade_feed_id=self._feed_ids.get(candidate.source_hash),
                skip_reason=guard[1] if guard else None,
                now=now,
            )
            trade = result.trade
        if not result.created:
            summary.orders.already_traded += 1
            return None
        self._touched.add(trade.id)
        if guard is not None:
            summary.orders.skipped[guard[0]] += 1
            log.info(
                "order_skipped",
                symbol=candidate.symbol,
                guard=guard[0],
                reason=guard[1],
                client_order_id=trade.client_order_id,
            )
            return None
        log.info("trade_intent", symbol=candidate.symbol, client_order_id=trade.client_order_id)
        return trade

    def _caps_apply(self) -> bool:
        settings = self.settings
        return settings.trading_enabled and (
            settings.daily_max_filings is not None or settings.per_ticker_daily_max is not None
        )

    def _guard(self, uow: UnitOfWork, symbol: str, day: date) -> tuple[str, str] | None:
        settings = self.settings
        start, end = _day_bounds(day)
        placed = placed_symbol = 0
        if settings.trading_enabled and settings.daily_max_filings is not None:
            placed = uow.trades.count_created(start, end, exclude=NOT_COUNTED_FOR_CAPS)
        if settings.trading_enabled and settings.per_ticker_daily_max is not None:
            placed_symbol = uow.trades.count_created(
                start, end, symbol=symbol, exclude=NOT_COUNTED_FOR_CAPS
            )
        return guard_decision(
            settings, symbol, day, placed_today=placed, placed_symbol_today=placed_symbol
        )

    def _submit(self, trade: Trade, summary: RunSummary) -> None:
        """Send the order: notional first, whole shares when Alpaca refuses the notional order."""
        notional = self.settings.trade_notional_usd
        order: AlpacaOrder | None
        try:
            try:
                order = self.alpaca.submit_order(
                    symbol=trade.symbol, client_order_id=trade.client_order_id, notional=notional
                )
            except ValidationRefusedError as refusal:
                order = self._fallback(trade, summary, refusal)
                if order is None:
                    return
                summary.orders.fallback += 1
        except InsufficientBuyingPowerError as error:
            reason = error.api_message or str(error)
            self._mark(trade, TradeStatus.FAILED, f"insufficient buying power: {reason}")
            summary.orders.failed += 1
            return
        except ValidationRefusedError as error:
            reason = error.api_message or str(error)
            self._mark(trade, TradeStatus.FAILED, f"Alpaca refused the order: {reason}")
            summary.orders.failed += 1
            return
        except AuthenticationError:
            raise
        except ApiError as error:
            # Outcome unknown or broker unreachable: the trade stays NEW so that a rerun or
            # `reconcile` looks it up by client order id; nothing more is sent this run.
            summary.orders.not_sent += 1
            raise _BrokerUnavailable(str(error)) from error
        self.record_order(trade, order, summary)
        summary.orders.submitted += 1
        log.info(
            "order_submitted",
            symbol=trade.symbol,
            client_order_id=trade.client_order_id,
            order_id=order.id,
            status=order.status,
            notional=str(order.notional) if order.notional else None,
            qty=str(order.qty) if order.qty else None,
        )

    def record_order(self, trade: Trade, order: AlpacaOrder, summary: RunSummary) -> None:
        """Store the broker's answer to an order: the trade's first acknowledgement.

        Inside `placing_orders` it joins the batch waiting to be written; outside, it is
        written at once.
        """
        if self._acks is None:
            self._write_acks([(trade, order)], summary)
            return
        if not self._acks:
            self._acks_since = self.monotonic()
        self._acks.append((trade, order))
        self._flush_acks_when_due(summary)

    def _flush_acks_when_due(self, summary: RunSummary) -> None:
        """Write the waiting acknowledgements once there are `ACK_BATCH` of them or the oldest
        is `ACK_FLUSH_S` old (checked with each acknowledgement and after each filing)."""
        if not self._acks:
            return
        if len(self._acks) >= ACK_BATCH or self.monotonic() - self._acks_since >= ACK_FLUSH_S:
            self._flush_acks(summary)

    def _flush_acks(self, summary: RunSummary, *, quiet: bool = False) -> None:
        """Write the waiting acknowledgements; `quiet` (while another error propagates) only
        logs a failure: the orders are then found again by their client order ids."""
        pairs, self._acks = self._acks or [], []
        if not pairs:
            return
        try:
            self._write_acks(pairs, summary)
        except TradingAutomationError as error:
            if not quiet:
                raise
            log.error("acknowledgements_not_stored", orders=len(pairs), error=str(error))

    def _write_acks(self, pairs: list[tuple[Trade, AlpacaOrder]], summary: RunSummary) -> None:
        with self.database.transaction() as uow:
            results = uow.trades.apply_orders(pairs)
        for (trade, _order), result in zip(pairs, results, strict=True):
            if isinstance(result, InvalidValueError):
                # The order stands at the broker; the trade stays NEW for reconcile to retry.
                message = f"{trade.client_order_id}: broker answer not stored: {result}"
                summary.errors.append(self.redactor.redact(message))
                log.error("order_answer_refused", client_order_id=trade.client_order_id)

    def _fallback(
        self, trade: Trade, summary: RunSummary, refusal: ValidationRefusedError
    ) -> AlpacaOrder | None:
        notional = self.settings.trade_notional_usd
        try:
            price = self.alpaca.latest_trade(trade.symbol).price
        except NotFoundError as error:
            self._mark(
                trade,
                TradeStatus.FAILED,
                f"notional order refused ({refusal.api_message}); no price: {error}",
            )
            summary.orders.failed += 1
            return None
        if price <= 0:
            self._mark(trade, TradeStatus.FAILED, f"latest price of {trade.symbol} is {price}")
            summary.orders.failed += 1
            return None
        shares = Decimal(math.floor(notional / price))
        log.info(
            "order_fallback",
            symbol=trade.symbol,
            refusal=refusal.api_message,
            price=str(price),
            shares=str(shares),
        )
        if shares < 1:
            self._mark(
                trade,
                TradeStatus.SKIPPED,
                f"one share costs ${price:,}, more than TRADE_NOTIONAL_USD ${notional:,} "
                f"(notional order refused: {refusal.api_message})",
            )
            summary.orders.skipped[SKIP_ZERO_SHARES] += 1
            return None
        return self.alpaca.submit_order(
            symbol=trade.symbol, client_order_id=trade.client_order_id, qty=shares
        )

    def _mark(self, trade: Trade, status: TradeStatus, reason: str) -> None:
        with self.database.transaction() as uow:
            text = self.redactor.redact(reason)
            if status is TradeStatus.FAILED:
                uow.trades.mark_failed(trade, text)
            else:
                uow.trades.mark_skipped(trade, text)
        log.info(
            "order_" + status.value.lower(),
            symbol=trade.symbol,
            client_order_id=trade.client_order_id,
            reason=reason,
        )

    def _count_outcomes(self, summary: RunSummary) -> None:
        """Tally the final state of the trades this run created or resumed."""
        orders = summary.orders
        with self.database.transaction(readonly=True) as uow:
            trades = [uow.trades.get(trade_id) for trade_id in sorted(self._touched)]
        for trade in trades:
            status = trade.status if trade is not None else None
            if status is TradeStatus.FILLED:
                orders.filled += 1
            elif status is TradeStatus.PARTIALLY_FILLED:
                orders.partially_filled += 1
            elif status in (TradeStatus.CANCELED, TradeStatus.EXPIRED):
                orders.canceled_or_expired += 1
            elif status is TradeStatus.REJECTED:
                orders.rejected += 1
            if status in (TradeStatus.ACCEPTED, TradeStatus.PARTIALLY_FILLED):
                orders.open_after_polling += 1

    def _account_snapshot(self) -> dict[str, str] | None:
        """Cash and buying power after the run, so the summary shows what is left to trade."""
        try:
            account = self.alpaca.account()
        except ApiError as error:
            log.warning("account_unavailable", error=str(error))
            return None
        fields = {
            "cash": account.cash,
            "buying_power": account.buying_power,
            "equity": account.equity,
        }
        return {name: str(value) for name, value in fields.items() if value is not None}

    # -- dry run -----------------------------------------------------------------------------

    def _dry_run(self, summary: RunSummary, days: list[date], clock: RunClock) -> OpenJobResult:
        """Collect and decide as a real run would; write nothing, send nothing."""
        self._say(f"dry run for {summary.trading_date}: collecting {days[0]} .. {days[-1]}")
        candidates, _ = self._collect(days, summary, clock, store=False)
        day = clock.now().astimezone(NEW_YORK).date()
        start, end = _day_bounds(day)
        with self.database.transaction(readonly=True) as uow:
            traded = uow.trades.existing_source_hashes(c.source_hash for c in candidates)
            placed = uow.trades.count_created(start, end, exclude=NOT_COUNTED_FOR_CAPS)
            per_symbol: Mapping[str, int] = uow.trades.count_created_by_symbol(
                start, end, exclude=NOT_COUNTED_FOR_CAPS
            )
        planned: dict[str, int] = {}
        summary.orders.candidates = len(candidates)
        notional = self.settings.trade_notional_usd
        for candidate in candidates:
            filing = candidate.filing
            who = f"{filing.member_name}, filed {filing.filing_date}"
            if candidate.source_hash in traded:
                summary.orders.already_traded += 1
                self._say(f"  already traded  {candidate.symbol:<6} ({who})")
                continue
            guard = guard_decision(
                self.settings,
                candidate.symbol,
                day,
                placed_today=placed + sum(planned.values()),
                placed_symbol_today=per_symbol.get(candidate.symbol, 0)
                + planned.get(candidate.symbol, 0),
            )
            if guard is not None:
                summary.orders.skipped[guard[0]] += 1
                self._say(f"  would skip      {candidate.symbol:<6} ({who}): {guard[1]}")
                continue
            planned[candidate.symbol] = planned.get(candidate.symbol, 0) + 1
            self._say(f"  would buy ${notional} of {candidate.symbol:<6} ({who})")
        self._say(
            f"dry run: {sum(planned.values())} order(s) would be sent; nothing was written or sent"
        )
        return self._result(EXIT_FAILED if summary.failed else EXIT_OK, summary)

    # -- output ------------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        self._lines.append(line)
        if self._echo is not None:
            self._echo(line)

    def _result(self, code: int, summary: RunSummary | None) -> OpenJobResult:
        return OpenJobResult(exit_code=code, summary=summary, lines=list(self._lines))


class _BrokerUnavailable(TradingAutomationError):
    """The broker stopped answering mid-run; the remaining filings wait for the next run."""


def _window_fields(window: WindowSummary) -> dict[str, object]:
    return {
        "day": window.day.isoformat(),
        "fetched": window.fetched,
        "stored": window.stored,
        "duplicates": window.duplicates,
        "malformed": window.malformed,
        "non_buy": window.non_buy,
        "buys": window.buys,
    }
