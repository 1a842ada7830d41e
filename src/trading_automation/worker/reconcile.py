"""Bring open trades up to date from Alpaca: the open-job's polling step and `reconcile`.

Each round asks Alpaca for every order submitted since the oldest open trade in one list request
(pages of 500), not one request per order, and applies what changed through the repository.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog

from trading_automation.clients.alpaca import MAX_LIST_LIMIT, AlpacaClient
from trading_automation.clients.errors import ApiError, NotFoundError
from trading_automation.db import Database, Trade, TradeStatus
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.errors import InvalidValueError

log = structlog.get_logger(__name__)


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
    still_open: int = 0
    not_sent: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Reconciler:
    """Applies Alpaca's view of orders to the trades that are still open."""

    def __init__(
        self,
        database: Database,
        alpaca: AlpacaClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.alpaca = alpaca
        self.sleep = sleep
        self.monotonic = monotonic

    def poll(
        self,
        *,
        budget_s: float = 60.0,
        first_delay_s: float = 0.5,
        max_delay_s: float = 8.0,
        on_round: Callable[[], None] | None = None,
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
                on_round()
            if still_open == 0:
                break
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                break
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay_s)
        return report

    def round(self, report: ReconcileReport) -> int:
        """One round: list orders once, apply them; returns how many bound trades stay open."""
        report.rounds += 1
        with self.database.transaction(readonly=True) as uow:
            bound = [trade for trade in uow.trades.list_open() if trade.alpaca_order_id]
        if not bound:
            report.still_open = 0
            return 0
        since = min(trade.submitted_at or trade.created_at for trade in bound)
        try:
            orders = self._orders_since(since - timedelta(seconds=1), report)
            for trade in bound:
                if trade.client_order_id not in orders and trade.alpaca_order_id:
                    orders[trade.client_order_id] = self.alpaca.get_order(trade.alpaca_order_id)
        except ApiError as error:
            report.errors.append(f"reconcile: {error}")
            log.warning("reconcile_round_failed", error=str(error))
            report.still_open = len(bound)
            return len(bound)
        report.still_open = self._apply(
            [(trade, orders[trade.client_order_id]) for trade in bound], report
        )
        log.info("reconcile_round", round=report.rounds, open=report.still_open, bound=len(bound))
        return report.still_open

    def _orders_since(self, since: datetime, report: ReconcileReport) -> dict[str, AlpacaOrder]:
        found: dict[str, AlpacaOrder] = {}
        after = since
        while True:
            page = self.alpaca.list_orders(
                status="all", after=after, direction="asc", limit=MAX_LIST_LIMIT
            )
            report.list_requests += 1
            for order in page:
                found[order.client_order_id] = order
            if len(page) < MAX_LIST_LIMIT:
                return found
            stamps: list[datetime] = []
            for order in page:
                stamp = order.submitted_at or order.created_at
                if stamp is not None:
                    stamps.append(stamp)
            last = max(stamps, default=None)
            if last is None or last <= after:
                return found
            after = last - timedelta(microseconds=1)

    def _apply(self, pairs: list[tuple[Trade, AlpacaOrder]], report: ReconcileReport) -> int:
        still_open = 0
        with self.database.transaction() as uow:
            # A refused order is validated before anything is written, so it leaves the
            # transaction clean for the others (no savepoint needed).
            results = uow.trades.apply_orders(pairs)
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
        """Look up, by client order id, every open trade whose broker order id was never stored.

        Found orders are applied. Trades from before `today` (New York) with no order at the broker
        are marked FAILED: the filing is too old to buy now. Today's are returned unsent, for the
        open-job to send (the `reconcile` command only reports them).
        """
        with self.database.transaction(readonly=True) as uow:
            unbound = [trade for trade in uow.trades.list_open() if not trade.alpaca_order_id]
        unsent: list[Trade] = []
        for trade in unbound:
            try:
                order = self.alpaca.get_order_by_client_order_id(trade.client_order_id)
            except NotFoundError:
                order = None
            except ApiError as error:
                report.errors.append(f"{trade.client_order_id}: lookup failed: {error}")
                continue
            if order is not None:
                self._apply([(trade, order)], report)
                continue
            recorded_on = trade.created_at.astimezone(NEW_YORK).date()
            if recorded_on < today:
                with self.database.transaction() as uow:
                    if uow.trades.mark_failed(
                        trade,
                        f"no order was ever placed for this filing (recorded {recorded_on}); "
                        "too late to buy it now",
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
            else:
                report.not_sent.append(trade.client_order_id)
                unsent.append(trade)
        return unsent
