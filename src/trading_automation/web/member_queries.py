"""A member's page: their stored filings (keyset-paginated, newest first) and who they are.

Members are matched by their exact name as stored (`congress_trade_feed.member_name`); the index
on (member_name, filing_date) serves both the summary and every page of filings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import CongressTradeFeed, Trade
from trading_automation.db.repositories.pagination import Cursor, check_page_size
from trading_automation.domain.enums import Party
from trading_automation.errors import InvalidValueError
from trading_automation.web.queries import FilingListing, FilingRecord


@dataclass(frozen=True)
class MemberSummary:
    """A member as their filings describe them."""

    name: str
    party: Party | None
    filings: int
    first_filed: date | None
    last_filed: date | None


def member_summary(uow: UnitOfWork, name: str) -> MemberSummary | None:
    """The member with exactly this name, or None when no stored filing names them."""
    member = CongressTradeFeed.member_name == name
    count, first, last = uow.session.execute(
        select(
            func.count(),
            func.min(CongressTradeFeed.filing_date),
            func.max(CongressTradeFeed.filing_date),
        ).where(member)
    ).one()
    if not count:
        return None
    # The party of their newest filing that names one.
    party = uow.session.scalar(
        select(CongressTradeFeed.party)
        .where(member, CongressTradeFeed.party.is_not(None))
        .order_by(CongressTradeFeed.filing_date.desc().nulls_last(), CongressTradeFeed.id.desc())
        .limit(1)
    )
    return MemberSummary(name, party, int(count), first, last)


def member_filings(uow: UnitOfWork, name: str, *, limit: int, cursor: str | None) -> FilingListing:
    """A page of the member's stored records, newest filing first (undated ones last)."""
    check_page_size(limit)
    position = Cursor.decode(cursor) if cursor else None
    if position is not None and isinstance(position.key, datetime):
        raise InvalidValueError("cursor", "not a cursor of a member's filings")
    backwards = position is not None and position.direction == "prev"
    traded = (
        exists()
        .where(Trade.source_hash == CongressTradeFeed.source_hash)
        .correlate(CongressTradeFeed)
    )
    query = select(CongressTradeFeed, traded.label("traded")).where(
        CongressTradeFeed.member_name == name
    )
    if position is not None:
        query = query.where(_before(position) if backwards else _after(position))
    key, ident = CongressTradeFeed.filing_date, CongressTradeFeed.id
    order = (
        (key.asc().nulls_first(), ident.asc())
        if backwards
        else (key.desc().nulls_last(), ident.desc())
    )
    rows = list(uow.session.execute(query.order_by(*order).limit(limit + 1)).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    records = [_record(row[0], bool(row[1])) for row in rows]
    more_after = has_more if not backwards else position is not None
    more_before = (position is not None) if not backwards else has_more
    first, last = (records[0], records[-1]) if records else (None, None)
    return FilingListing(
        records,
        Cursor(last.filing_date, last.id, "next").encode() if last and more_after else None,
        Cursor(first.filing_date, first.id, "prev").encode() if first and more_before else None,
    )


def _record(record: CongressTradeFeed, traded: bool) -> FilingRecord:
    return FilingRecord(
        id=record.id,
        filing_date=record.filing_date,
        trade_date=record.trade_date,
        member=record.member_name,
        party=record.party,
        ticker=record.ticker,
        transaction=record.transaction,
        problems=record.problems,
        traded=traded,
        ingested_at=record.ingested_at,
        raw=record.raw_json,
    )


def _after(position: Cursor) -> Any:
    """Rows after `position` in newest-first order (NULL dates last)."""
    key, ident = CongressTradeFeed.filing_date, CongressTradeFeed.id
    if position.key is None:
        return and_(key.is_(None), ident < position.id)
    return or_(key < position.key, and_(key == position.key, ident < position.id), key.is_(None))


def _before(position: Cursor) -> Any:
    """Rows before `position` in newest-first order."""
    key, ident = CongressTradeFeed.filing_date, CongressTradeFeed.id
    if position.key is None:
        return or_(key.is_not(None), ident > position.id)
    return and_(
        key.is_not(None), or_(key > position.key, and_(key == position.key, ident > position.id))
    )
