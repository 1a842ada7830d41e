"""What is known of each symbol's daily bars: the trading days already asked for, adjustments
to fetch again, and symbols the data API does not know."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from trading_automation.db.history_models import PriceSymbol
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.timestamps import require_aware_utc


@dataclass(frozen=True)
class SymbolState:
    """A copy of one `price_symbol` row (None of a field: not known yet)."""

    symbol: str
    covered_from: date | None = None
    covered_to: date | None = None
    last_bar_day: date | None = None
    stale_before: date | None = None
    unknown_reason: str | None = None

    @property
    def unknown(self) -> bool:
        """True when the data API does not know the symbol."""
        return self.unknown_reason is not None


class PriceSymbolRepository:
    """Read and record per-symbol bar coverage; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def states(self, symbols: Iterable[str]) -> dict[str, SymbolState]:
        """The state of each of `symbols` (a symbol never seen gets an empty state)."""
        wanted = sorted(set(symbols))
        found = {symbol: SymbolState(symbol) for symbol in wanted}
        for start in range(0, len(wanted), 1000):
            rows = self.session.scalars(
                select(PriceSymbol).where(PriceSymbol.symbol.in_(wanted[start : start + 1000]))
            )
            for row in rows:
                found[row.symbol] = SymbolState(
                    symbol=row.symbol,
                    covered_from=row.covered_from,
                    covered_to=row.covered_to,
                    last_bar_day=row.last_bar_day,
                    stale_before=row.stale_before,
                    unknown_reason=row.unknown_reason,
                )
        return found

    def cover(
        self,
        symbols: Iterable[str],
        *,
        start: date,
        end: date,
        last_bars: dict[str, date],
        now: datetime,
    ) -> None:
        """Record that `symbols` were asked for from `start` to `end` (their coverage grows to
        include it) and the newest bar each has in it (`last_bars`)."""
        when = require_aware_utc(now, field="now")
        rows = [
            {
                "symbol": symbol,
                "covered_from": start,
                "covered_to": end,
                "last_bar_day": last_bars.get(symbol),
                "updated_at": when,
            }
            for symbol in sorted(set(symbols))
        ]
        if not rows:
            return
        statement = conflict_insert(self.session, PriceSymbol)
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["symbol"],
            set_={
                "covered_from": _least(PriceSymbol.covered_from, new.covered_from),
                "covered_to": _greatest(PriceSymbol.covered_to, new.covered_to),
                "last_bar_day": _greatest(PriceSymbol.last_bar_day, new.last_bar_day),
                "updated_at": new.updated_at,
            },
        )
        self.session.connection().execute(statement, rows)

    def mark_stale(self, symbol: str, *, before: date, now: datetime) -> None:
        """Record that `symbol`'s bars before `before` are to be fetched again."""
        when = require_aware_utc(now, field="now")
        statement = conflict_insert(self.session, PriceSymbol).values(
            symbol=symbol, stale_before=before, updated_at=when
        )
        statement = statement.on_conflict_do_update(
            index_elements=["symbol"],
            set_={
                "stale_before": _greatest(
                    PriceSymbol.stale_before, statement.excluded.stale_before
                ),
                "updated_at": statement.excluded.updated_at,
            },
        )
        self.session.execute(statement)

    def clear_stale(self, symbols: Iterable[str], *, fetched_before: date, now: datetime) -> None:
        """Record that `symbols`' bars before `fetched_before` were fetched again (a later
        correction, past that day, stays to do)."""
        self.session.execute(
            update(PriceSymbol)
            .where(
                PriceSymbol.symbol.in_(sorted(set(symbols))),
                PriceSymbol.stale_before <= fetched_before,
            )
            .values(stale_before=None, updated_at=require_aware_utc(now, field="now"))
            .execution_options(synchronize_session=False)
        )

    def mark_unknown(self, symbol: str, *, reason: str, now: datetime) -> None:
        """Record that the data API does not know `symbol`, and why it is believed so."""
        when = require_aware_utc(now, field="now")
        statement = conflict_insert(self.session, PriceSymbol).values(
            symbol=symbol, unknown_reason=reason, unknown_since=when, updated_at=when
        )
        statement = statement.on_conflict_do_update(
            index_elements=["symbol"],
            set_={
                "unknown_reason": statement.excluded.unknown_reason,
                "unknown_since": func.coalesce(
                    PriceSymbol.unknown_since, statement.excluded.unknown_since
                ),
                "updated_at": statement.excluded.updated_at,
            },
        )
        self.session.execute(statement)

    def forget_unknown(self, symbols: Iterable[str], *, now: datetime) -> int:
        """Ask for those of `symbols` marked unknown again, over every day (their coverage is
        forgotten too); returns how many there were."""
        result: Any = self.session.execute(
            update(PriceSymbol)
            .where(
                PriceSymbol.symbol.in_(sorted(set(symbols))),
                PriceSymbol.unknown_reason.is_not(None),
            )
            .values(
                unknown_reason=None,
                unknown_since=None,
                covered_from=None,
                covered_to=None,
                updated_at=require_aware_utc(now, field="now"),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)

    def unknown(self) -> list[SymbolState]:
        """Every symbol the data API does not know, by symbol."""
        rows = self.session.scalars(
            select(PriceSymbol)
            .where(PriceSymbol.unknown_reason.is_not(None))
            .order_by(PriceSymbol.symbol)
        )
        return [SymbolState(row.symbol, unknown_reason=row.unknown_reason) for row in rows]


def _least(stored: Any, new: Any) -> Any:
    """The earlier of two nullable dates (a NULL one does not count)."""
    return case((stored.is_(None), new), (new.is_(None), stored), (new < stored, new), else_=stored)


def _greatest(stored: Any, new: Any) -> Any:
    """The later of two nullable dates (a NULL one does not count)."""
    return case((stored.is_(None), new), (new.is_(None), stored), (new > stored, new), else_=stored)
