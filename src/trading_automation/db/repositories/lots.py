"""Lots: each filled BUY trade, owned by the filing behind it, open until closes take it all.

Reads what the exits need (open lots with their filing, the members' SELL disclosures, the exits
made so far) and writes an exit's intent: a SELL trade of one lot, keyed deterministically by the
lot, the cause, what caused it and the trading day, so a rerun finds it instead of selling twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from trading_automation.db.models import CongressTradeFeed, LotClose, Trade
from trading_automation.db.repositories import ledger
from trading_automation.db.repositories.trades import IntentResult, TradeRepository
from trading_automation.domain.enums import CloseCause, FeedTransaction, OrderSide, Party
from trading_automation.domain.exits import member_key
from trading_automation.domain.filings import is_partial_sale
from trading_automation.domain.timestamps import require_aware_utc

PAGE = 500


def exit_key(lot_key: str, cause: CloseCause, ref: str, trading_date: date) -> str:
    """The key (and client order id, with the prefix) of an exit: SHA-256 hex of
    `exit|lot's key|cause|ref|trading day`. One exit per lot, cause and cause's reference a
    trading day; one that ended unfilled may be tried again on a later day."""
    text = f"exit|{lot_key}|{CloseCause(cause).value}|{ref}|{trading_date.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LotRow:
    """A lot and the filing behind it."""

    trade: Trade
    member_name: str | None
    party: Party | None
    trade_date: date | None
    filing_date: date | None


@dataclass(frozen=True)
class SaleFiling:
    """A member's SELL disclosure, as stored."""

    feed_id: uuid.UUID
    source_hash: str
    member_name: str
    ticker: str
    trade_date: date | None
    filing_date: date
    partial: bool


class LotRepository:
    """Lots, their exits and closes; works inside the caller's transaction, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open_lots(
        self,
        *,
        symbols: Iterable[str] | None = None,
        limit: int = PAGE,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[LotRow]:
        """Lots with quantity still open, oldest first, with their filing; keyset-paged by the
        (created_at, id) of the last lot of the previous call."""
        query = (
            select(
                Trade,
                CongressTradeFeed.member_name,
                CongressTradeFeed.party,
                CongressTradeFeed.trade_date,
                CongressTradeFeed.filing_date,
            )
            .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
            .where(Trade.side == OrderSide.BUY, Trade.filled_qty > Trade.closed_qty)
        )
        if symbols is not None:
            query = query.where(Trade.symbol.in_(sorted(set(symbols))))
        if after is not None:
            query = query.where(
                tuple_(Trade.created_at, Trade.id) > tuple_(require_aware_utc(after[0]), after[1])
            )
        rows = self.session.execute(query.order_by(Trade.created_at, Trade.id).limit(limit))
        return [
            LotRow(trade, member, party, traded, filed)
            for trade, member, party, traded, filed in rows
        ]

    def all_open_lots(self) -> list[LotRow]:
        """Every open lot, read `PAGE` at a time."""
        lots: list[LotRow] = []
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            page = self.open_lots(after=after)
            lots += page
            if len(page) < PAGE:
                return lots
            after = (page[-1].trade.created_at, page[-1].trade.id)

    def sale_filings(self, tickers: Iterable[str], *, filed_since: date) -> list[SaleFiling]:
        """Well-formed SELL disclosures of these tickers filed on or after `filed_since`, each
        filing once (its first stored record), oldest first."""
        wanted = sorted(set(tickers))
        if not wanted:
            return []
        rows = self.session.execute(
            select(
                CongressTradeFeed.id,
                CongressTradeFeed.source_hash,
                CongressTradeFeed.member_name,
                CongressTradeFeed.ticker,
                CongressTradeFeed.trade_date,
                CongressTradeFeed.filing_date,
                CongressTradeFeed.raw_json,
            )
            .where(
                CongressTradeFeed.transaction == FeedTransaction.SELL,
                CongressTradeFeed.problems.is_(None),
                CongressTradeFeed.ticker.in_(wanted),
                CongressTradeFeed.filing_date >= filed_since,
            )
            .order_by(CongressTradeFeed.ingested_at, CongressTradeFeed.id)
        )
        seen: set[str] = set()
        sales = []
        for row in rows:
            if row.source_hash in seen:
                continue
            seen.add(row.source_hash)
            sales.append(
                SaleFiling(
                    feed_id=row.id,
                    source_hash=row.source_hash,
                    member_name=row.member_name,
                    ticker=row.ticker,
                    trade_date=row.trade_date,
                    filing_date=row.filing_date,
                    partial=is_partial_sale(row.raw_json),
                )
            )
        return sales

    def members_and_tickers(self, tickers: Iterable[str]) -> set[tuple[str, str]]:
        """(member key, ticker) of every lot, open or closed, in these tickers (one query)."""
        wanted = sorted(set(tickers))
        if not wanted:
            return set()
        rows = self.session.execute(
            select(CongressTradeFeed.member_name, Trade.symbol)
            .join(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
            .where(Trade.side == OrderSide.BUY, Trade.filled_qty > 0, Trade.symbol.in_(wanted))
            .distinct()
        )
        return {(member_key(member), symbol) for member, symbol in rows}

    def exits_of(self, lot_ids: Sequence[uuid.UUID]) -> list[Trade]:
        """Every SELL trade of these lots, oldest first."""
        if not lot_ids:
            return []
        return list(
            self.session.scalars(
                select(Trade)
                .where(Trade.side == OrderSide.SELL, Trade.lot_trade_id.in_(sorted(set(lot_ids))))
                .order_by(Trade.created_at, Trade.id)
            )
        )

    def closes(self, lot_ids: Sequence[uuid.UUID]) -> list[LotClose]:
        """Every close of these lots, oldest first."""
        if not lot_ids:
            return []
        return list(
            self.session.scalars(
                select(LotClose)
                .where(LotClose.lot_trade_id.in_(sorted(set(lot_ids))))
                .order_by(LotClose.closed_at, LotClose.id)
            )
        )

    def record_exit(
        self,
        lot: Trade,
        *,
        cause: CloseCause,
        ref: str,
        trading_date: date,
        quantity: Decimal,
        feed_id: uuid.UUID | None = None,
        job_run_id: uuid.UUID | None = None,
        skip_reason: str | None = None,
        now: datetime | None = None,
    ) -> IntentResult:
        """Record the intent to sell `quantity` of `lot` (before the order is sent), once per
        `exit_key`: a repeated or concurrent call returns the existing SELL trade."""
        return TradeRepository(self.session).record_intent(
            source_hash=exit_key(lot.source_hash, cause, ref, trading_date),
            symbol=lot.symbol,
            congress_trade_feed_id=feed_id,
            job_run_id=job_run_id,
            skip_reason=skip_reason,
            now=now,
            exit_of=lot,
            exit_cause=cause,
            qty=quantity,
        )

    def close_outside(self, lot: Trade, quantity: Decimal, reason: str, now: datetime) -> bool:
        """Record `quantity` of `lot` as sold outside the system; False when it is not open."""
        return ledger.close_outside(self.session, lot, quantity, reason, now)
