"""Skipped filings: every BUY filing the system decided not to buy, with its rule and reason."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, literal, select
from sqlalchemy.orm import Session

from trading_automation.db.models import FilingSkip, Trade
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.jsonvalues import without_unstorable
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.errors import InvalidValueError


class FilingSkipRepository:
    """`filing_skip` rows; works inside the caller's transaction and never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        *,
        source_hash: str,
        symbol: str,
        rule: str,
        reason: str,
        now: datetime,
        feed_id: uuid.UUID | None = None,
        job_run_id: uuid.UUID | None = None,
        trade_id: uuid.UUID | None = None,
        strategy_sha256: str | None = None,
    ) -> bool:
        """Record that a filing was skipped, once (the first decision stands); True when this
        call recorded it. A filing that has a trade is not skipped by a decision (`trade_id`
        names the trade a guardrail skipped). One statement: safe in an autocommit unit of work.
        """
        if not rule.strip() or not reason.strip():
            raise InvalidValueError("rule", "a skip names its rule and its reason")
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "source_hash": source_hash,
            "congress_trade_feed_id": feed_id,
            "job_run_id": job_run_id,
            "trade_id": trade_id,
            "symbol": symbol,
            "rule": rule,
            "reason": without_unstorable(reason),
            "strategy_sha256": strategy_sha256,
            "skipped_at": require_aware_utc(now, field="now"),
        }
        row = select(
            *(literal(value, FilingSkip.__table__.c[name].type) for name, value in values.items())
        )
        if trade_id is None:
            row = row.where(~exists().where(Trade.source_hash == source_hash))
        statement = (
            conflict_insert(self.session, FilingSkip)
            .from_select(list(values), row)
            .on_conflict_do_nothing(index_elements=["source_hash"])
            .returning(FilingSkip.id)
        )
        return self.session.execute(statement).first() is not None

    def skipped(self, source_hashes: Iterable[str], *, untraded_only: bool = False) -> set[str]:
        """Which of these filings were skipped (one query per thousand); `untraded_only` leaves
        out those skipped by a guardrail after their trade was recorded."""
        wanted = sorted(set(source_hashes))
        found: set[str] = set()
        for start in range(0, len(wanted), 1000):
            query = select(FilingSkip.source_hash).where(
                FilingSkip.source_hash.in_(wanted[start : start + 1000])
            )
            if untraded_only:
                query = query.where(FilingSkip.trade_id.is_(None))
            found.update(self.session.scalars(query))
        return found

    def by_source_hash(self, source_hashes: Iterable[str]) -> dict[str, FilingSkip]:
        """The skips of these filings, by filing key."""
        wanted = sorted(set(source_hashes))
        found: dict[str, FilingSkip] = {}
        for start in range(0, len(wanted), 1000):
            for skip in self.session.scalars(
                select(FilingSkip).where(FilingSkip.source_hash.in_(wanted[start : start + 1000]))
            ):
                found[skip.source_hash] = skip
        return found

    def counts_by_rule(self) -> dict[str, int]:
        """How many filings each rule skipped, most first."""
        rows = self.session.execute(
            select(FilingSkip.rule, func.count())
            .group_by(FilingSkip.rule)
            .order_by(func.count().desc(), FilingSkip.rule)
        ).all()
        return {str(rule): int(count) for rule, count in rows}
