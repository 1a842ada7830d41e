"""The dry run: collect and decide as a real run would; write nothing, send nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from trading_automation.domain.money import format_usd
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.worker.guards import NOT_COUNTED_FOR_CAPS, day_bounds, guard_decision
from trading_automation.worker.summary import RunSummary

if TYPE_CHECKING:
    from trading_automation.config import Settings
    from trading_automation.db import Database
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.collect import Collector


def dry_run(
    *,
    settings: Settings,
    database: Database,
    collector: Collector,
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
        planned[candidate.symbol] = planned.get(candidate.symbol, 0) + 1
        say(f"  would buy {format_usd(notional)} of {candidate.symbol:<6} ({who})")
    say(f"dry run: {sum(planned.values())} order(s) would be sent; nothing was written or sent")
