"""Quiver congress-trading records: normalisation and the keys of SPEC §4.

`normalize_record(raw)` is the one mapping from a raw Quiver record to a feed row. It never fails:
whatever is wrong with a record is listed in `problems`, and the record is stored anyway.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from trading_automation.domain.enums import FeedTransaction, Party
from trading_automation.domain.jsonvalues import dumps

CLIENT_ORDER_ID_PREFIX = "ta-"

_TRANSACTIONS: dict[str, FeedTransaction] = {
    "purchase": FeedTransaction.BUY,
    "sale": FeedTransaction.SELL,
    "sale (partial)": FeedTransaction.SELL,
    "sale (full)": FeedTransaction.SELL,
}
_PARTIES: dict[str, Party] = {
    "d": Party.DEMOCRAT,
    "dem": Party.DEMOCRAT,
    "democrat": Party.DEMOCRAT,
    "democratic": Party.DEMOCRAT,
    "r": Party.REPUBLICAN,
    "rep": Party.REPUBLICAN,
    "republican": Party.REPUBLICAN,
    "i": Party.INDEPENDENT,
    "ind": Party.INDEPENDENT,
    "independent": Party.INDEPENDENT,
}
# A listed symbol: letters first, then letters, digits, '.', '-' or '/' (BRK.B, BF-B).
_TICKER = re.compile(r"^[A-Z][A-Z0-9./-]{0,11}$")
_MISSING_TICKERS = frozenset({"", "--", "-", "N/A", "NA", "NONE", "NULL"})
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, unicode as is, exact numbers: the same record, the same text."""
    return dumps(value, sort_keys=True)


def row_hash(raw: Any) -> str:
    """SHA-256 hex of the raw record's canonical JSON (SPEC §4)."""
    return digest(canonical_json(raw))


def digest(canonical: str) -> str:
    """SHA-256 hex of a record's canonical JSON text (its `row_hash`)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def source_hash(
    member_name: str, ticker: str, filing_date: date, transaction: FeedTransaction
) -> str:
    """SHA-256 hex of `member_name|ticker|filing_date|transaction`, all normalised (SPEC §4)."""
    key = f"{member_name.strip()}|{ticker.strip().upper()}|{filing_date.isoformat()}|"
    key += transaction.value
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def client_order_id_for(source_hash_value: str) -> str:
    """The client order id sent to Alpaca for a filing: a prefix and the hash (67 characters)."""
    if not _SHA256_HEX.match(source_hash_value):
        raise ValueError(f"not a SHA-256 hex digest: {source_hash_value!r}")
    return f"{CLIENT_ORDER_ID_PREFIX}{source_hash_value}"


def is_source_hash(value: str) -> bool:
    """True for a lower-case SHA-256 hex digest."""
    return bool(_SHA256_HEX.match(value))


def normalize_transaction(value: object) -> FeedTransaction:
    """Quiver `Transaction` → BUY / SELL / UNKNOWN."""
    if not isinstance(value, str):
        return FeedTransaction.UNKNOWN
    return _TRANSACTIONS.get(" ".join(value.split()).lower(), FeedTransaction.UNKNOWN)


def normalize_party(value: object) -> Party:
    """Quiver `Party` ("D", "R", "I", …) → the party enum; empty is UNKNOWN, other codes OTHER."""
    if not isinstance(value, str) or not value.strip():
        return Party.UNKNOWN
    return _PARTIES.get(value.strip().lower(), Party.OTHER)


def parse_quiver_date(value: object) -> date | None:
    """A Quiver date: `YYYY-MM-DD`, an ISO timestamp (its written date), or `MM/DD/YYYY`.

    The date is taken as written, never shifted through a timezone: Quiver's dates are the
    calendar dates of the disclosure. Raises ValueError when the text is not a date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    text = value.strip()
    us = _US_DATE.match(text)
    if us:
        month, day, year = (int(part) for part in us.groups())
        return date(year, month, day)
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


@dataclass(frozen=True)
class NormalizedFiling:
    """A raw record with its normalised fields and keys, ready to store."""

    raw: Any
    canonical: str
    row_hash: str
    source_hash: str | None
    ticker: str | None
    member_name: str | None
    transaction: FeedTransaction
    trade_date: date | None
    filing_date: date | None
    party: Party | None
    problems: tuple[str, ...]

    @property
    def malformed(self) -> bool:
        """True when something needed to trade the filing is missing or unreadable."""
        return bool(self.problems)

    @property
    def is_tradable_buy(self) -> bool:
        """A well-formed purchase: the only kind of record the worker acts on."""
        return not self.problems and self.transaction is FeedTransaction.BUY


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value).strip()
    return text or None


def normalize_record(raw: Any, *, canonical: str | None = None) -> NormalizedFiling:
    """Normalise one raw Quiver record (SPEC §2); problems are listed, never raised.

    `canonical` is the record's canonical JSON when the caller already made it.
    """
    canonical = canonical_json(raw) if canonical is None else canonical
    hashed = digest(canonical)
    if not isinstance(raw, Mapping):
        return NormalizedFiling(
            raw=raw,
            canonical=canonical,
            row_hash=hashed,
            source_hash=None,
            ticker=None,
            member_name=None,
            transaction=FeedTransaction.UNKNOWN,
            trade_date=None,
            filing_date=None,
            party=None,
            problems=(f"record is not a JSON object but {type(raw).__name__}",),
        )
    problems: list[str] = []

    ticker_text = _text(raw, "Ticker")
    ticker = ticker_text.upper() if ticker_text else None
    if ticker is None or ticker in _MISSING_TICKERS:
        problems.append("missing ticker")
        ticker = None
    elif not _TICKER.match(ticker):
        problems.append(f"ticker {ticker!r} is not a listed symbol")

    member_name = _text(raw, "Name")
    if member_name is None:
        problems.append("missing member name")

    filing_date: date | None = None
    try:
        filing_date = parse_quiver_date(raw.get("Filed"))
        if filing_date is None:
            problems.append("missing filing date")
    except ValueError:
        problems.append(f"unparseable filing date {raw.get('Filed')!r}")

    trade_date: date | None = None
    try:
        trade_date = parse_quiver_date(raw.get("Traded"))
    except ValueError:
        problems.append(f"unparseable trade date {raw.get('Traded')!r}")

    transaction = normalize_transaction(raw.get("Transaction"))
    digest_key: str | None = None
    if not problems and ticker and member_name and filing_date:
        digest_key = source_hash(member_name, ticker, filing_date, transaction)
    return NormalizedFiling(
        raw=raw,
        canonical=canonical,
        row_hash=hashed,
        source_hash=digest_key,
        ticker=ticker,
        member_name=member_name,
        transaction=transaction,
        trade_date=trade_date,
        filing_date=filing_date,
        party=normalize_party(raw.get("Party")),
        problems=tuple(problems),
    )
