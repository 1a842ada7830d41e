"""Hand-built histories for the backtest's tests: Quiver-shaped records and daily bars."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from trading_automation.backtest.history import History, build_history
from trading_automation.domain.filings import normalize_record
from trading_automation.domain.timestamps import NEW_YORK

Bar = tuple[str, date, Decimal, Decimal]


def record(
    name: str,
    ticker: str,
    transaction: str,
    *,
    traded: date,
    filed: date,
    uploaded: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Quiver bulk record; `uploaded` (aware) becomes `Quiver_Upload_Time`."""
    raw: dict[str, Any] = {
        "Ticker": ticker,
        "TickerType": "ST",
        "Traded": traded.isoformat(),
        "Transaction": transaction,
        "Trade_Size_USD": "1001 - 15000",
        "Name": name,
        "BioGuideID": None,
        "Filed": filed.isoformat(),
        "Party": "D",
        "Chamber": "Representatives",
    }
    if uploaded is not None:
        raw["Quiver_Upload_Time"] = uploaded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    raw.update(extra)
    return raw


def new_york(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant in New York."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def bars(symbol: str, rows: Iterable[tuple[date, str, str]]) -> list[Bar]:
    """(symbol, day, open, close) rows from (day, open, close) with prices as text."""
    return [(symbol, day, Decimal(opened), Decimal(closed)) for day, opened, closed in rows]


def flat(symbol: str, days: Sequence[date], price: str = "100") -> list[Bar]:
    """Bars that open and close at `price` every day."""
    return bars(symbol, [(day, price, price) for day in days])


def history(
    start: date,
    end: date,
    records: Iterable[dict[str, Any]],
    price_rows: Iterable[Bar],
    *,
    known: Iterable[tuple[str, date | None]] = (),
) -> History:
    """A history of these records (published at their upload time, else the end of their
    `Filed` day) and bars, the way `load_history` builds one from the database."""
    filings = [normalize_record(raw) for raw in records]
    published = sorted(
        ((filing.published_at, filing) for filing in filings if filing.published_at is not None),
        key=lambda item: (item[0], item[1].row_hash),
    )
    ordered = sorted(price_rows, key=lambda row: (row[0], row[1]))
    return build_history(start, end, published, ordered, known_transactions=known)
