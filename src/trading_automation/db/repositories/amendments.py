"""Filing identity in the feed: later filings of a transaction linked to its first one.

A transaction (member, ticker, trade date, transaction) may be filed more than once: an amendment
with a new filing date or corrected fields, a re-upload. Every record carries its
`transaction_key`; the first record stored of a transaction (by ingestion time, then filing date,
then row hash) is its original, and every later one points at it through `amends_id`.

Two writers storing filings of one transaction at the same moment may each link to their own
first record; the money is safe regardless: `trade.transaction_key` is unique, so the database
refuses a second buy of a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ARRAY, ColumnElement, Text, any_, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from trading_automation.db.models import CongressTradeFeed

# Keys per statement on SQLite: well inside its bind parameter limit.
KEYS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class Original:
    """The first stored record of a transaction."""

    id: uuid.UUID
    source_hash: str | None
    filing_date: date | None


def _chunks(keys: Iterable[str | None]) -> Iterable[list[str]]:
    wanted = sorted({key for key in keys if key})
    for start in range(0, len(wanted), KEYS_PER_STATEMENT):
        yield wanted[start : start + KEYS_PER_STATEMENT]


def _among(session: Session, keys: Iterable[str | None]) -> Iterable[ColumnElement[bool]]:
    """`transaction_key` among `keys`, as few conditions as the dialect allows: one array
    parameter on PostgreSQL, a thousand parameters at a time on SQLite."""
    column = CongressTradeFeed.transaction_key
    if session.get_bind().dialect.name == "postgresql":
        wanted = sorted({key for key in keys if key})
        if wanted:
            yield column == any_(literal(wanted, ARRAY(Text)))
        return
    for chunk in _chunks(keys):
        yield column.in_(chunk)


def link_amendments(session: Session, keys: Iterable[str | None]) -> None:
    """Point every record of these transactions that is not the first at the first one."""
    feed = CongressTradeFeed
    first = aliased(CongressTradeFeed, name="first_of_transaction")
    original = (
        select(first.id)
        .where(first.transaction_key == feed.transaction_key)
        .order_by(first.ingested_at, first.filing_date, first.row_hash)
        .limit(1)
        .scalar_subquery()
    )
    for among in _among(session, keys):
        # Most transactions are filed once: only those stored more than once need a link.
        repeated = list(
            session.scalars(
                select(feed.transaction_key)
                .where(among)
                .group_by(feed.transaction_key)
                .having(func.count() > 1)
            )
        )
        if not repeated:
            continue
        session.execute(
            update(feed)
            .where(
                next(iter(_among(session, repeated))),
                feed.amends_id.is_(None),
                feed.id != original,
            )
            .values(amends_id=original)
            .execution_options(synchronize_session=False)
        )


def originals(session: Session, keys: Iterable[str | None]) -> dict[str, Original]:
    """The first stored record of each of these transactions (those stored at all)."""
    feed = CongressTradeFeed
    found: dict[str, Original] = {}
    for among in _among(session, keys):
        rows = session.execute(
            select(feed.transaction_key, feed.id, feed.source_hash, feed.filing_date)
            .where(among)
            .order_by(feed.transaction_key, feed.ingested_at, feed.filing_date, feed.row_hash)
        ).all()
        for key, record_id, source_hash, filing_date in rows:
            found.setdefault(str(key), Original(record_id, source_hash, filing_date))
    return found
