"""The replay: each session of the history, in order, through the live run's own decisions.

At each session's open, as the open-job does:

1. **Exits first.** Every sale disclosed so far by a member whose lot in that ticker is open, the
   stops (against the open) and the holding limit go through `domain.exits.decide_exits`, the
   function the live exits call; each exit sells at the open less the slippage. A symbol without a
   bar that session cannot be sold: the exit waits for its next bar. A held symbol without a bar for
   `DELISTED_AFTER` sessions in a row is taken as delisted: its lots are closed at their last close
   (cause `OUTSIDE`), as a broker pays out a delisted holding.
2. **Buys.** The purchases that became public since the previous open, each once, in filing order,
   go through `domain.decide.decide` with the strategy and (when it needs one) a snapshot of the
   account, exactly as live. A buy fills its dollars at the open plus the slippage; a symbol
   without a bar that session is skipped (`no_bar`), as the broker would not fill it; a buy the
   cash cannot pay is skipped (`cash`): the backtest never borrows.

At each close the portfolio is valued at the close (a symbol without a bar that day at its last
close). Prices are the stored bars, adjusted for splits and dividends (`adjustment=all`), so a split
inside a holding changes neither the quantity's value nor the stops. Money is exact: cash moves in
cents, quantities keep the ledger's 9 decimal places, and a lot's cost is split between its closes
to the cent with nothing lost.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from trading_automation.backtest.history import History, Release, SessionPrices
from trading_automation.backtest.result import (
    DELISTED_REASON,
    BacktestResult,
    ClosedPart,
    EquityDay,
    Fill,
    OpenPosition,
    Params,
    Skip,
    Who,
)
from trading_automation.domain.decide import AccountSnapshot, FilingFacts, decide
from trading_automation.domain.enums import CloseCause, FeedTransaction, OrderSide
from trading_automation.domain.exits import (
    QUANTUM,
    ExitDecision,
    ExitPolicy,
    OpenLot,
    SaleSignal,
    decide_exits,
    member_key,
    sale_signal,
)
from trading_automation.domain.money import CENT, EXACT, exact_sum, format_price, format_usd
from trading_automation.domain.strategy import Strategy

DELISTED_AFTER = 5  # sessions in a row without a bar of a held symbol
_BPS = Decimal(10_000)
_PRICE = Decimal("0.000000001")


@dataclass
class _Lot:
    """A lot the replay holds: what `decide_exits` reads of it, and its cost."""

    number: int
    id: uuid.UUID
    key: str
    symbol: str
    member: str
    who: Who
    purchased_on: date
    filled_on: date
    fill_price: Decimal
    open_qty: Decimal
    cost: Decimal
    applied: set[str] = field(default_factory=set)

    def open_lot(self) -> OpenLot:
        return OpenLot(
            id=self.id,
            key=self.key,
            symbol=self.symbol,
            member=self.member,
            purchased_on=self.purchased_on,
            filled_on=self.filled_on,
            open_qty=self.open_qty,
            fill_price=self.fill_price,
        )


def run_backtest(
    history: History, strategy: Strategy, policy: ExitPolicy, params: Params
) -> BacktestResult:
    """Replay `history` from `params.start` to `params.end` (see the module docstring)."""
    return _Replay(history, strategy, policy, params).run()


class _Replay:
    def __init__(
        self, history: History, strategy: Strategy, policy: ExitPolicy, params: Params
    ) -> None:
        self.history = history
        self.strategy = strategy
        self.policy = policy
        self.params = params
        self.sessions = [day for day in history.sessions if params.start <= day <= params.end]
        self.index = {day: number for number, day in enumerate(self.sessions)}
        self.result = BacktestResult(params, strategy.sha256, history.benchmark)
        self.cash = params.capital
        self.lots: dict[uuid.UUID, _Lot] = {}
        self.held: dict[str, Decimal] = defaultdict(Decimal)  # open quantity per symbol
        self.sales: dict[tuple[str, str], list[SaleSignal]] = defaultdict(list)
        self.decided: set[str] = set()
        self.numbers = 0
        self.stops = policy.stop_loss_pct is not None or policy.take_profit_pct is not None
        slip = EXACT.divide(params.slippage_bps, _BPS)
        self.buy_factor = 1 + slip
        self.sell_factor = 1 - slip
        self.prices = SessionPrices(history, params.start)

    def run(self) -> BacktestResult:
        for day in self.sessions:
            self.prices = SessionPrices(self.history, day)
            releases = self.history.releases.get(day, [])
            self._learn_sales(releases)
            self._exits(day)
            self._delistings(day)
            self._buys(day, releases)
            self._close(day)
        self._finish()
        return self.result

    # -- exits -----------------------------------------------------------------------------------

    def _learn_sales(self, releases: list[Release]) -> None:
        owners = {(lot.member, lot.symbol) for lot in self.lots.values()}
        for release in releases:
            filing = release.filing
            if filing.malformed or filing.transaction is not FeedTransaction.SELL:
                continue
            signal = sale_signal(filing)
            pair = (signal.member, signal.symbol)
            self.sales[pair].append(signal)
            if pair not in owners:
                self.result.sales_without_lot += 1

    def _exits(self, day: date) -> None:
        if not self.lots:
            return
        lots = [lot for lot in self.lots.values() if self._may_exit(lot, day)]
        if not lots:
            return
        pairs = {(lot.member, lot.symbol) for lot in lots}
        signals = [sale for pair in pairs for sale in self.sales.get(pair, ())]
        prices = {}
        for symbol in {lot.symbol for lot in lots}:
            bar = self.prices.bar(symbol)
            if bar is not None:
                prices[symbol] = bar[0]
        plan = decide_exits(
            [lot.open_lot() for lot in lots],
            signals,
            self.policy,
            today=day,
            trading_days=self._held_sessions(lots, day),
            prices=prices,
            applied={lot.id: frozenset(lot.applied) for lot in lots if lot.applied},
        )
        for decision in plan.decisions:
            lot = self.lots[decision.lot_id]
            opened = prices.get(lot.symbol)
            if opened is None:
                continue  # no bar to sell at: the exit waits for the symbol's next bar
            self._sell(lot, decision, day, opened)

    def _may_exit(self, lot: _Lot, day: date) -> bool:
        """Whether `decide_exits` could close `lot` today: any lot when a stop is set (it reads
        the open), else only one with a sale of its member's in its ticker, or one held the
        holding limit's sessions. It decides each lot alone (a sale, all of its pair's lots), so
        the lots left out are those it would leave open: asking about them only costs time."""
        if self.stops or (lot.member, lot.symbol) in self.sales:
            return True
        limit = self.policy.max_hold_days
        return limit is not None and self.index[day] - self.index[lot.filled_on] >= limit

    def _held_sessions(self, lots: list[_Lot], day: date) -> list[date]:
        """The sessions the holding limit counts (none when it is off)."""
        if self.policy.max_hold_days is None:
            return []
        first = min(self.index[lot.filled_on] for lot in lots)
        return self.sessions[first : self.index[day] + 1]

    def _sell(self, lot: _Lot, decision: ExitDecision, day: date, opened: Decimal) -> None:
        price = EXACT.multiply(opened, self.sell_factor).quantize(_PRICE, context=EXACT)
        quantity = min(decision.quantity, lot.open_qty)
        proceeds = EXACT.multiply(quantity, price).quantize(CENT, ROUND_HALF_EVEN, EXACT)
        self._close_part(
            lot, quantity, proceeds, cause=decision.cause, day=day, reason=decision.reason
        )
        if decision.cause is CloseCause.MIRRORED_SALE:
            lot.applied.add(decision.ref)
        sold = (quantity, price, proceeds, lot.number, lot.who, decision.cause, decision.reason)
        self.result.fills.append(Fill(day, lot.symbol, OrderSide.SELL, *sold))

    def _close_part(
        self,
        lot: _Lot,
        quantity: Decimal,
        proceeds: Decimal,
        *,
        cause: CloseCause,
        day: date,
        reason: str,
    ) -> None:
        whole = quantity == lot.open_qty
        cost = (
            lot.cost
            if whole
            else EXACT.divide(EXACT.multiply(lot.cost, quantity), lot.open_qty).quantize(
                CENT, ROUND_HALF_EVEN, EXACT
            )
        )
        self.result.closed.append(
            ClosedPart(
                lot.number,
                lot.symbol,
                lot.who,
                cause,
                lot.filled_on,
                day,
                self.index[day] - self.index[lot.filled_on],
                quantity,
                cost,
                proceeds,
                reason,
            )
        )
        self.cash += proceeds
        lot.open_qty -= quantity
        lot.cost -= cost
        self.held[lot.symbol] -= quantity
        if whole:
            del self.lots[lot.id]
        if self.held[lot.symbol] <= 0:
            del self.held[lot.symbol]

    def _delistings(self, day: date) -> None:
        now = self.index[day]
        for symbol in list(self.held):
            last = self.prices.last_close(symbol)
            if last is None:
                continue
            last_day, close = last
            if now - self.index.get(last_day, now) < DELISTED_AFTER:
                continue
            reason = (
                f"{DELISTED_REASON}: no bar since {last_day}; closed at its last close "
                f"{format_price(close)}"
            )
            for lot in [lot for lot in self.lots.values() if lot.symbol == symbol]:
                value = EXACT.multiply(lot.open_qty, close).quantize(CENT, ROUND_HALF_EVEN, EXACT)
                self._close_part(
                    lot, lot.open_qty, value, cause=CloseCause.OUTSIDE, day=day, reason=reason
                )

    # -- buys ------------------------------------------------------------------------------------

    def _buys(self, day: date, releases: list[Release]) -> None:
        buys = sorted(
            (
                (release.filing.filing_date or day, order, release)
                for order, release in enumerate(releases)
                if release.filing.is_tradable_buy
            ),
            key=lambda item: (item[0], item[1]),
        )
        account = self._account(day) if buys and self.strategy.needs_account else None
        for _filed, _order, release in buys:
            filing = release.filing
            assert filing.source_hash is not None
            if filing.source_hash in self.decided:
                continue
            self.decided.add(filing.source_hash)
            facts = FilingFacts.from_filing(filing, amends=release.amends)
            decision = decide(facts, self.strategy, account, today=day)
            if not decision.buys or decision.amount is None:
                self._skip(day, facts.symbol, decision.rule or "strategy", decision.reason)
                continue
            amount = decision.amount
            bar = self.prices.bar(facts.symbol)
            if bar is None:
                self._skip(
                    day, facts.symbol, "no_bar", f"no {facts.symbol} bar on {day}: not filled"
                )
                continue
            if amount > self.cash:
                self._skip(
                    day,
                    facts.symbol,
                    "cash",
                    f"the order is {format_usd(amount)} and the cash {format_usd(self.cash)}",
                )
                continue
            self._buy(release, facts, amount, bar[0], day)
            if account is not None:
                account = account.with_buy(facts.symbol, amount)

    def _buy(
        self, release: Release, facts: FilingFacts, amount: Decimal, opened: Decimal, day: date
    ) -> None:
        price = EXACT.multiply(opened, self.buy_factor).quantize(_PRICE, context=EXACT)
        quantity = EXACT.divide(amount, price).quantize(QUANTUM, ROUND_DOWN, EXACT)
        if quantity <= 0:
            self._skip(day, facts.symbol, "no_quantity", f"{format_usd(amount)} buys no share")
            return
        self.numbers += 1
        filing = release.filing
        who = Who(
            facts.member_name,
            filing.party.value if filing.party is not None else "UNKNOWN",
            facts.chamber.value if facts.chamber is not None else "unknown",
        )
        lot = _Lot(
            number=self.numbers,
            id=uuid.UUID(int=self.numbers),
            key=facts.source_hash,
            symbol=facts.symbol,
            member=member_key(facts.member_name),
            who=who,
            purchased_on=facts.trade_date or facts.filing_date,
            filled_on=day,
            fill_price=price,
            open_qty=quantity,
            cost=amount,
        )
        self.lots[lot.id] = lot
        self.held[lot.symbol] += quantity
        self.cash -= amount
        self.result.fills.append(
            Fill(day, lot.symbol, OrderSide.BUY, quantity, price, amount, lot.number, who)
        )

    def _account(self, day: date) -> AccountSnapshot:
        """The account at the open, as the broker would show it: positions at the open (their
        last close when the symbol has no bar)."""
        positions = {}
        for symbol, quantity in self.held.items():
            bar = self.prices.bar(symbol)
            price = bar[0] if bar is not None else self.prices.price_or_zero(symbol)
            positions[symbol] = EXACT.multiply(quantity, price)
        equity = EXACT.add(self.cash, exact_sum(positions.values()))
        return AccountSnapshot(equity=equity, cash=self.cash, positions=positions)

    def _skip(self, day: date, symbol: str, rule: str, reason: str) -> None:
        self.result.skips.append(Skip(day, symbol, rule, reason))

    # -- closes ----------------------------------------------------------------------------------

    def _close(self, day: date) -> None:
        value = exact_sum(
            EXACT.multiply(quantity, self.prices.price_or_zero(symbol))
            for symbol, quantity in self.held.items()
        )
        benchmark = self.prices.bar(self.history.benchmark)
        self.result.equity.append(
            EquityDay(
                day,
                self.cash,
                value.quantize(CENT, ROUND_HALF_EVEN, EXACT),
                benchmark[1] if benchmark is not None else None,
            )
        )

    def _finish(self) -> None:
        """The lots still open, valued at the last session's close (`self.prices` is its)."""
        for lot in sorted(self.lots.values(), key=lambda item: item.number):
            price = self.prices.price_or_zero(lot.symbol)
            self.result.open_lots.append(
                OpenPosition(
                    lot.number,
                    lot.symbol,
                    lot.who,
                    lot.filled_on,
                    lot.open_qty,
                    lot.cost,
                    EXACT.multiply(lot.open_qty, price).quantize(CENT, ROUND_HALF_EVEN, EXACT),
                )
            )
