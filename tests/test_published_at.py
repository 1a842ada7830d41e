"""The point-in-time rule: when a disclosure became public, and that every stored record has it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.factories import quiver_record
from trading_automation.db import CongressTradeFeed, Database
from trading_automation.domain.filings import normalize_record, publication_time


@pytest.mark.parametrize(
    ("upload", "filed", "expected"),
    [
        # Quiver's upload time wins whenever it can be read.
        ("2024-06-18T21:04:11.000Z", "2024-06-18", datetime(2024, 6, 18, 21, 4, 11, tzinfo=UTC)),
        ("2024-06-18T21:04:11", "2024-06-18", datetime(2024, 6, 18, 21, 4, 11, tzinfo=UTC)),
        ("2024-06-18T17:04:11-04:00", "2024-06-17", datetime(2024, 6, 18, 21, 4, 11, tzinfo=UTC)),
        # A bare date is the end of that day in New York, never its start.
        ("2024-06-18", "2024-06-17", datetime(2024, 6, 19, 4, 0, tzinfo=UTC)),
        # Without a readable upload time: the end of the Filed day in New York (EDT, then EST).
        (None, "2024-06-18", datetime(2024, 6, 19, 4, 0, tzinfo=UTC)),
        ("", "2024-06-18", datetime(2024, 6, 19, 4, 0, tzinfo=UTC)),
        ("yesterday", "2024-01-18", datetime(2024, 1, 19, 5, 0, tzinfo=UTC)),
        (20240618, "2024-01-18", datetime(2024, 1, 19, 5, 0, tzinfo=UTC)),
    ],
)
def test_a_record_is_public_from_its_upload_time_else_from_the_end_of_its_filed_day(
    upload: Any, filed: str, expected: datetime
) -> None:
    filing = normalize_record(quiver_record(Quiver_Upload_Time=upload, Filed=filed))

    assert filing.published_at == expected
    assert filing.published_at is not None
    assert filing.published_at.tzinfo is UTC


def test_a_record_without_upload_time_or_filing_date_has_no_publication_time() -> None:
    record = quiver_record(Filed="not a date")
    del record["Quiver_Upload_Time"]

    filing = normalize_record(record)

    assert filing.malformed
    assert filing.published_at is None
    assert normalize_record(["not", "a", "record"]).published_at is None


def test_a_malformed_record_with_an_upload_time_still_has_it() -> None:
    filing = normalize_record(quiver_record(Ticker=None, Quiver_Upload_Time="2024-06-18T13:00:00Z"))

    assert filing.malformed
    assert filing.published_at == datetime(2024, 6, 18, 13, tzinfo=UTC)


def test_dates_at_the_ends_of_the_calendar_do_not_break_normalisation() -> None:
    assert publication_time({}, date.max) is not None
    assert publication_time({"Quiver_Upload_Time": "0001-01-01T00:00:00+05:00"}, None) is None


def _stored(database: Database) -> dict[str, datetime | None]:
    with database.transaction(readonly=True) as uow:
        rows = uow.session.query(CongressTradeFeed.member_name, CongressTradeFeed.published_at)
        return {str(name): published for name, published in rows}


@pytest.mark.parametrize("count", [3, 600], ids=["multi-row insert", "copy on postgresql"])
def test_every_stored_record_carries_its_publication_time(database: Database, count: int) -> None:
    records = [
        quiver_record(Name=f"Member {n}", Quiver_Upload_Time=None, Filed="2024-06-18")
        for n in range(count)
    ]
    records[0]["Quiver_Upload_Time"] = "2024-06-18T13:05:12.000Z"

    with database.transaction() as uow:
        uow.feed.store(records)

    stored = _stored(database)
    assert stored["Member 0"] == datetime(2024, 6, 18, 13, 5, 12, tzinfo=UTC)
    assert stored["Member 1"] == datetime(2024, 6, 19, 4, 0, tzinfo=UTC)
    assert len(stored) == count
