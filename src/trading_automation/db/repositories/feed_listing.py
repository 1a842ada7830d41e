"""The filings listing: stored records newest first, with what was decided about each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from trading_automation.db.models import CongressTradeFeed, FilingSkip, Trade
from trading_automation.db.repositories.pagination import Cursor, Page, check_page_size
from trading_automation.domain.enums import FeedTransaction
from trading_automation.errors import InvalidValueError


@dataclass(frozen=True)
class FeedEntry:
    """A stored record, whether its filing has a trade, why it was skipped (`skip`: rule and
    reason), and the filing date of the first filing of its transaction when it is a later one
    (`amends_filed`)."""

    record: CongressTradeFeed
    traded: bool
    skip: tuple[str, str] | None = None
    amends_filed: date | None = None


# What the filings page can filter by: the filing's decision.
DECISIONS = ("traded", "skipped", "amendment", "undecided")


def feed_page(
    session: Session,
    *,
    ticker: str | None = None,
    member: str | None = None,
    filed_from: date | None = None,
    filed_to: date | None = None,
    malformed: bool | None = None,
    decision: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[FeedEntry]:
    """Stored records, newest filing date first (undated malformed records last).

    `member` matches part of the name, case-insensitively; `ticker` matches exactly after
    upper-casing; `decision` is one of `DECISIONS`. Keyset-paginated: pass a returned cursor
    to get the next or previous page.
    """
    check_page_size(limit)
    if filed_from and filed_to and filed_from > filed_to:
        raise InvalidValueError("filed_from", "must not be after filed_to")
    if decision is not None and decision not in DECISIONS:
        raise InvalidValueError("decision", f"expected one of {', '.join(DECISIONS)}")
    position = Cursor.decode(cursor) if cursor else None
    query = _with_decision(_filtered(ticker, member, filed_from, filed_to, malformed), decision)
    backwards = position is not None and position.direction == "prev"
    if position is not None:
        query = query.where(_after(position) if not backwards else _before(position))
    key, ident = CongressTradeFeed.filing_date, CongressTradeFeed.id
    order = (
        (key.asc().nulls_first(), ident.asc())
        if backwards
        else (key.desc().nulls_last(), ident.desc())
    )
    original = aliased(CongressTradeFeed, name="original")
    rows = list(
        session.execute(
            query.add_columns(
                _traded().label("traded"),
                FilingSkip.rule,
                FilingSkip.reason,
                original.filing_date,
            )
            .outerjoin(FilingSkip, FilingSkip.source_hash == CongressTradeFeed.source_hash)
            .outerjoin(original, original.id == CongressTradeFeed.amends_id)
            .order_by(*order)
            .limit(limit + 1)
        ).all()
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    entries = [
        FeedEntry(
            record=row[0],
            traded=bool(row[1]),
            skip=(str(row[2]), str(row[3])) if row[2] is not None else None,
            amends_filed=row[4],
        )
        for row in rows
    ]
    first, last = (entries[0].record, entries[-1].record) if entries else (None, None)
    more_after = has_more if not backwards else position is not None
    more_before = (position is not None) if not backwards else has_more
    return Page(
        items=entries,
        next_cursor=(
            Cursor(last.filing_date, last.id, "next").encode() if last and more_after else None
        ),
        prev_cursor=(
            Cursor(first.filing_date, first.id, "prev").encode() if first and more_before else None
        ),
    )


def _filtered(
    ticker: str | None,
    member: str | None,
    filed_from: date | None,
    filed_to: date | None,
    malformed: bool | None,
) -> Select[CongressTradeFeed]:
    query = select(CongressTradeFeed)
    if ticker:
        query = query.where(CongressTradeFeed.ticker == ticker.strip().upper())
    if member and member.strip():
        pattern = "%" + member.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(func.lower(CongressTradeFeed.member_name).like(pattern, "\\"))
    if filed_from:
        query = query.where(CongressTradeFeed.filing_date >= filed_from)
    if filed_to:
        query = query.where(CongressTradeFeed.filing_date <= filed_to)
    if malformed is True:
        query = query.where(CongressTradeFeed.problems.is_not(None))
    elif malformed is False:
        query = query.where(CongressTradeFeed.problems.is_(None))
    return query


def _traded() -> Any:
    """Whether the record's filing has a trade (one a guardrail skipped included)."""
    return (
        exists()
        .where(Trade.source_hash == CongressTradeFeed.source_hash)
        .correlate(CongressTradeFeed)
    )


def _with_decision(query: Select[CongressTradeFeed], decision: str | None) -> Any:
    """Records whose filing was traded, skipped, is a later filing of a transaction, or is a
    well-formed purchase nothing decided yet."""
    skipped = (
        exists()
        .where(FilingSkip.source_hash == CongressTradeFeed.source_hash)
        .correlate(CongressTradeFeed)
    )
    if decision == "traded":
        return query.where(_traded())
    if decision == "skipped":
        return query.where(skipped)
    if decision == "amendment":
        return query.where(CongressTradeFeed.amends_id.is_not(None))
    if decision == "undecided":
        return query.where(
            CongressTradeFeed.problems.is_(None),
            CongressTradeFeed.transaction == FeedTransaction.BUY,
            ~_traded(),
            ~skipped,
        )
    return query


def _after(position: Cursor) -> Any:
    """Rows that come after `position` in newest-first order (NULL dates last)."""
    key, ident = CongressTradeFeed.filing_date, CongressTradeFeed.id
    if position.key is None:
        return and_(key.is_(None), ident < position.id)
    return or_(
        key < position.key,
        and_(key == position.key, ident < position.id),
        key.is_(None),
    )


def _before(position: Cursor) -> Any:
    """Rows that come before `position` in newest-first order."""
    key, ident = CongressTradeFeed.filing_date, CongressTradeFeed.id
    if position.key is None:
        return or_(key.is_not(None), ident > position.id)
    return and_(
        key.is_not(None),
        or_(key > position.key, and_(key == position.key, ident > position.id)),
    )
