"""What a backtest reads of the stored history: disclosures in the order they became public, the
transactions disclosed before a moment, and daily bars, each streamed rather than held twice.

Every query streams (`yield_per`), so ten years of bars pass through in pages; the bars come in
primary-key order (symbol, day), which both databases read straight from the key's index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading_automation.db.history_models import PriceBar
from trading_automation.db.models import CongressTradeFeed

PAGE = 10_000
SYMBOLS_PER_QUERY = 500


class ReplayReader:
    """Reads what a replay of the history needs (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def disclosures(self, after: datetime, until: datetime) -> Iterator[tuple[datetime, Any]]:
        """(published_at, raw record) of every record that became public after `after` and at
        or before `until`, in that order (ties in a stable order of their contents)."""
        query = (
            select(CongressTradeFeed.published_at, CongressTradeFeed.raw_json)
            .where(
                CongressTradeFeed.published_at > after,
                CongressTradeFeed.published_at <= until,
            )
            .order_by(CongressTradeFeed.published_at, CongressTradeFeed.row_hash)
            .execution_options(yield_per=PAGE)
        )
        yield from self.session.execute(query)

    def transactions_before(self, moment: datetime) -> Iterator[tuple[str, date | None]]:
        """(transaction key, filing date) of every well-formed record public at or before
        `moment`: the transactions a later filing would amend."""
        query = (
            select(CongressTradeFeed.transaction_key, CongressTradeFeed.filing_date)
            .where(
                CongressTradeFeed.published_at <= moment,
                CongressTradeFeed.transaction_key.is_not(None),
            )
            .order_by(CongressTradeFeed.published_at, CongressTradeFeed.row_hash)
            .execution_options(yield_per=PAGE)
        )
        for key, filed in self.session.execute(query):
            yield str(key), filed

    def bars(
        self, start: date, end: date, symbols: Iterable[str]
    ) -> Iterator[tuple[str, date, Decimal, Decimal]]:
        """(symbol, day, open, close) of `symbols`' stored bars from `start` to `end`, by symbol
        then day, asked for `SYMBOLS_PER_QUERY` symbols at a time (each a range of the key)."""
        wanted = sorted(set(symbols))
        for first in range(0, len(wanted), SYMBOLS_PER_QUERY):
            batch = wanted[first : first + SYMBOLS_PER_QUERY]
            query = (
                select(PriceBar.symbol, PriceBar.day, PriceBar.open, PriceBar.close)
                .where(PriceBar.symbol.in_(batch), PriceBar.day >= start, PriceBar.day <= end)
                .order_by(PriceBar.symbol, PriceBar.day)
                .execution_options(yield_per=PAGE)
            )
            yield from self.session.execute(query)
