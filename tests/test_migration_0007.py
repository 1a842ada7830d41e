"""Migration 0007 (filing identity, skipped filings) from a database holding trades of 0006.

Existing trades keep their keys; each record is linked to the first filing of its transaction;
no filing traded before becomes tradable again, and an amendment of one is not bought.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, inspect, select

from tests.conftest import make_settings
from tests.factories import quiver_record
from tests.worker_support import QUICK, run_job, trades
from trading_automation.db import (
    CongressTradeFeed,
    Database,
    FilingSkip,
    OrderSide,
    OrderType,
    TimeInForce,
    Trade,
    TradeStatus,
)
from trading_automation.db.migrate import alembic_config, downgrade, upgrade
from trading_automation.db.repositories.feed import CongressFeedRepository
from trading_automation.domain.filings import client_order_id_for, normalize_record
from trading_automation.sandbox import OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
NEW_COLUMNS = {"transaction_key", "amends_id", "planned_notional"}


def _before_strategy(model: Any) -> Table:
    """The model's table as revision 0006 had it (without this revision's columns)."""
    columns = [
        Column(column.name, column.type, primary_key=column.primary_key)
        for column in model.__table__.columns
        if column.name not in NEW_COLUMNS
    ]
    return Table(model.__tablename__, MetaData(), *columns)


# Nancy Pelosi's purchase of AAPL traded 2024-06-10: first filed on 06-14, re-uploaded with a
# corrected size the same day, amended on 06-18 (bought twice before this revision, as two
# filings), and amended again on 06-19 (stored, never traded). Ro Khanna's MSFT was skipped by
# the daily cap.
FIRST = quiver_record(Filed="2024-06-14", Comments="first")
REUPLOAD = quiver_record(Filed="2024-06-14", Trade_Size_USD="15001 - 50000", Comments="again")
AMENDED = quiver_record(Filed="2024-06-18", Comments="amended")
AMENDED_AGAIN = quiver_record(Filed="2024-06-19", Comments="amended again")
CAPPED = quiver_record(Ticker="MSFT", Name="Ro Khanna", Filed="2024-06-18", Traded="2024-06-11")
RECORDS = [FIRST, REUPLOAD, AMENDED, AMENDED_AGAIN, CAPPED]


def _store_before_strategy(url: str) -> dict[str, Any]:
    """Store the records and the trades of 0006; returns each record's filing key by comment."""
    # The application's engine: it writes raw records as the feed stores them.
    database = Database.from_settings(make_settings(url))
    feed, trade = _before_strategy(CongressTradeFeed), _before_strategy(Trade)
    keys: dict[str, Any] = {}
    try:
        with database.engine.begin() as connection:
            for number, record in enumerate(RECORDS):
                filing = normalize_record(record)
                row = CongressFeedRepository._row(filing, OPEN + timedelta(minutes=number))
                row.pop("transaction_key")
                connection.execute(feed.insert().values(row))
                keys[record["Comments"]] = (filing.source_hash, row["id"])
            for number, (comment, status, reason) in enumerate(
                [
                    ("first", TradeStatus.FILLED, None),
                    ("amended", TradeStatus.FILLED, None),
                    (CAPPED["Comments"], TradeStatus.SKIPPED, "DAILY_MAX_FILINGS (4) reached"),
                ]
            ):
                created = OPEN - timedelta(days=3 - number)
                source_hash, feed_id = keys[comment]
                filled = status is TradeStatus.FILLED
                connection.execute(
                    trade.insert().values(
                        id=uuid.uuid4(),
                        source_hash=source_hash,
                        client_order_id=client_order_id_for(source_hash),
                        congress_trade_feed_id=feed_id,
                        symbol="MSFT" if comment == CAPPED["Comments"] else "AAPL",
                        side=OrderSide.BUY,
                        order_type=OrderType.MARKET,
                        time_in_force=TimeInForce.DAY,
                        status=status,
                        status_reason=reason,
                        notional_submitted=Decimal(1000) if filled else None,
                        filled_qty=Decimal(5) if filled else None,
                        filled_avg_price=Decimal(200) if filled else None,
                        created_at=created,
                        updated_at=created,
                        version=1,
                        closed_qty=Decimal(0),
                    )
                )
    finally:
        database.dispose()
    return keys


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_existing_trades_keep_their_keys_and_no_traded_filing_is_bought_again(
    backend_name: str, make_empty_url: Callable[[str], str], tmp_path: Path
) -> None:
    url = make_empty_url(backend_name)
    config = alembic_config(make_settings(url))
    upgrade(config, "0006_history")
    keys = _store_before_strategy(url)

    upgrade(config, "head")
    database = Database.from_settings(make_settings(url))
    try:
        with database.transaction(readonly=True) as uow:
            records = {
                r.raw_json["Comments"]: r for r in uow.session.scalars(select(CongressTradeFeed))
            }
            before = {t.source_hash: t for t in uow.session.scalars(select(Trade))}
            migrated_skips = list(uow.session.scalars(select(FilingSkip)))
        (tmp_path / "2024-06-20.json").write_text(json.dumps(RECORDS))
        with Sandbox(
            now=OPEN, quiver_directory=tmp_path, script=OrderScript(fill_after_polls=1)
        ) as sandbox:
            result = run_job(database, sandbox, QUICK)
            accepted = sandbox.broker.accepted_count
        after = trades(database)
        with database.transaction(readonly=True) as uow:
            skips = {s.source_hash: s for s in uow.session.scalars(select(FilingSkip))}
    finally:
        database.dispose()

    first, again = records["first"], records["again"]
    amended, amended_again = records["amended"], records["amended again"]
    # One transaction, four records: the first stored is the original, the others point at it.
    assert first.transaction_key is not None
    assert {r.transaction_key for r in (again, amended, amended_again)} == {first.transaction_key}
    assert first.amends_id is None
    assert again.amends_id == amended.amends_id == amended_again.amends_id == first.id
    assert records[CAPPED["Comments"]].amends_id is None
    # Trades keep their keys and their filings (SQLite's table copies leave them linked); only
    # the transaction's first trade takes its transaction key.
    assert {t.source_hash: t.congress_trade_feed_id for t in before.values()} == {
        keys[comment][0]: keys[comment][1] for comment in ("first", "amended", CAPPED["Comments"])
    }
    assert before[keys["first"][0]].client_order_id == client_order_id_for(keys["first"][0])
    assert before[keys["first"][0]].transaction_key == first.transaction_key
    assert before[keys["amended"][0]].transaction_key is None
    assert [(s.rule, s.symbol) for s in migrated_skips] == [("daily_max_filings", "MSFT")]
    # The next run buys nothing: traded filings stay traded, the new amendment is recognised.
    assert result.summary is not None
    assert accepted == 0
    assert len(after) == len(before) == 3
    assert result.summary.orders.already_traded == 3
    assert skips[keys["amended again"][0]].rule == "amendment"
    assert "amends the filing of 2024-06-14" in skips[keys["amended again"][0]].reason
    assert result.summary.orders.skipped == {"amendment": 1}


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_the_downgrade_removes_what_the_upgrade_added_and_keeps_every_trade(
    backend_name: str, make_empty_url: Callable[[str], str]
) -> None:
    url = make_empty_url(backend_name)
    config = alembic_config(make_settings(url))
    upgrade(config, "0006_history")
    _store_before_strategy(url)
    upgrade(config, "head")

    downgrade(config, "0006_history")
    engine = create_engine(make_settings(url).database_url)
    try:
        with engine.connect() as connection:
            trade_columns = {c["name"] for c in inspect(connection).get_columns("trade")}
            feed_columns = {
                c["name"] for c in inspect(connection).get_columns("congress_trade_feed")
            }
            tables = set(inspect(connection).get_table_names())
            kept = connection.execute(select(_before_strategy(Trade).c.symbol)).scalars().all()
            old_trade = _before_strategy(Trade)
            linked = connection.execute(
                select(old_trade.c.id).where(old_trade.c.congress_trade_feed_id.is_not(None))
            ).all()
            triggers = (
                connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
                )
                .scalars()
                .all()
                if backend_name == "sqlite"
                else None
            )
        upgrade(config, "head")
    finally:
        engine.dispose()

    assert sorted(kept) == ["AAPL", "AAPL", "MSFT"]
    assert len(linked) == 3
    assert NEW_COLUMNS.isdisjoint(trade_columns | feed_columns)
    assert "filing_skip" not in tables
    if triggers is not None:  # the lot ledger's triggers survive SQLite's table copies
        assert triggers == ["lot_close_deleted", "lot_close_inserted", "lot_close_updated"]


def test_a_sqlite_migration_leaving_a_broken_reference_is_refused_and_changes_nothing(
    make_empty_url: Callable[[str], str],
) -> None:
    url = make_empty_url("sqlite")
    config = alembic_config(make_settings(url))
    upgrade(config, "0006_history")
    engine = create_engine(make_settings(url).database_url)  # foreign keys off: SQLite's default
    with engine.begin() as connection:
        connection.execute(
            _before_strategy(Trade)
            .insert()
            .values(
                id=uuid.uuid4(),
                source_hash="c" * 64,
                client_order_id="ta-" + "c" * 64,
                congress_trade_feed_id=uuid.uuid4(),  # no such record
                symbol="AAPL",
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.DAY,
                status=TradeStatus.NEW,
                created_at=OPEN,
                updated_at=OPEN,
                version=1,
                closed_qty=Decimal(0),
            )
        )
    engine.dispose()

    with pytest.raises(RuntimeError, match=r"breaking a foreign key, e\.g\. trade row"):
        upgrade(config, "head")
    engine = create_engine(make_settings(url).database_url)
    try:
        with engine.connect() as connection:
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert revision.scalar_one() == "0006_history"
    finally:
        engine.dispose()


def test_the_migration_date_is_a_plain_date() -> None:
    # Guards the fixture above: Quiver's dates are read as calendar dates.
    assert normalize_record(FIRST).filing_date == date(2024, 6, 14)
