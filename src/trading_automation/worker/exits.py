"""The run's exits: bring the ledger in line with the broker, decide, and sell.

1. Every open lot is read with the filing behind it; lots whose exit is still working at the
   broker wait for it.
2. Per symbol, the ledger's open quantity is compared with the broker's position: what the
   broker no longer holds was sold outside the system (by hand) and is recorded as such, oldest
   lots first, so the ledger never claims shares the account does not have.
3. `domain.exits.decide_exits` decides from the members' sale filings, the latest prices (stops)
   and the trading calendar (holding limit).
4. Each exit is recorded (the intent, a SELL trade under its deterministic key) before its market
   DAY sell is sent, for at most what the position has available: the rest of the lot is recorded
   as closed outside the system. Never more than the broker holds, never short.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import structlog

from trading_automation.clients.errors import ApiError
from trading_automation.db import CloseCause, LotRow, SaleFiling, TradeStatus
from trading_automation.domain.exits import (
    QUANTUM,
    ExitDecision,
    ExitPolicy,
    OpenLot,
    PartialSale,
    SaleSignal,
    decide_exits,
    member_key,
    sale_signal,
)
from trading_automation.domain.filings import NormalizedFiling
from trading_automation.domain.money import format_quantity
from trading_automation.domain.timestamps import NEW_YORK

if TYPE_CHECKING:
    import uuid

    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.config import Settings
    from trading_automation.db import Database, Trade
    from trading_automation.domain.strategy import Strategy
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.orders import OrderPlacer
    from trading_automation.worker.summary import RunSummary

log = structlog.get_logger(__name__)

TRADING_DISABLED = "TRADING_ENABLED is false: recorded, not sent"
CAUSE_WORDS = {
    CloseCause.MIRRORED_SALE: "mirrored sale",
    CloseCause.HOLDING_LIMIT: "holding limit",
    CloseCause.STOP_LOSS: "stop loss",
    CloseCause.TAKE_PROFIT: "take profit",
    CloseCause.OUTSIDE: "sold outside the system",
}


def exit_policy(settings: Settings, strategy: Strategy | None = None) -> ExitPolicy:
    """The exit settings as the decision reads them: the strategy file's where it sets them,
    else the environment's."""
    exits = strategy.exits if strategy is not None else None

    def chosen(key: str, setting: Any) -> Any:
        value = getattr(exits, key) if exits is not None else None
        return setting if value is None else value

    return ExitPolicy(
        partial_sale=PartialSale(chosen("partial_sale", settings.exit_on_partial_sale)),
        max_hold_days=chosen("max_hold_days", settings.max_hold_days),
        stop_loss_pct=chosen("stop_loss_pct", settings.stop_loss_pct),
        take_profit_pct=chosen("take_profit_pct", settings.take_profit_pct),
    )


@dataclass
class _Pass:
    """One pass of the exits: where it reports, its clock, the positions as they go."""

    summary: RunSummary
    clock: RunClock
    dry_run: bool
    holdings: dict[str, Holding]


@dataclass(frozen=True)
class Holding:
    """The broker's position in a symbol: all of it, and what no open order holds."""

    qty: Decimal
    available: Decimal


class ExitStep:
    """One run's exits (see the module docstring)."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        alpaca: AlpacaClient,
        orders: OrderPlacer,
        say: Callable[[str], None],
        strategy: Strategy | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.alpaca = alpaca
        self.orders = orders
        self.say = say
        self.policy = exit_policy(settings, strategy)

    def run(
        self,
        summary: RunSummary,
        clock: RunClock,
        *,
        window_sales: Sequence[NormalizedFiling] = (),
        dry_run: bool = False,
    ) -> None:
        """Close what must be closed this run; a dry run only says what it would do.

        `window_sales` are the SELL disclosures this run collected: those of a member and ticker
        no lot of ours ever held are counted.
        """
        with self.database.transaction(readonly=True) as uow:
            lots = uow.lots.all_open_lots()
            exits = uow.lots.exits_of([lot.trade.id for lot in lots])
            held = uow.lots.members_and_tickers(
                {filing.ticker for filing in window_sales if filing.ticker}
            )
        summary.exits.sales_without_lot += sum(
            1
            for filing in window_sales
            if (member_key(filing.member_name), filing.ticker) not in held
        )
        if not lots:
            return
        working = {e.lot_trade_id for e in exits if not e.status.is_terminal}
        try:
            holdings = self._holdings()
        except ApiError as error:
            summary.exits.not_checked = f"positions unavailable: {error.summary}"
            summary.errors.append(f"exits not checked: {error}")
            return
        today = clock.now().astimezone(NEW_YORK).date()
        run = _Pass(summary, clock, dry_run, holdings)
        busy = {lot.trade.symbol for lot in lots if lot.trade.id in working}
        lots = self._close_what_the_broker_lacks(lots, busy, run)
        lots = [lot for lot in lots if lot.trade.id not in working and lot.trade.open_qty > 0]
        if not lots:
            return
        with self.database.transaction(readonly=True) as uow:
            sales = uow.lots.sale_filings(
                {lot.trade.symbol for lot in lots},
                filed_since=min(_purchased_on(lot) for lot in lots),
            )
        signals = {
            sale.source_hash: SaleSignal(
                key=sale.source_hash,
                member=member_key(sale.member_name),
                symbol=sale.ticker,
                sold_on=sale.trade_date or sale.filing_date,
                partial=sale.partial,
                feed_id=sale.feed_id,
            )
            for sale in sales
        }
        # A dry run stores nothing: this run's own disclosures count too.
        for filing in window_sales:
            if filing.source_hash and filing.source_hash not in signals:
                signals[filing.source_hash] = sale_signal(filing)
        plan = decide_exits(
            [_open_lot(lot) for lot in lots],
            signals.values(),
            self.policy,
            today=today,
            trading_days=self._trading_days(lots, today),
            prices=self._prices(lots),
            applied=_applied_sales(exits, sales),
        )
        by_id = {lot.trade.id: lot for lot in lots}
        for decision in plan.decisions:
            self._exit(by_id[decision.lot_id], decision, run)

    # -- the ledger and the broker ---------------------------------------------------------------

    def _holdings(self) -> dict[str, Holding]:
        return {
            position.symbol.upper(): Holding(
                position.qty,
                position.qty_available if position.qty_available is not None else position.qty,
            )
            for position in self.alpaca.positions()
        }

    def _close_what_the_broker_lacks(
        self, lots: list[LotRow], busy: set[str], run: _Pass
    ) -> list[LotRow]:
        """Record as sold outside the system what the ledger holds and the broker does not."""
        by_symbol: dict[str, list[LotRow]] = defaultdict(list)
        for lot in lots:
            by_symbol[lot.trade.symbol].append(lot)
        changed = False
        for symbol, owned in by_symbol.items():
            if symbol in busy:
                continue  # a sell is working: the position is moving
            ledger = sum((lot.trade.open_qty for lot in owned), Decimal(0))
            held = run.holdings[symbol].qty if symbol in run.holdings else Decimal(0)
            # The ledger holds 9 decimal places, as Alpaca's quantities do.
            held = held.quantize(QUANTUM, rounding=ROUND_FLOOR)
            missing = ledger - max(held, Decimal(0))
            if missing <= 0:
                continue
            reason = (
                f"the broker holds {format_quantity(held)} {symbol} and the ledger "
                f"{format_quantity(ledger)}: {format_quantity(missing)} sold outside the system"
            )
            self.say(f"  {'would record' if run.dry_run else 'recorded'}: {reason}")
            log.warning("lots_sold_outside", symbol=symbol, missing=str(missing), held=str(held))
            for lot in owned:
                take = min(lot.trade.open_qty, missing)
                if take <= 0:
                    break
                missing -= take
                if not run.dry_run:
                    with self.database.transaction() as uow:
                        uow.lots.close_outside(lot.trade, take, reason, run.clock.now())
                run.summary.exits.closed_outside += 1
                changed = True
        if not changed or run.dry_run:
            return lots
        with self.database.transaction(readonly=True) as uow:
            return uow.lots.all_open_lots()

    def _prices(self, lots: Sequence[LotRow]) -> dict[str, Decimal]:
        if self.policy.stop_loss_pct is None and self.policy.take_profit_pct is None:
            return {}
        prices: dict[str, Decimal] = {}
        for symbol in sorted({lot.trade.symbol for lot in lots}):
            try:
                prices[symbol] = self.alpaca.latest_trade(symbol).price
            except ApiError as error:
                log.warning("exit_price_unavailable", symbol=symbol, error=error.summary)
        return prices

    def _trading_days(self, lots: Sequence[LotRow], today: date) -> list[date]:
        if self.policy.max_hold_days is None:
            return []
        first = min(_filled_on(lot) for lot in lots)
        return [session.date for session in self.alpaca.calendar(first, today)]

    # -- one exit ----------------------------------------------------------------------------

    def _exit(self, lot: LotRow, decision: ExitDecision, run: _Pass) -> None:
        symbol = lot.trade.symbol
        holding = run.holdings.get(symbol, Holding(Decimal(0), Decimal(0)))
        quantity = min(decision.quantity, max(holding.available, Decimal(0)))
        if lot.trade.qty_submitted is not None:  # bought in whole shares: sold in whole shares
            quantity = quantity.to_integral_value(rounding="ROUND_FLOOR")
        cause = CAUSE_WORDS[decision.cause]
        who = f"lot of {lot.member_name or 'unknown member'} bought {_filled_on(lot)}"
        run.summary.exits.decided[decision.cause.value] += 1
        if run.dry_run:
            self.say(
                f"  would sell {format_quantity(quantity)} {symbol:<6} ({who}): {cause}, "
                f"{decision.reason}"
            )
            return
        rest = decision.quantity - quantity
        if rest > 0:
            self._close_rest_outside(lot.trade, rest, holding, run)
        if quantity <= 0:
            return
        run.holdings[symbol] = Holding(holding.qty - quantity, holding.available - quantity)
        trade = self._record(lot.trade, decision, quantity, run.clock)
        if trade is None:
            return
        self.say(f"  selling {format_quantity(quantity)} {symbol} ({who}): {cause}")
        self.orders.touched_exits.add(trade.id)
        self.orders.submit(trade, run.summary)

    def _record(
        self, lot: Trade, decision: ExitDecision, quantity: Decimal, clock: RunClock
    ) -> Trade | None:
        skip = (
            None
            if self.settings.trading_enabled
            else "TRADING_ENABLED is false: recorded, not sent"
        )
        with self.database.transaction() as uow:
            result = uow.lots.record_exit(
                lot,
                cause=decision.cause,
                ref=decision.ref,
                trading_date=clock.now().astimezone(NEW_YORK).date(),
                quantity=quantity,
                feed_id=decision.feed_id,
                job_run_id=self.orders.job_run_id,
                skip_reason=skip,
                now=clock.now(),
            )
        if not result.created or result.trade.status is TradeStatus.SKIPPED:
            return None
        return result.trade

    def _close_rest_outside(self, lot: Trade, rest: Decimal, holding: Holding, run: _Pass) -> None:
        reason = (
            f"the broker has {format_quantity(holding.available)} {lot.symbol} available to sell; "
            f"{format_quantity(rest)} of this lot was sold outside the system"
        )
        with self.database.transaction() as uow:
            if uow.lots.close_outside(lot, rest, reason, run.clock.now()):
                run.summary.exits.closed_outside += 1


def _purchased_on(lot: LotRow) -> date:
    return lot.trade_date or lot.filing_date or _filled_on(lot)


def _filled_on(lot: LotRow) -> date:
    moment = lot.trade.filled_at or lot.trade.created_at
    return moment.astimezone(NEW_YORK).date()


def _open_lot(lot: LotRow) -> OpenLot:
    trade = lot.trade
    return OpenLot(
        id=trade.id,
        key=trade.source_hash,
        symbol=trade.symbol,
        member=member_key(lot.member_name),
        purchased_on=_purchased_on(lot),
        filled_on=_filled_on(lot),
        open_qty=trade.open_qty,
        fill_price=trade.filled_avg_price or Decimal(0),
        whole_shares=trade.qty_submitted is not None,
    )


def _applied_sales(
    exits: Sequence[Trade], sales: Sequence[SaleFiling]
) -> dict[uuid.UUID, frozenset[str]]:
    """Per lot, the sales already carried out on it: a mirrored-sale exit still working, one
    that filled all it was sent for, or (a partial sale's) one that filled anything. A sale whose
    sell ended short is tried again (a whole sale then closes the rest of the lot)."""
    by_feed = {sale.feed_id: sale for sale in sales}
    applied: dict[uuid.UUID, set[str]] = defaultdict(set)
    for trade in exits:
        if trade.exit_cause is not CloseCause.MIRRORED_SALE or trade.lot_trade_id is None:
            continue
        sale = by_feed.get(trade.congress_trade_feed_id) if trade.congress_trade_feed_id else None
        if sale is None:
            continue
        filled = trade.filled_qty or Decimal(0)
        whole = trade.qty_submitted is not None and filled >= trade.qty_submitted
        if not trade.status.is_terminal or whole or (sale.partial and filled > 0):
            applied[trade.lot_trade_id].add(sale.source_hash)
    return {lot: frozenset(keys) for lot, keys in applied.items()}
