"""The dry run: collect and decide as a real run would; send nothing, write nothing but Quiver's
request count.

Where the real run would fall back to whole shares (the asset is not fractionable, so Alpaca
refuses a notional order), the dry run predicts it from the asset and the latest price: so many
shares, or a skip when one share costs more than the notional.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from trading_automation.clients.errors import ApiError
from trading_automation.domain.money import format_price, format_usd
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.worker.guards import NOT_COUNTED_FOR_CAPS, day_bounds, guard_decision
from trading_automation.worker.orders import SKIP_ZERO_SHARES, whole_shares
from trading_automation.worker.summary import RunSummary

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.config import Settings
    from trading_automation.db import Database
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.collect import Collector


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
) -> None:
    """Print what a run would buy or skip, counting it in `summary`."""
    say(f"dry run for {summary.trading_date}: collecting {days[0]} .. {days[-1]}")
    candidates, _ = collector.collect(days, summary, clock, store=False)
    day = clock.now().astimezone(NEW_YORK).date()
    start, end = day_bounds(day)
    with database.transaction(readonly=True) as uow:
        traded = uow.trades.existing_source_hashes(c.source_hash for c in candidates)
        placed = uow.trades.count_created(start, end, exclude=NOT_COUNTED_FOR_CAPS)
        per_symbol: Mapping[str, int] = uow.trades.count_created_by_symbol(
            start, end, exclude=NOT_COUNTED_FOR_CAPS
        )
    planned: dict[str, int] = {}
    summary.orders.candidates = len(candidates)
    notional = settings.trade_notional_usd
    for candidate in candidates:
        filing = candidate.filing
        who = f"{filing.member_name}, filed {filing.filing_date}"
        if candidate.source_hash in traded:
            summary.orders.already_traded += 1
            say(f"  already traded  {candidate.symbol:<6} ({who})")
            continue
        guard = guard_decision(
            settings,
            candidate.symbol,
            day,
            placed_today=placed + sum(planned.values()),
            placed_symbol_today=per_symbol.get(candidate.symbol, 0)
            + planned.get(candidate.symbol, 0),
        )
        if guard is not None:
            summary.orders.skipped[guard.code] += 1
            say(f"  would skip      {candidate.symbol:<6} ({who}): {guard.reason}")
            continue
        plan = predict_order(alpaca, candidate.symbol, notional)
        if plan.skip_reason is not None:
            summary.orders.skipped[SKIP_ZERO_SHARES] += 1
            say(f"  would skip      {candidate.symbol:<6} ({who}): {plan.skip_reason}")
            continue
        planned[candidate.symbol] = planned.get(candidate.symbol, 0) + 1
        say(f"  would buy {plan.amount} of {candidate.symbol:<6} ({who}){plan.note}")
    say(f"dry run: {sum(planned.values())} order(s) would be sent; nothing was written or sent")


@dataclass(frozen=True)
class OrderPlan:
    """What the real run would send for a filing: the amount, or why it would skip it."""

    amount: str
    note: str = ""
    skip_reason: str | None = None


def predict_order(alpaca: AlpacaClient, symbol: str, notional: Decimal) -> OrderPlan:
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
            f"TRADE_NOTIONAL_USD {dollars} ({symbol} is not fractionable)",
        )
    return OrderPlan(
        f"{shares} whole shares",
        note=f"; not fractionable, {format_price(price)} a share",
    )
