"""Bring open trades up to date from Alpaca: the open-job's polling step and `reconcile`.

Work is bounded: open trades are read `PAGE` at a time (oldest first, keyset), and for each page
Alpaca is asked in one list request for the orders submitted between the page's oldest and newest
trade (pages of 500, at most `MAX_LIST_PAGES`; an order not found that way is fetched by its id).
A page of orders that brings nothing new ends the listing, so a burst of orders sharing one
timestamp cannot keep it going.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog

from trading_automation.clients.alpaca import MAX_LIST_LIMIT, AlpacaClient
from trading_automation.clients.errors import ApiError, NotFoundError
from trading_automation.db import Database, JobStatus, RunState, Trade, TradeStatus
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.timestamps import NEW_YORK, utcnow
from trading_automation.errors import InvalidValueError
from trading_automation.worker.owner import is_dead_local_owner

log = structlog.get_logger(__name__)

# Open trades read per query, and the list requests allowed for one page of them.
PAGE = 500
MAX_LIST_PAGES = 4
DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Change:
    """One trade whose status or fill moved."""

    client_order_id: str
    symbol: str
    before: TradeStatus
    after: TradeStatus
    filled_qty: str | None


@dataclass
class ReconcileReport:
    """What reconciling did."""

    changes: list[Change] = field(default_factory=list)
    rounds: int = 0
    list_requests: int = 0
    order_lookups: int = 0
    still_open: int = 0
    found_at_broker: int = 0
    not_sent: list[str] = field(default_factory=list)
    held_by_running_job: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def left_behind(
    run: RunState | None,
    *,
    me: uuid.UUID | None,
    now: datetime,
    lease: timedelta,
    is_dead: Callable[[str | None], bool] = is_dead_local_owner,
) -> bool:
    """Whether a trade recorded by `run` is free to resume: no run recorded it, it is this run's
    own, or its run is over (finished, lease expired, or its process is dead). Anything else is
    a live run's intent, which that run sends itself."""
    if run is None or run.id == me or run.status is not JobStatus.RUNNING:
        return True
    if run.heartbeat_at is None or run.heartbeat_at < now - lease:
        return True
    return is_dead(run.owner)


class Reconciler:
    """Applies Alpaca's view of orders to the trades that are still open."""

    def __init__(
        self,
        database: Database,
        alpaca: AlpacaClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        lease: timedelta = DEFAULT_LEASE,
        job_run_id: uuid.UUID | None = None,
    ) -> None:
        self.database = database
        self.alpaca = alpaca
        self.sleep = sleep
        self.monotonic = monotonic
        self.now = now
        self.lease = lease
        self.job_run_id = job_run_id

    def poll(
        self,
        *,
        budget_s: float = 60.0,
        first_delay_s: float = 0.5,
        max_delay_s: float = 8.0,
        on_round: Callable[[ReconcileReport], None] | None = None,
        report: ReconcileReport | None = None,
    ) -> ReconcileReport:
        """Round after round, with growing pauses, until no bound order is open or the budget is
        spent. Orders still open afterwards are left for `reconcile` or the next run."""
        report = report or ReconcileReport()
        deadline = self.monotonic() + budget_s
        delay = first_delay_s
        while True:
            still_open = self.round(report)
            if on_round is not None:
                on_round(report)
            if still_open == 0:
                break
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                break
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay_s)
        return report

    def round(self, report: ReconcileReport) -> int:
        """One round over every open trade with a broker order, a page at a time; returns how
        many stay open."""
        report.rounds += 1
        still_open = bound = 0
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            with self.database.transaction(readonly=True) as uow:
                page = uow.trades.list_open(bound=True, limit=PAGE, after=after)
            if not page:
                break
            bound += len(page)
            still_open += self._page(page, report)
            if len(page) < PAGE:
                break
            after = (page[-1].created_at, page[-1].id)
        report.still_open = still_open
        if bound:
            log.info("reconcile_round", round=report.rounds, open=still_open, bound=bound)
        return still_open

    def _page(self, trades: list[Trade], report: ReconcileReport) -> int:
        stamps = [trade.submitted_at or trade.created_at for trade in trades]
        try:
            orders = self._orders_between(
                min(stamps) - timedelta(seconds=1), max(stamps) + timedelta(seconds=1), report
            )
            for trade in trades:
                if trade.client_order_id not in orders and trade.alpaca_order_id:
                    report.order_lookups += 1
                    orders[trade.client_order_id] = self.alpaca.get_order(trade.alpaca_order_id)
        except ApiError as error:
            report.errors.append(f"reconcile: {error}")
            log.warning("reconcile_round_failed", error=str(error))
            return len(trades)
        return self._apply([(trade, orders[trade.client_order_id]) for trade in trades], report)

    def _orders_between(
        self, after: datetime, until: datetime, report: ReconcileReport
    ) -> dict[str, AlpacaOrder]:
        """The account's orders submitted in (after, until), oldest first, in at most
        `MAX_LIST_PAGES` list requests; stops early when a page brings no order not seen."""
        found: dict[str, AlpacaOrder] = {}
        for _ in range(MAX_LIST_PAGES):
            page = self.alpaca.list_orders(
                status="all", after=after, until=until, direction="asc", limit=MAX_LIST_LIMIT
            )
            report.list_requests += 1
            fresh = [order for order in page if order.client_order_id not in found]
            for order in page:
                found[order.client_order_id] = order
            if len(page) < MAX_LIST_LIMIT or not fresh:
                break
            stamps = [stamp for order in fresh if (stamp := _stamp(order)) is not None]
            if not stamps:
                break
            # Orders sharing the last timestamp may continue on the next page: ask from just
            # before it (those already seen are skipped above).
            after = max(max(stamps) - timedelta(microseconds=1), after)
        return found

    def _apply(self, pairs: list[tuple[Trade, AlpacaOrder]], report: ReconcileReport) -> int:
        still_open = 0
        with self.database.transaction() as uow:
            # A refused order is validated before anything is written, so it leaves the
            # transaction clean for the others (no savepoint needed).
            results = uow.trades.apply_orders(pairs, now=self.now())
            for (stale, _order), result in zip(pairs, results, strict=True):
                if isinstance(result, InvalidValueError):
                    report.errors.append(f"{stale.client_order_id}: {result}")
                    still_open += 1
                    continue
                trade = result.trade
                if result.changed:
                    report.changes.append(
                        Change(
                            client_order_id=trade.client_order_id,
                            symbol=trade.symbol,
                            before=result.previous_status,
                            after=trade.status,
                            filled_qty=str(trade.filled_qty) if trade.filled_qty else None,
                        )
                    )
                if not trade.status.is_terminal:
                    still_open += 1
        return still_open

    def settle_unsent(self, *, today: date, report: ReconcileReport) -> list[Trade]:
        """Look up, by client order id, every open trade whose broker order id was never stored
        and that no live run is still working on.

        Found orders are applied. Trades from before `today` (New York) with no order at the broker
        are marked FAILED: the filing is too old to buy now. Today's are returned unsent, for the
        open-job to send (the `reconcile` command only reports them). A live run's intents are
        left to it (listed in `report.held_by_running_job`).
        """
        unsent: list[Trade] = []
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            with self.database.transaction(readonly=True) as uow:
                page = uow.trades.list_open(bound=False, limit=PAGE, after=after)
                runs = uow.job_runs.states(
                    sorted({trade.job_run_id for trade in page if trade.job_run_id})
                )
            if not page:
                break
            for trade in page:
                run = runs.get(trade.job_run_id) if trade.job_run_id else None
                if not left_behind(run, me=self.job_run_id, now=self.now(), lease=self.lease):
                    report.held_by_running_job.append(trade.client_order_id)
                    continue
                if self._settle(trade, today, report):
                    unsent.append(trade)
            if len(page) < PAGE:
                break
            after = (page[-1].created_at, page[-1].id)
        return unsent

    def _settle(self, trade: Trade, today: date, report: ReconcileReport) -> bool:
        """Resolve one unbound trade; True when it was never sent and may be sent today."""
        try:
            report.order_lookups += 1
            order = self.alpaca.get_order_by_client_order_id(trade.client_order_id)
        except NotFoundError:
            order = None
        except ApiError as error:
            report.errors.append(f"{trade.client_order_id}: lookup failed: {error}")
            return False
        if order is not None:
            report.found_at_broker += 1
            self._apply([(trade, order)], report)
            return False
        recorded_on = trade.created_at.astimezone(NEW_YORK).date()
        if recorded_on >= today:
            report.not_sent.append(trade.client_order_id)
            return True
        with self.database.transaction() as uow:
            if uow.trades.mark_failed(
                trade,
                f"no order was ever placed for this filing (recorded {recorded_on}); "
                "too late to buy it now",
                now=self.now(),
            ):
                report.abandoned.append(trade.client_order_id)
                report.changes.append(
                    Change(
                        trade.client_order_id,
                        trade.symbol,
                        TradeStatus.NEW,
                        TradeStatus.FAILED,
                        None,
                    )
                )
        return False


def _stamp(order: AlpacaOrder) -> datetime | None:
    return order.submitted_at or order.created_at
