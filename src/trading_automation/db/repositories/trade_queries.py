"""The read half of the trade repository: finders, open trades, cap counts and the listing.

`TradeRepository` (the write half, in `trades.py`) inherits these, so `uow.trades` offers both.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from trading_automation.db.models import Trade
from trading_automation.db.repositories.pagination import Cursor, Page, check_page_size
from trading_automation.domain.enums import OPEN_TRADE_STATUSES, OrderSide, TradeStatus
from trading_automation.domain.limits import PendingBuy
from trading_automation.domain.money import exact_product
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.errors import InvalidValueError

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9./-]{0,11}$")
COUNT_CAP = 10_000


@dataclass(frozen=True)
class TradeCount:
    """A count that stays cheap on large tables: exact up to `COUNT_CAP`, else a lower bound."""

    value: int
    exact: bool

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


def normalize_symbol(symbol: object, *, field: str = "symbol") -> str:
    """Trim and upper-case a ticker, refusing anything that is not a listed symbol."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise InvalidValueError(field, "a ticker symbol is required")
    text = symbol.strip().upper()
    if not _SYMBOL.match(text):
        raise InvalidValueError(field, f"{text!r} is not a listed symbol")
    return text


class TradeQueries:
    """Reads of trade rows, inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- reading -----------------------------------------------------------------------------

    def get(self, trade_id: uuid.UUID) -> Trade | None:
        """The trade with this id."""
        return self.session.get(Trade, trade_id)

    def by_source_hash(self, source_hash: str) -> Trade | None:
        """The trade of a filing."""
        return self.session.scalar(select(Trade).where(Trade.source_hash == source_hash))

    def by_client_order_id(self, client_order_id: str) -> Trade | None:
        """The trade sent with this client order id."""
        return self.session.scalar(select(Trade).where(Trade.client_order_id == client_order_id))

    def by_alpaca_order_id(self, alpaca_order_id: str) -> Trade | None:
        """The trade of a broker order."""
        return self.session.scalar(select(Trade).where(Trade.alpaca_order_id == alpaca_order_id))

    def by_source_hashes(self, source_hashes: Iterable[str]) -> dict[str, Trade]:
        """The trades of these filings, by filing key (one query per thousand)."""
        wanted = sorted(set(source_hashes))
        found: dict[str, Trade] = {}
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            for trade in self.session.scalars(select(Trade).where(Trade.source_hash.in_(chunk))):
                found[trade.source_hash] = trade
        return found

    def existing_source_hashes(self, source_hashes: Iterable[str]) -> set[str]:
        """Which of these filings already have a trade (one query)."""
        wanted = set(source_hashes)
        if not wanted:
            return set()
        return set(
            self.session.scalars(select(Trade.source_hash).where(Trade.source_hash.in_(wanted)))
        )

    def list_open(
        self,
        *,
        bound: bool | None = None,
        limit: int | None = None,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[Trade]:
        """Non-terminal trades, oldest first (the reconcile loop's work list).

        `bound` keeps those with (True) or without (False) a broker order id; `after` continues
        from the (created_at, id) of the last trade of the previous call, so a caller pages
        through any number of open trades `limit` at a time.
        """
        query = select(Trade).where(Trade.status.in_(sorted(OPEN_TRADE_STATUSES)))
        if bound is True:
            query = query.where(Trade.alpaca_order_id.is_not(None))
        elif bound is False:
            query = query.where(Trade.alpaca_order_id.is_(None))
        if after is not None:
            query = query.where(
                tuple_(Trade.created_at, Trade.id) > tuple_(require_aware_utc(after[0]), after[1])
            )
        query = query.order_by(Trade.created_at, Trade.id)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def status_counts(self, trade_ids: Iterable[uuid.UUID]) -> dict[TradeStatus, int]:
        """How many of these trades are in each status (one query per 1,000 ids)."""
        ids = sorted(set(trade_ids))
        counts: dict[TradeStatus, int] = {}
        for start in range(0, len(ids), 1000):
            query = (
                select(Trade.status, func.count())
                .where(Trade.id.in_(ids[start : start + 1000]))
                .group_by(Trade.status)
            )
            for status, count in self.session.execute(query):
                counts[TradeStatus(status)] = counts.get(TradeStatus(status), 0) + int(count)
        return counts

    def pending_buys(self, since: datetime) -> list[PendingBuy]:
        """Buys the broker's positions read at `since` may not show: open ones, and those that
        filled (in part) at or after `since`. Only buys created in the day before `since` can be
        either: a DAY order placed earlier has ended by then."""
        moment = require_aware_utc(since, field="since")
        last_change = func.coalesce(Trade.filled_at, Trade.updated_at)
        rows = self.session.execute(
            select(
                Trade.symbol,
                Trade.status,
                Trade.planned_notional,
                Trade.notional_submitted,
                Trade.filled_qty,
                Trade.filled_avg_price,
            ).where(
                Trade.side == OrderSide.BUY,
                Trade.created_at >= moment - timedelta(days=1),
                or_(
                    Trade.status.in_(sorted(OPEN_TRADE_STATUSES)),
                    and_(Trade.filled_qty > 0, last_change >= moment),
                ),
            )
        ).all()
        return [
            PendingBuy(
                symbol=str(symbol),
                open=TradeStatus(status) in OPEN_TRADE_STATUSES,
                planned=planned if planned is not None else notional,
                filled_value=exact_product(filled_qty or Decimal(0), price or Decimal(0)),
            )
            for symbol, status, planned, notional, filled_qty, price in rows
        ]

    def count_created(
        self,
        start: datetime,
        end: datetime,
        *,
        symbol: str | None = None,
        exclude: Iterable[TradeStatus] = (TradeStatus.SKIPPED,),
    ) -> int:
        """Buys created in [start, end), optionally for one symbol; SKIPPED ones by default
        do not count (a skipped filing placed no order), and exits never use up a buy cap."""
        query = select(func.count()).select_from(Trade).where(*self._window(start, end))
        if symbol is not None:
            query = query.where(Trade.symbol == normalize_symbol(symbol))
        excluded = sorted(set(exclude))
        if excluded:
            query = query.where(Trade.status.not_in(excluded))
        return int(self.session.scalar(query) or 0)

    def count_created_by_symbol(
        self,
        start: datetime,
        end: datetime,
        *,
        exclude: Iterable[TradeStatus] = (TradeStatus.SKIPPED,),
    ) -> dict[str, int]:
        """Buys created in [start, end) per symbol (one query)."""
        query = (
            select(Trade.symbol, func.count())
            .where(*self._window(start, end))
            .group_by(Trade.symbol)
        )
        excluded = sorted(set(exclude))
        if excluded:
            query = query.where(Trade.status.not_in(excluded))
        return {str(symbol): int(count) for symbol, count in self.session.execute(query)}

    @staticmethod
    def _window(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        """Buys created in [start, end)."""
        begin = require_aware_utc(start, field="start")
        finish = require_aware_utc(end, field="end")
        if finish < begin:
            raise InvalidValueError("end", "must not be before start")
        return [
            Trade.created_at >= begin,
            Trade.created_at < finish,
            Trade.side == OrderSide.BUY,
        ]

    def page(
        self,
        *,
        symbol: str | None = None,
        status: TradeStatus | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Trade]:
        """Trades newest first, filtered, keyset-paginated: any page costs the same as page one.

        `created_from` is inclusive and `created_to` exclusive. Pass `next_cursor` or
        `prev_cursor` from a page to move; a cursor that was altered raises `InvalidCursorError`.
        """
        check_page_size(limit)
        position = Cursor.decode(cursor) if cursor else None
        backwards = position is not None and position.direction == "prev"
        query = self._filtered(symbol, status, created_from, created_to)
        if position is not None:
            if not isinstance(position.key, datetime):
                raise InvalidValueError("cursor", "not a cursor of the trades listing")
            mark = require_aware_utc(position.key, field="cursor")
            # One bound per side on created_at: SQLite ranges its index scan on a single upper
            # (or lower) bound, so the cursor's replaces the filter's whenever it is tighter.
            if backwards and (created_from is None or require_aware_utc(created_from) <= mark):
                query = self._filtered(symbol, status, None, created_to)
                query = query.where(Trade.created_at >= mark)
            elif not backwards and (created_to is None or require_aware_utc(created_to) > mark):
                query = self._filtered(symbol, status, created_from, None)
                query = query.where(Trade.created_at <= mark)
            key, row = tuple_(Trade.created_at, Trade.id), tuple_(mark, position.id)
            query = query.where(key > row if backwards else key < row)
        order = (
            (Trade.created_at.asc(), Trade.id.asc())
            if backwards
            else (Trade.created_at.desc(), Trade.id.desc())
        )
        rows = list(self.session.scalars(query.order_by(*order).limit(limit + 1)))
        has_more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        more_after = has_more if not backwards else True
        more_before = position is not None if not backwards else has_more
        return Page(
            items=rows,
            next_cursor=(
                Cursor(rows[-1].created_at, rows[-1].id, "next").encode()
                if rows and more_after
                else None
            ),
            prev_cursor=(
                Cursor(rows[0].created_at, rows[0].id, "prev").encode()
                if rows and more_before
                else None
            ),
        )

    def count(
        self,
        *,
        symbol: str | None = None,
        status: TradeStatus | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        cap: int = COUNT_CAP,
    ) -> TradeCount:
        """How many trades match, counting at most `cap` rows so large tables stay fast."""
        matching = self._filtered(symbol, status, created_from, created_to).with_only_columns(
            Trade.id
        )
        counted = self.session.scalar(
            select(func.count()).select_from(matching.limit(cap + 1).subquery())
        )
        total = int(counted or 0)
        return TradeCount(value=min(total, cap), exact=total <= cap)

    @staticmethod
    def _filtered(
        symbol: str | None,
        status: TradeStatus | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> Select[Trade]:
        query = select(Trade)
        if symbol:
            query = query.where(Trade.symbol == normalize_symbol(symbol))
        if status is not None:
            query = query.where(Trade.status == TradeStatus(status))
        if created_from is not None:
            query = query.where(
                Trade.created_at >= require_aware_utc(created_from, field="created_from")
            )
        if created_to is not None:
            query = query.where(
                Trade.created_at < require_aware_utc(created_to, field="created_to")
            )
        return query
