"""The dry run: collect and decide as a real run would (the same `domain.decide`, the same
guardrails); send nothing, write nothing but Quiver's request count.

Where the real run would fall back to whole shares (the asset is not fractionable, so Alpaca
refuses a notional order), the dry run predicts it from the asset and the latest price: so many
shares, or a skip when one share costs more than the notional.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from trading_automation.clients.errors import ApiError
from trading_automation.domain.decide import decide
from trading_automation.domain.limits import AccountSnapshot, PendingBuy, pending_by_symbol
from trading_automation.domain.money import format_price, format_usd
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.strategy_file import load_strategy
from trading_automation.worker.decisions import Decisions, facts, mark_amendments, read_account
from trading_automation.worker.guards import NOT_COUNTED_FOR_CAPS, day_bounds, guard_decision
from trading_automation.worker.orders import SKIP_ZERO_SHARES, whole_shares
from trading_automation.worker.summary import RunSummary

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.config import Settings
    from trading_automation.db import Database
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.collect import Candidate, Collector


def dry_run(
    *,
    settings: Settings,
    database: Database,
    collector: Collector,
    alpaca: AlpacaClient,
    summary: RunSummary,
    days: list[date],
    clock: RunClock,
    say: Callable[[str], None],
    decisions: Decisions | None = None,
) -> None:
    """Print what a run would buy or skip, counting it in `summary`."""
    decisions = decisions or Decisions(load_strategy(settings), settings.trade_notional_usd)
    say(f"dry run for {summary.trading_date}: collecting {days[0]} .. {days[-1]}")
    candidates, _ = collector.collect(days, summary, clock, store=False)
    now = clock.now()
    day = now.astimezone(NEW_YORK).date()
    start, end = day_bounds(day)
    hashes = [c.source_hash for c in candidates]
    keys = [c.filing.transaction_key for c in candidates]
    with database.transaction(readonly=True) as uow:
        traded = uow.trades.existing_source_hashes(hashes)
        skipped = uow.skips.skipped(hashes, untraded_only=True)
        mark_amendments(candidates, uow.feed.originals(keys))
        run = _Preview(
            settings=settings,
            alpaca=alpaca,
            decisions=decisions,
            summary=summary,
            say=say,
            day=day,
            placed=uow.trades.count_created(start, end, exclude=NOT_COUNTED_FOR_CAPS),
            per_symbol=uow.trades.count_created_by_symbol(start, end, exclude=NOT_COUNTED_FOR_CAPS),
        )
        pending = uow.trades.pending_buys(now) if decisions.needs_account else []
    run.account = _account(decisions, alpaca, pending, summary, say) if candidates else None
    if decisions.needs_account and candidates and run.account is None:
        return
    summary.orders.candidates = len(candidates)
    for candidate in candidates:
        filing = candidate.filing
        who = f"{filing.member_name}, filed {filing.filing_date}"
        if candidate.source_hash in traded:
            summary.orders.already_traded += 1
            say(f"  already traded  {candidate.symbol:<6} ({who})")
        elif candidate.source_hash in skipped:
            summary.orders.already_skipped += 1
            say(f"  already skipped {candidate.symbol:<6} ({who})")
        else:
            run.consider(candidate, who)
    count = sum(run.planned.values())
    say(f"dry run: {count} order(s) would be sent; nothing was written or sent")


@dataclass
class _Preview:
    """The dry run's decisions so far: what it would buy, counted against the caps and limits."""

    settings: Settings
    alpaca: AlpacaClient
    decisions: Decisions
    summary: RunSummary
    say: Callable[[str], None]
    day: date
    placed: int
    per_symbol: Mapping[str, int]
    planned: dict[str, int] = field(default_factory=dict)
    account: AccountSnapshot | None = None

    def consider(self, candidate: Candidate, who: str) -> None:
        """Say what the real run would do with this filing."""
        symbol = candidate.symbol
        decision = decide(
            facts(candidate), self.decisions.loaded.strategy, self.account, today=self.day
        )
        if decision.amount is None:
            assert decision.rule is not None
            self.summary.orders.skipped[decision.rule] += 1
            self.say(f"  would skip      {symbol:<6} ({who}): {decision.rule}: {decision.reason}")
            return
        guard = guard_decision(
            self.settings,
            symbol,
            self.day,
            placed_today=self.placed + sum(self.planned.values()),
            placed_symbol_today=self.per_symbol.get(symbol, 0) + self.planned.get(symbol, 0),
        )
        if guard is not None:
            self.summary.orders.skipped[guard.code] += 1
            self.say(f"  would skip      {symbol:<6} ({who}): {guard.reason}")
            return
        explain = self.decisions.loaded.path is not None
        words = "the order's" if explain else "TRADE_NOTIONAL_USD"
        plan = predict_order(self.alpaca, symbol, decision.amount, words=words)
        if plan.skip_reason is not None:
            self.summary.orders.skipped[SKIP_ZERO_SHARES] += 1
            self.say(f"  would skip      {symbol:<6} ({who}): {plan.skip_reason}")
            return
        self.planned[symbol] = self.planned.get(symbol, 0) + 1
        if self.account is not None:
            self.account = self.account.with_buy(symbol, decision.amount)
        how = f": {decision.reason}" if explain else ""
        self.say(f"  would buy {plan.amount} of {symbol:<6} ({who}){plan.note}{how}")


def _account(
    decisions: Decisions,
    alpaca: AlpacaClient,
    pending: list[PendingBuy],
    summary: RunSummary,
    say: Callable[[str], None],
) -> AccountSnapshot | None:
    """The account as a real run would read it (None when the strategy needs none, or the
    broker did not answer: then nothing is decided, as in a real run)."""
    if not decisions.needs_account:
        return None
    try:
        account = read_account(alpaca)
    except ApiError as error:
        message = f"the account could not be read for the strategy's limits: {error.summary}"
        summary.errors.append(message)
        say(f"dry run: {message}; nothing decided")
        return None
    return replace(account, pending=pending_by_symbol(pending, decisions.default_notional))


@dataclass(frozen=True)
class OrderPlan:
    """What the real run would send for a filing: the amount, or why it would skip it."""

    amount: str
    note: str = ""
    skip_reason: str | None = None


def predict_order(
    alpaca: AlpacaClient, symbol: str, notional: Decimal, *, words: str = "TRADE_NOTIONAL_USD"
) -> OrderPlan:
    """The order the real run would send for `symbol`: a notional order, or whole shares when
    the asset is not fractionable (none when one share costs more than the notional)."""
    dollars = format_usd(notional)
    try:
        asset = alpaca.asset(symbol)
        if asset.fractionable:
            return OrderPlan(dollars)
        price = alpaca.latest_trade(symbol).price
    except ApiError as error:
        return OrderPlan(dollars, note=f"; could not check the asset: {error.summary}")
    if price <= 0:
        return OrderPlan(dollars, skip_reason=f"the latest price of {symbol} is {price}")
    shares = whole_shares(notional, price)
    if shares < 1:
        return OrderPlan(
            dollars,
            skip_reason=f"one share costs {format_price(price)}, more than "
            f"{words} {dollars} ({symbol} is not fractionable)",
        )
    return OrderPlan(
        f"{shares} whole shares",
        note=f"; not fractionable, {format_price(price)} a share",
    )
