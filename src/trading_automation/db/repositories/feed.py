"""The congress trade feed: every raw Quiver record received, stored once, never dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading_automation.db.engine import json_dumps
from trading_automation.db.models import CongressTradeFeed
from trading_automation.db.repositories.amendments import Original, link_amendments, originals
from trading_automation.db.repositories.feed_listing import FeedEntry, feed_page
from trading_automation.db.repositories.pagination import (
    Page,
)
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.filings import NormalizedFiling, digest, normalize_record
from trading_automation.domain.jsonvalues import StoredJson, canonical_json
from trading_automation.domain.timestamps import require_aware_utc, utcnow

# Rows per INSERT statement: well inside PostgreSQL's 65,535 bind parameters and SQLite's 32,766.
INSERT_PAGE_SIZE = 1000
# From this many rows on, PostgreSQL loads a batch with COPY: binding a dozen parameters per row
# costs more than the insert itself.
COPY_THRESHOLD = 500
COPY_COLUMNS = (
    "row_hash",
    "source_hash",
    "ticker",
    "member_name",
    "transaction",
    "trade_date",
    "filing_date",
    "party",
    "raw_json",
    "problems",
    "ingested_at",
    "published_at",
    "transaction_key",
)


@dataclass(frozen=True)
class StoreResult:
    """What storing a batch did: counts over the records received."""

    received: int
    new: int
    duplicates: int


class CongressFeedRepository:
    """Store and read raw Quiver records; works inside the caller's transaction, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def store(self, records: Iterable[Any], *, ingested_at: datetime | None = None) -> StoreResult:
        """Store raw records, skipping those already stored (same `row_hash`) in the database.

        Malformed records are stored too, with their problems listed; a later filing of a
        transaction already stored is linked to its first (`amendments`). Duplicates are decided by
        the unique index (INSERT … ON CONFLICT DO NOTHING), so two writers storing the same
        records at once cannot both insert them. Small batches go in as multi-row INSERTs of up
        to 1,000 rows; on PostgreSQL a large batch is hashed first, the hashes already stored are
        looked up in one query, and only the rest is normalised and loaded with COPY.
        """
        items = list(records)
        if self._dialect() != "postgresql" or len(items) < COPY_THRESHOLD:
            return self.store_filings(
                [normalize_record(raw) for raw in items], ingested_at=ingested_at
            )
        when = require_aware_utc(ingested_at, field="ingested_at") if ingested_at else utcnow()
        texts = [canonical_json(raw) for raw in items]
        hashes = [digest(text) for text in texts]
        seen = self._known_row_hashes(hashes)
        fresh = []
        for raw, text, hashed in zip(items, texts, hashes, strict=True):
            if hashed not in seen:
                seen.add(hashed)
                fresh.append(normalize_record(raw, canonical=text))
        new = self._copy_insert(fresh, when) if fresh else 0
        if new:
            link_amendments(self.session, {f.transaction_key for f in fresh})
        return StoreResult(received=len(items), new=new, duplicates=len(items) - new)

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _known_row_hashes(self, hashes: Sequence[str]) -> set[str]:
        """Which of these row hashes are stored already (one query)."""
        driver: Any = self.session.connection().connection.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(
                "SELECT row_hash FROM congress_trade_feed WHERE row_hash = ANY(%s)", (list(hashes),)
            )
            return {str(row[0]) for row in cursor.fetchall()}

    def store_filings(
        self, filings: Sequence[NormalizedFiling], *, ingested_at: datetime | None = None
    ) -> StoreResult:
        """`store` for records the caller already normalised (it keeps them for later steps)."""
        when = require_aware_utc(ingested_at, field="ingested_at") if ingested_at else utcnow()
        if self._dialect() == "postgresql" and len(filings) >= COPY_THRESHOLD:
            new = self._copy_insert(filings, when)
        else:
            new = self._insert_many([self._row(filing, when) for filing in filings])
        if new:
            link_amendments(self.session, {filing.transaction_key for filing in filings})
        return StoreResult(received=len(filings), new=new, duplicates=len(filings) - new)

    @staticmethod
    def _row(filing: NormalizedFiling, when: datetime) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "row_hash": filing.row_hash,
            "source_hash": filing.source_hash,
            "ticker": filing.ticker,
            "member_name": filing.member_name,
            "transaction": filing.transaction,
            "trade_date": filing.trade_date,
            "filing_date": filing.filing_date,
            "party": filing.party,
            "raw_json": StoredJson(filing.stored_json),
            "problems": list(filing.problems) or None,
            "ingested_at": when,
            "published_at": filing.published_at,
            "transaction_key": filing.transaction_key,
        }

    def _insert_many(self, rows: list[dict[str, Any]]) -> int:
        """One cached INSERT … ON CONFLICT DO NOTHING RETURNING, sent as multi-row statements of
        up to `INSERT_PAGE_SIZE` rows each (SQLAlchemy's insertmanyvalues); returns rows added."""
        if not rows:
            return 0
        statement = (
            conflict_insert(self.session, CongressTradeFeed)
            .on_conflict_do_nothing(index_elements=["row_hash"])
            .returning(CongressTradeFeed.id)
        )
        connection = self.session.connection()
        result = connection.execute(
            statement.execution_options(insertmanyvalues_page_size=INSERT_PAGE_SIZE), rows
        )
        return len(result.scalars().all())

    def _copy_insert(self, filings: Sequence[NormalizedFiling], when: datetime) -> int:
        """COPY the batch into a temporary table, then one INSERT … SELECT … ON CONFLICT DO
        NOTHING: PostgreSQL's fastest way in, on the unit of work's own connection. Returns how
        many rows were added. Ids come from the server (`gen_random_uuid()`, PostgreSQL 13+)."""
        driver: Any = self.session.connection().connection.driver_connection
        staging = sql.Identifier(f"feed_load_{uuid.uuid4().hex[:12]}")
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in COPY_COLUMNS)
        with driver.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE congress_trade_feed) ON COMMIT DROP").format(
                    staging
                )
            )
            cursor.execute(sql.SQL("ALTER TABLE {} DROP COLUMN id").format(staging))
            copy_in = sql.SQL("COPY {} ({}) FROM STDIN").format(staging, columns)
            with cursor.copy(copy_in) as copy:
                for filing in filings:
                    copy.write_row(copy_row(filing, when))
            cursor.execute(
                sql.SQL(
                    "INSERT INTO congress_trade_feed (id, {columns})"
                    " SELECT gen_random_uuid(), {columns} FROM {staging}"
                    " ON CONFLICT (row_hash) DO NOTHING"
                ).format(columns=columns, staging=staging)
            )
            added = int(cursor.rowcount)
            cursor.execute(sql.SQL("DROP TABLE {}").format(staging))
        return added

    def get(self, record_id: uuid.UUID) -> CongressTradeFeed | None:
        """The record with this id, or None."""
        return self.session.get(CongressTradeFeed, record_id)

    def ids_by_source_hash(self, source_hashes: Iterable[str]) -> dict[str, uuid.UUID]:
        """For each filing key, the first stored record carrying it (one query)."""
        wanted = sorted(set(source_hashes))
        if not wanted:
            return {}
        rows = self.session.execute(
            select(CongressTradeFeed.source_hash, CongressTradeFeed.id)
            .where(CongressTradeFeed.source_hash.in_(wanted))
            .order_by(CongressTradeFeed.ingested_at, CongressTradeFeed.id)
        ).all()
        found: dict[str, uuid.UUID] = {}
        for key, record_id in rows:
            found.setdefault(str(key), record_id)
        return found

    def originals(self, transaction_keys: Iterable[str | None]) -> dict[str, Original]:
        """The first stored record of each of these transactions (see `amendments`)."""
        return originals(self.session, transaction_keys)

    def filed_on(self, day: date) -> list[CongressTradeFeed]:
        """Every record filed on `day`, by member and ticker."""
        return list(
            self.session.scalars(
                select(CongressTradeFeed)
                .where(CongressTradeFeed.filing_date == day)
                .order_by(
                    CongressTradeFeed.member_name,
                    CongressTradeFeed.ticker,
                    CongressTradeFeed.ingested_at,
                    CongressTradeFeed.row_hash,
                )
            )
        )

    def member_names(self) -> list[str]:
        """Every member name of the stored records, once each, sorted."""
        return sorted(
            str(name)
            for name in self.session.scalars(
                select(CongressTradeFeed.member_name)
                .where(CongressTradeFeed.member_name.is_not(None))
                .distinct()
            )
        )

    def latest_filing_date(self) -> date | None:
        """The newest filing date among stored records."""
        return self.session.scalar(select(func.max(CongressTradeFeed.filing_date)))

    def earliest_filing_date(self) -> date | None:
        """The oldest filing date among well-formed stored records."""
        return self.session.scalar(
            select(func.min(CongressTradeFeed.filing_date)).where(
                CongressTradeFeed.problems.is_(None)
            )
        )

    def tickers(self) -> list[str]:
        """Every ticker of a well-formed stored record, sorted."""
        return list(
            self.session.scalars(
                select(CongressTradeFeed.ticker)
                .where(CongressTradeFeed.problems.is_(None), CongressTradeFeed.ticker.is_not(None))
                .distinct()
                .order_by(CongressTradeFeed.ticker)
            )
        )

    def page(
        self,
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
        """Stored records, newest filing date first, with their decisions (see `feed_page`)."""
        return feed_page(
            self.session,
            ticker=ticker,
            member=member,
            filed_from=filed_from,
            filed_to=filed_to,
            malformed=malformed,
            decision=decision,
            limit=limit,
            cursor=cursor,
        )


def copy_row(filing: NormalizedFiling, ingested_at: datetime) -> tuple[Any, ...]:
    """A record's values in `COPY_COLUMNS` order, as COPY takes them (enums as their values,
    JSON as text)."""
    return (
        filing.row_hash,
        filing.source_hash,
        filing.ticker,
        filing.member_name,
        filing.transaction.value,
        filing.trade_date,
        filing.filing_date,
        filing.party.value if filing.party else None,
        filing.stored_json,
        json_dumps(list(filing.problems)) if filing.problems else None,
        ingested_at,
        filing.published_at,
        filing.transaction_key,
    )
