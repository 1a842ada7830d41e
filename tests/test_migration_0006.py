"""Migration 0006 (history) from a database holding 0004 data: existing records get their
publication time from their stored raw JSON, the history tables appear, and the downgrade gives
the 0004 schema back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import make_settings
from tests.factories import quiver_record
from trading_automation.db import CongressTradeFeed, Database
from trading_automation.db.migrate import alembic_config, downgrade, upgrade
from trading_automation.domain.filings import row_hash
from trading_automation.domain.jsonvalues import storage_text

RECORDS: dict[str, dict[str, Any]] = {
    "uploaded": quiver_record(Name="Uploaded", Quiver_Upload_Time="2024-06-18T13:05:12.000Z"),
    "no upload time": quiver_record(Name="Filed only", Quiver_Upload_Time=None),
    # A NUL in a comment: JSONB cannot hold it, so the record is stored in its envelope.
    "enveloped": quiver_record(
        Name="Enveloped", Comments="a\x00b", Quiver_Upload_Time="2024-06-17T20:00:00Z"
    ),
    "neither": quiver_record(Name="Neither", Quiver_Upload_Time=None, Filed=None),
}
EXPECTED = {
    "Uploaded": datetime(2024, 6, 18, 13, 5, 12, tzinfo=UTC),
    "Filed only": datetime(2024, 6, 19, 4, 0, tzinfo=UTC),
    "Enveloped": datetime(2024, 6, 17, 20, 0, tzinfo=UTC),
    "Neither": None,
}


def _insert_0004_rows(url: str, backend_name: str) -> None:
    engine = create_engine(make_settings(url).database_url)
    cast = "CAST(:raw AS JSONB)" if backend_name == "postgresql" else ":raw"
    try:
        with engine.begin() as connection:
            for record in RECORDS.values():
                record_id = uuid.uuid4()
                connection.execute(
                    text(
                        "INSERT INTO congress_trade_feed (id, row_hash, source_hash, ticker, "
                        'member_name, "transaction", filing_date, raw_json, problems, ingested_at) '
                        f"VALUES (:id, :hash, NULL, NULL, :name, 'BUY', :filed, {cast}, "
                        "'[\"for the test\"]', '2024-06-20 13:30:00+00:00')"
                    ),
                    {
                        "id": record_id.hex if backend_name == "sqlite" else str(record_id),
                        "hash": row_hash(record),
                        "name": record["Name"],
                        "filed": record["Filed"],
                        "raw": storage_text(record),
                    },
                )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_stored_records_get_their_publication_time_and_the_downgrade_removes_the_history(
    backend_name: str, make_empty_url: Callable[[str], str]
) -> None:
    url = make_empty_url(backend_name)
    config = alembic_config(make_settings(url))
    upgrade(config, "0004")
    _insert_0004_rows(url, backend_name)

    upgrade(config, "0006_history")
    database = Database.from_settings(make_settings(url))
    try:
        with database.transaction(readonly=True) as uow:
            rows = uow.session.query(
                CongressTradeFeed.member_name,
                CongressTradeFeed.published_at,
                CongressTradeFeed.raw_json,
            ).all()
    finally:
        database.dispose()
    downgrade(config, "0005_operations")
    engine = create_engine(make_settings(url).database_url)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("congress_trade_feed")}
            tables = set(inspect(connection).get_table_names())
            kept = connection.execute(text("SELECT count(*) FROM congress_trade_feed")).scalar()
    finally:
        engine.dispose()
    upgrade(config, "head")

    assert {str(name): published for name, published, _ in rows} == EXPECTED
    assert {name: raw for name, _, raw in rows}["Enveloped"]["Comments"] == "a\x00b"
    assert "published_at" not in columns
    assert not tables & {"price_bar", "price_symbol", "history_fetch"}
    assert kept == len(RECORDS)
