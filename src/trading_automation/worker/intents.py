"""The intent step: decide a filing, check the guardrails, record the trade or the skip.

For each BUY filing the decision (`domain.decide`, see `worker.decisions`) says how much to buy or
which rule skips it; the guardrails (`TRADING_ENABLED`, the daily caps) then say whether the order
is sent. Under a daily cap or a portfolio limit, deciding and recording happen in one transaction
under the per-day lock (`lock_daily_caps`), so concurrent runs cannot exceed them; otherwise the
intent is a single statement. Every skipped filing is stored (`filing_skip`) with its rule and the
values compared, once: a skip is final, as a trade is.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import structlog

from trading_automation.domain.strategy import Decision
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.worker.guards import (
    NOT_COUNTED_FOR_CAPS,
    Guard,
    caps_apply,
    day_bounds,
    guard_decision,
)

if TYPE_CHECKING:
    from trading_automation.config import Settings
    from trading_automation.db import Database, Trade, UnitOfWork
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.collect import Candidate
    from trading_automation.worker.decisions import Decisions
    from trading_automation.worker.summary import RunSummary

log = structlog.get_logger(__name__)

SKIP_ZERO_SHARES = "zero_shares"


class IntentStep:
    """Records each filing's intent (or skip); the order loop (`OrderPlacer`) sends the orders."""

    settings: Settings
    database: Database
    decisions: Decisions
    job_run_id: uuid.UUID | None
    touched: set[uuid.UUID]
    feed_ids: dict[str, uuid.UUID]

    def record_intent(
        self, candidate: Candidate, summary: RunSummary, clock: RunClock
    ) -> Trade | None:
        """Decide, check the guardrails and record the trade (or the skip) in one transaction;
        None when there is nothing to send (already traded, or skipped)."""
        now = clock.now()
        day = now.astimezone(NEW_YORK).date()
        decisions = self.decisions
        decision = None
        if not decisions.needs_account:
            decision = decisions.without_account(candidate, day)
            if not decision.buys:
                with self.database.autocommit() as uow:
                    self._record_skip(uow, candidate, decision, summary, now)
                return None
        # Under a daily cap or a limit, deciding and recording happen in one transaction, under
        # the per-day lock; otherwise recording the intent is a single statement.
        caps = caps_apply(self.settings)
        locked = caps or decision is None
        single = not locked and self.settings.trading_enabled
        unit = self.database.autocommit() if single else self.database.transaction()
        with unit as uow:
            guard = None
            if locked:
                uow.trades.lock_daily_caps(day)
            if decision is None:
                if uow.trades.by_source_hash(candidate.source_hash) is not None:
                    summary.orders.already_traded += 1
                    return None
                decision = decisions.under_lock(uow, candidate, day)
                if not decision.buys:
                    self._record_skip(uow, candidate, decision, summary, now)
                    return None
            if caps:
                guard = self._guard(uow, candidate.symbol, day)
            elif not self.settings.trading_enabled:
                guard = guard_decision(
                    self.settings, candidate.symbol, day, placed_today=0, placed_symbol_today=0
                )
            result = uow.trades.record_intent(
                source_hash=candidate.source_hash,
                symbol=candidate.symbol,
                congress_trade_feed_id=self.feed_ids.get(candidate.source_hash),
                job_run_id=self.job_run_id,
                skip_reason=guard.reason if guard else None,
                now=now,
                transaction_key=candidate.filing.transaction_key,
                planned_notional=decision.amount,
            )
            trade = result.trade
            if guard is not None and result.created:
                guarded = Decision.skip(guard.code, guard.reason)
                self._record_skip(uow, candidate, guarded, None, now, trade_id=trade.id)
            if not result.created and trade.source_hash != candidate.source_hash:
                bought = Decision.skip(
                    "amendment",
                    "another filing of the same transaction (member, ticker, trade date and "
                    f"transaction) was decided before: trade {trade.client_order_id}",
                )
                self._record_skip(uow, candidate, bought, summary, now)
                return None
        if not result.created:
            summary.orders.already_traded += 1
            return None
        self.touched.add(trade.id)
        if guard is not None:
            summary.orders.skipped[guard.code] += 1
            log.info(
                "order_skipped",
                symbol=candidate.symbol,
                guard=guard.code,
                reason=guard.reason,
                client_order_id=trade.client_order_id,
            )
            return None
        log.debug("trade_intent", symbol=candidate.symbol, client_order_id=trade.client_order_id)
        return trade

    def _record_skip(
        self,
        uow: UnitOfWork,
        candidate: Candidate,
        decision: Decision,
        summary: RunSummary | None,
        now: datetime,
        *,
        trade_id: uuid.UUID | None = None,
    ) -> None:
        """Store why a filing is not bought (once); count it when `summary` is given."""
        assert decision.rule is not None
        recorded = uow.skips.record(
            source_hash=candidate.source_hash,
            symbol=candidate.symbol,
            rule=decision.rule,
            reason=decision.reason,
            now=now,
            feed_id=self.feed_ids.get(candidate.source_hash),
            job_run_id=self.job_run_id,
            trade_id=trade_id,
            strategy_sha256=self.decisions.loaded.sha256,
        )
        if summary is None:
            return
        if not recorded:
            summary.orders.already_skipped += 1
            return
        summary.orders.skipped[decision.rule] += 1
        log.info(
            "filing_skipped", symbol=candidate.symbol, rule=decision.rule, reason=decision.reason
        )

    def _guard(self, uow: UnitOfWork, symbol: str, day: date) -> Guard | None:
        settings = self.settings
        start, end = day_bounds(day)
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
