"""Place orders: the intent before the order (`intents`), the order, the fallback, the
acknowledgements.

Crash safety rests on three facts. The trade row (with its client order id) is committed before
the order is sent. An order whose fate is unknown is looked up by that client order id before
anything is sent again. And Alpaca refuses a second order with the same client order id.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import (
    ApiError,
    AuthenticationError,
    InsufficientBuyingPowerError,
    InsufficientQuantityError,
    NotFoundError,
    ValidationRefusedError,
)
from trading_automation.db import OrderSide, Trade, TradeStatus
from trading_automation.domain.money import format_price, format_usd
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.timestamps import utcnow
from trading_automation.errors import InvalidValueError, TradingAutomationError
from trading_automation.strategy_file import load_strategy
from trading_automation.worker.decisions import Decisions
from trading_automation.worker.intents import SKIP_ZERO_SHARES, IntentStep
from trading_automation.worker.summary import RunSummary

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.config import Settings
    from trading_automation.db import Database
    from trading_automation.logs import SecretRedactor

log = structlog.get_logger(__name__)

# The order loop writes the broker's acknowledgements in batches: one transaction per this many,
# or sooner once the oldest waiting one is this old (see `OrderPlacer.placing_orders`).
ACK_BATCH = 50
ACK_FLUSH_S = 1.0
__all__ = ["SKIP_ZERO_SHARES", "BrokerUnavailableError", "OrderPlacer", "whole_shares"]


def whole_shares(notional: Decimal, price: Decimal) -> int:
    """The whole shares `notional` dollars buy at `price` (the fallback's order size)."""
    return math.floor(notional / price)


class BrokerUnavailableError(TradingAutomationError):
    """The broker stopped answering mid-run; the remaining filings wait for the next run."""


class OrderPlacer(IntentStep):
    """The order loop of one run: records intents (`IntentStep`), sends orders, stores the
    answers."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        alpaca: AlpacaClient,
        redactor: SecretRedactor,
        monotonic: Callable[[], float],
        job_run_id: uuid.UUID | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        self.settings = settings
        self.decisions = decisions or Decisions(
            load_strategy(settings), settings.trade_notional_usd
        )
        self.database = database
        self.alpaca = alpaca
        self.redactor = redactor
        self.monotonic = monotonic
        self.job_run_id = job_run_id
        self.now: Callable[[], datetime] = utcnow
        self.touched: set[uuid.UUID] = set()
        self.touched_exits: set[uuid.UUID] = set()
        self.feed_ids: dict[str, uuid.UUID] = {}
        self._acks: list[tuple[Trade, AlpacaOrder]] | None = None
        self._acks_since = 0.0

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

    def submit(self, trade: Trade, summary: RunSummary) -> None:
        """Send the trade's order: a buy (notional first, whole shares when Alpaca refuses the
        notional order), or an exit's sell of its quantity."""
        if trade.side is OrderSide.SELL:
            self._submit_sell(trade, summary)
            return
        notional = self.notional(trade)
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
            self._refuse(trade, "insufficient buying power", error)
            summary.orders.failed += 1
            return
        except ValidationRefusedError as error:
            self._refuse(trade, "Alpaca refused the order", error)
            summary.orders.failed += 1
            return
        except AuthenticationError:
            raise
        except ApiError as error:
            raise self._unavailable(error, summary) from error
        self.record_order(trade, order, summary)
        if order.placed_before:
            summary.orders.found_at_broker += 1
        else:
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

    def notional(self, trade: Trade) -> Decimal:
        """The dollars a buy spends: what its decision chose (TRADE_NOTIONAL_USD for a trade
        recorded before decisions were)."""
        if trade.planned_notional is not None:
            return trade.planned_notional
        return self.settings.trade_notional_usd

    def _submit_sell(self, trade: Trade, summary: RunSummary) -> None:
        """Send an exit: a market DAY sell of the quantity recorded with its intent."""
        assert trade.qty_submitted is not None
        exits = summary.exits
        try:
            order = self.alpaca.submit_order(
                symbol=trade.symbol,
                client_order_id=trade.client_order_id,
                qty=trade.qty_submitted,
                side="sell",
            )
        except InsufficientQuantityError as error:
            self._refuse(
                trade,
                "the broker holds less than this exit sells (the next run records what was "
                "sold outside the system)",
                error,
            )
            exits.failed += 1
            return
        except ValidationRefusedError as error:
            self._refuse(trade, "Alpaca refused the sell", error)
            exits.failed += 1
            return
        except AuthenticationError:
            raise
        except ApiError as error:
            raise self._unavailable(error, summary) from error
        self.record_order(trade, order, summary)
        if order.placed_before:
            exits.found_at_broker += 1
        else:
            exits.sent += 1
        log.info(
            "exit_submitted",
            symbol=trade.symbol,
            client_order_id=trade.client_order_id,
            order_id=order.id,
            status=order.status,
            qty=str(trade.qty_submitted),
            cause=trade.exit_cause.value if trade.exit_cause else None,
        )

    def _refuse(self, trade: Trade, what: str, error: ApiError) -> None:
        """The broker refused the order: the trade is FAILED, saying why in its words."""
        self._mark(trade, TradeStatus.FAILED, f"{what}: {error.api_message or error}")

    @staticmethod
    def _unavailable(error: ApiError, summary: RunSummary) -> BrokerUnavailableError:
        """Outcome unknown or broker unreachable: the trade stays NEW, so a rerun or `reconcile`
        looks it up by client order id; nothing more is sent this run."""
        summary.orders.not_sent += 1
        return BrokerUnavailableError(str(error))

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
        self.flush_when_due(summary)

    def flush_when_due(self, summary: RunSummary) -> None:
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
            results = uow.trades.apply_orders(pairs, now=self.now())
        for (trade, _order), result in zip(pairs, results, strict=True):
            if isinstance(result, InvalidValueError):
                # The order stands at the broker; the trade stays NEW for reconcile to retry.
                message = f"{trade.client_order_id}: broker answer not stored: {result}"
                summary.errors.append(self.redactor.redact(message))
                log.error("order_answer_refused", client_order_id=trade.client_order_id)

    def _fallback(
        self, trade: Trade, summary: RunSummary, refusal: ValidationRefusedError
    ) -> AlpacaOrder | None:
        notional = self.notional(trade)
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
        shares = Decimal(whole_shares(notional, price))
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
                f"one share costs {format_price(price)}, more than {self.order_words} "
                f"{format_usd(notional)} (notional order refused: {refusal.api_message})",
            )
            summary.orders.skipped[SKIP_ZERO_SHARES] += 1
            return None
        return self.alpaca.submit_order(
            symbol=trade.symbol, client_order_id=trade.client_order_id, qty=shares
        )

    @property
    def order_words(self) -> str:
        """What an order's dollars are called in a reason: the setting, or the strategy's."""
        return "the order's" if self.decisions.loaded.path else "TRADE_NOTIONAL_USD"

    def _mark(self, trade: Trade, status: TradeStatus, reason: str) -> None:
        with self.database.transaction() as uow:
            text = self.redactor.redact(reason)
            if status is TradeStatus.FAILED:
                uow.trades.mark_failed(trade, text, now=self.now())
            elif uow.trades.mark_skipped(trade, text, now=self.now()) and not trade.lot_trade_id:
                uow.skips.record(
                    source_hash=trade.source_hash,
                    symbol=trade.symbol,
                    rule=SKIP_ZERO_SHARES,
                    reason=text,
                    now=self.now(),
                    feed_id=trade.congress_trade_feed_id,
                    job_run_id=self.job_run_id,
                    trade_id=trade.id,
                    strategy_sha256=self.decisions.loaded.sha256,
                )
        log.info(
            "order_" + status.value.lower(),
            symbol=trade.symbol,
            client_order_id=trade.client_order_id,
            reason=reason,
        )
