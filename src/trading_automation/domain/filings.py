"""Quiver congress-trading records: normalisation and the keys of SPEC §4.

`normalize_record(raw)` is the one mapping from a raw Quiver record to a feed row. It never fails:
whatever is wrong with a record is listed in `problems`, and the record is stored anyway.

Any value Quiver sends can be stored. The normalised text columns (ticker, member name) hold no
character a database refuses: a NUL or a lone surrogate becomes U+FFFD there, a text longer than
`MAX_TEXT_CHARS` is cut (ending in "…"), and either makes the record malformed, since its key
could not be computed from what was sent. The raw record itself is kept whole and exact in
`raw_json` (see `trading_automation.domain.jsonvalues.storage_text`), so a NUL in a field the
system does not read (a comment) changes nothing: the filing is still traded.

Point in time: every record carries `published_at`, the moment it became public
(`publication_time`): Quiver's upload time when given, else the end of its `Filed` day in New York.
Nothing may act on a filing before that moment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from trading_automation.domain.enums import FeedTransaction, Party
from trading_automation.domain.jsonvalues import canonical_json, storage_text, without_unstorable
from trading_automation.domain.members import member_identity
from trading_automation.domain.timestamps import NEW_YORK

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
# Longest ticker or member name stored in a text column (an index entry must stay small).
MAX_TEXT_CHARS = 200
# A record whose canonical JSON is longer than this is stored but not traded.
MAX_RECORD_CHARS = 1_000_000
# Raw values quoted in a problem are cut to this many characters.
_QUOTE_CHARS = 60
# The last day whose end in New York a datetime can hold.
_LAST_DAY = date.max - timedelta(days=1)
_LAST_INSTANT = datetime.combine(date.max, time(0), UTC)


def row_hash(raw: Any) -> str:
    """SHA-256 hex of the raw record's canonical JSON (SPEC §4)."""
    return digest(canonical_json(raw))


def digest(canonical: str) -> str:
    """SHA-256 hex of a record's canonical JSON text (its `row_hash`).

    The text is UTF-8; a lone surrogate (which UTF-8 cannot encode) is encoded as its three
    bytes, so every text has a hash.
    """
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def source_hash(
    member_name: str, ticker: str, filing_date: date, transaction: FeedTransaction
) -> str:
    """SHA-256 hex of `member_name|ticker|filing_date|transaction`, all normalised (SPEC §4)."""
    key = f"{member_name.strip()}|{ticker.strip().upper()}|{filing_date.isoformat()}|"
    key += transaction.value
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def transaction_key(
    member_name: str,
    ticker: str,
    trade_date: date | None,
    filing_date: date,
    transaction: FeedTransaction,
) -> str:
    """SHA-256 hex of `member|ticker|trade date|transaction`: one transaction, however often it
    is filed (an amendment with a new filing date or corrected fields, a re-upload).

    The member is compared as `members.member_identity` reads the name (case, accents, initials,
    suffixes and nicknames aside); without a trade date the filing date stands in for it.
    """
    when = trade_date.isoformat() if trade_date else f"filed {filing_date.isoformat()}"
    key = f"{member_identity(member_name)}|{ticker.strip().upper()}|{when}|{transaction.value}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def client_order_id_for(source_hash_value: str) -> str:
    """The client order id sent to Alpaca for a filing: a prefix and the hash (67 characters)."""
    if not _SHA256_HEX.match(source_hash_value):
        raise ValueError(f"not a SHA-256 hex digest: {source_hash_value!r}")
    return f"{CLIENT_ORDER_ID_PREFIX}{source_hash_value}"


def is_source_hash(value: str) -> bool:
    """True for a lower-case SHA-256 hex digest."""
    return bool(_SHA256_HEX.match(value))


def quoted(value: object) -> str:
    """`repr(value)` cut to a readable length, ending in "…" when cut (for problem texts)."""
    text = repr(value)
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "…"


def storable_text(text: str) -> tuple[str, str | None]:
    """`text` as a text column can hold it, and what had to change (None when nothing did)."""
    problem = None
    cleaned = without_unstorable(text)
    if cleaned != text:
        text = cleaned
        problem = "holds a NUL character or a lone surrogate"
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1] + "…"
        problem = problem or f"is longer than {MAX_TEXT_CHARS} characters"
    return text, problem


def normalize_transaction(value: object) -> FeedTransaction:
    """Quiver `Transaction` → BUY / SELL / UNKNOWN."""
    if not isinstance(value, str):
        return FeedTransaction.UNKNOWN
    return _TRANSACTIONS.get(" ".join(value.split()).lower(), FeedTransaction.UNKNOWN)


def is_partial_sale(raw: object) -> bool:
    """True for a record whose `Transaction` is "Sale (Partial)" (a SELL that is not whole)."""
    if not isinstance(raw, Mapping):
        return False
    value = raw.get("Transaction")
    return isinstance(value, str) and " ".join(value.split()).lower() == "sale (partial)"


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


def end_of_day_new_york(day: date) -> datetime:
    """The instant `day` ends in New York (midnight starting the next day), in UTC."""
    if day >= _LAST_DAY:
        return _LAST_INSTANT  # no later instant exists; only a malformed date gets here
    return datetime.combine(day + timedelta(days=1), time(0), NEW_YORK).astimezone(UTC)


def parse_upload_time(value: object) -> datetime | None:
    """Quiver's `Quiver_Upload_Time` as an aware UTC instant, or None when absent or unreadable.

    An ISO timestamp without an offset is UTC (Quiver writes `Z` on its upload times); a bare
    date stands for the end of that day in New York, never its start: an instant too early would
    let a backtest act on a filing before it was public.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return end_of_day_new_york(date.fromisoformat(text))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def publication_time(raw: object, filing_date: date | None) -> datetime | None:
    """When a record became public (the point-in-time rule): its `Quiver_Upload_Time` when present
    and readable, else the end of its `Filed` day in New York; None when neither is known."""
    if isinstance(raw, Mapping):
        uploaded = parse_upload_time(raw.get("Quiver_Upload_Time"))
        if uploaded is not None:
            return uploaded
    return end_of_day_new_york(filing_date) if filing_date is not None else None


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
    # When the record became public (see `publication_time`); None only for a malformed record.
    published_at: datetime | None = None

    @property
    def stored_json(self) -> str:
        """The JSON text `raw_json` stores (the raw record, or its envelope: see jsonvalues)."""
        return storage_text(self.raw, self.canonical)

    @property
    def malformed(self) -> bool:
        """True when something needed to trade the filing is missing or unreadable."""
        return bool(self.problems)

    @cached_property
    def transaction_key(self) -> str | None:
        """The key of the transaction this record discloses (see `transaction_key`); None for a
        malformed record. Worked out once per record."""
        if self.problems or not (self.member_name and self.ticker and self.filing_date):
            return None
        return transaction_key(
            self.member_name, self.ticker, self.trade_date, self.filing_date, self.transaction
        )

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
            published_at=None,
        )
    problems: list[str] = []
    if len(canonical) > MAX_RECORD_CHARS:
        problems.append(
            f"record is {len(canonical):,} characters long (at most {MAX_RECORD_CHARS:,})"
        )

    ticker_text = _text(raw, "Ticker")
    ticker = ticker_text.upper() if ticker_text else None
    if ticker is None or ticker in _MISSING_TICKERS:
        problems.append("missing ticker")
        ticker = None
    elif not _TICKER.match(ticker):
        problems.append(f"ticker {quoted(ticker)} is not a listed symbol")
        ticker, _ = storable_text(ticker)

    member_name = _text(raw, "Name")
    if member_name is None:
        problems.append("missing member name")
    else:
        member_name, problem = storable_text(member_name)
        if problem:
            problems.append(f"member name {problem}")

    filing_date: date | None = None
    try:
        filing_date = parse_quiver_date(raw.get("Filed"))
        if filing_date is None:
            problems.append("missing filing date")
    except ValueError:
        problems.append(f"unparseable filing date {quoted(raw.get('Filed'))}")

    trade_date: date | None = None
    try:
        trade_date = parse_quiver_date(raw.get("Traded"))
    except ValueError:
        problems.append(f"unparseable trade date {quoted(raw.get('Traded'))}")

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
        published_at=publication_time(raw, filing_date),
    )
