"""Migrations: up, down, up again on both backends; no drift; the schema is what SPEC §2 says."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, create_engine, inspect, text

from tests.conftest import make_settings
from trading_automation.db import migrate

TABLES = {
    "congress_trade_feed",
    "trade",
    "job_run",
    "job_run_attempt",
    "api_request",
    "ingest_checkpoint",
    "lot_close",
    "account_snapshot",
    "alert",
    "price_bar",
    "price_symbol",
    "history_fetch",
    "filing_skip",
    "backtest_run",
    "backtest_equity",
}


@pytest.fixture
def empty_url(backend: str, make_empty_url: Callable[[str], str]) -> str:
    return make_empty_url(backend)


@pytest.fixture
def migrated_engine(empty_url: str) -> Iterator[Engine]:
    migrate.upgrade(migrate.alembic_config(make_settings(empty_url)))
    engine = create_engine(make_settings(empty_url).database_url)
    yield engine
    engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(make_settings(url).database_url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_and_upgrade_again_leave_no_drift(empty_url: str) -> None:
    config = migrate.alembic_config(make_settings(empty_url))

    migrate.upgrade(config)
    assert _tables(empty_url) == TABLES
    migrate.downgrade(config, "base")
    assert _tables(empty_url) == set()
    migrate.upgrade(config)
    report = migrate.check(config)

    assert _tables(empty_url) == TABLES
    assert report.current == report.head == "0008_backtest"
    assert report.differences == []
    assert report.clean


def test_adding_the_trade_version_keeps_existing_trades_and_starts_them_at_1(
    empty_url: str,
) -> None:
    config = migrate.alembic_config(make_settings(empty_url))
    migrate.upgrade(config, "0001")
    engine = create_engine(make_settings(empty_url).database_url)
    row = {
        "id": "0b5f6a5e-2f5e-4d47-9a55-6d9b3f2b3a11",
        "source_hash": "a" * 64,
        "client_order_id": "ta-" + "a" * 64,
        "symbol": "AAPL",
        "now": "2024-06-20 13:30:00+00:00",
    }
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO trade (id, source_hash, client_order_id, symbol, side, "
                    "order_type, time_in_force, status, created_at, updated_at) VALUES "
                    "(:id, :source_hash, :client_order_id, :symbol, 'BUY', 'MARKET', 'DAY', "
                    "'NEW', :now, :now)"
                ),
                row,
            )

        migrate.upgrade(config)
        with engine.connect() as connection:
            upgraded = connection.execute(text("SELECT symbol, version FROM trade")).all()
        migrate.downgrade(config, "0001")
        with engine.connect() as connection:
            downgraded = connection.execute(text("SELECT symbol FROM trade")).all()
            columns = {column["name"] for column in inspect(connection).get_columns("trade")}
    finally:
        engine.dispose()

    assert [tuple(r) for r in upgraded] == [("AAPL", 1)]
    assert [tuple(r) for r in downgraded] == [("AAPL",)]
    assert "version" not in columns


def test_downgrade_drops_postgres_enum_types(make_empty_url: Callable[[str], str]) -> None:
    url = make_empty_url("postgresql")
    config = migrate.alembic_config(make_settings(url))
    migrate.upgrade(config)
    migrate.downgrade(config, "base")

    engine = create_engine(make_settings(url).database_url)
    with engine.connect() as connection:
        enums = connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'")).all()
    engine.dispose()
    assert enums == []


def test_check_reports_an_index_missing_from_the_database(
    empty_url: str, migrated_engine: Engine
) -> None:
    with migrated_engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_trade_symbol_created_at_id"))

    report = migrate.check(migrate.alembic_config(make_settings(empty_url)))

    assert not report.clean
    assert any("ix_trade_symbol_created_at_id" in line for line in report.differences)


def test_check_reports_a_database_behind_head_without_comparing_its_tables(
    empty_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    report = migrate.check(migrate.alembic_config(make_settings(empty_url)))

    assert report.current is None
    assert report.head == "0008_backtest"
    assert not report.clean
    assert report.differences == []
    assert not [r for r in caplog.records if "Detected" in r.getMessage()]


@pytest.mark.parametrize(
    ("move", "revision", "said"),
    [
        (migrate.upgrade, "9999", "cannot upgrade to 9999: no revision 9999"),
        (migrate.downgrade, "abc", "cannot downgrade to abc: no revision abc"),
        (migrate.upgrade, "+1", "cannot upgrade to +1: that steps past the newest revision"),
        (migrate.upgrade, "0001+9", "cannot upgrade to 0001+9: that steps past the newest"),
        (migrate.downgrade, "-9", "cannot downgrade to -9: that steps past base"),
    ],
)
def test_a_revision_that_cannot_be_found_or_reached_is_named_in_one_line(
    empty_url: str, move: Callable[..., None], revision: str, said: str
) -> None:
    config = migrate.alembic_config(make_settings(empty_url))
    migrate.upgrade(config)

    with pytest.raises(migrate.RevisionTargetError) as caught:
        move(config, revision)

    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert message.startswith(said)
    assert message.endswith("; `trading-automation db history` lists the revisions")
    assert "\n" not in message


def test_a_database_migrated_by_a_newer_version_is_not_blamed_on_the_revision_asked_for(
    migrated_engine: Engine, empty_url: str
) -> None:
    with migrated_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))

    with pytest.raises(migrate.RevisionTargetError, match="database is at revision 0099, which"):
        migrate.upgrade(migrate.alembic_config(make_settings(empty_url)))


def test_migrations_use_the_direct_url_when_set(empty_url: str) -> None:
    settings = make_settings(
        "postgresql://nobody@127.0.0.1:1/unreachable", direct_database_url=empty_url
    )

    migrate.upgrade(migrate.alembic_config(settings))

    assert _tables(empty_url) == TABLES


def _unique_constraints(engine: Engine, table: str) -> dict[str, list[str]]:
    return {
        str(uc["name"]): list(uc["column_names"])
        for uc in inspect(engine).get_unique_constraints(table)
    }


def test_unique_constraints_are_named_and_cover_the_spec_keys(migrated_engine: Engine) -> None:
    assert _unique_constraints(migrated_engine, "trade") == {
        "uq_trade_source_hash": ["source_hash"],
        "uq_trade_client_order_id": ["client_order_id"],
        "uq_trade_alpaca_order_id": ["alpaca_order_id"],
        "uq_trade_transaction_key": ["transaction_key"],
    }
    assert _unique_constraints(migrated_engine, "congress_trade_feed") == {
        "uq_congress_trade_feed_row_hash": ["row_hash"]
    }
    assert _unique_constraints(migrated_engine, "job_run") == {
        "uq_job_run_type_trading_date_et": ["type", "trading_date_et"]
    }


def test_trade_references_the_feed_and_is_detached_when_the_record_goes(
    migrated_engine: Engine,
) -> None:
    keys = {key["name"]: key for key in inspect(migrated_engine).get_foreign_keys("trade")}
    feed = keys["fk_trade_congress_trade_feed_id_congress_trade_feed"]
    run = keys["fk_trade_job_run_id_job_run"]
    lot = keys["fk_trade_lot_trade_id_trade"]

    assert set(keys) == {feed["name"], run["name"], lot["name"]}
    assert (lot["constrained_columns"], lot["referred_table"]) == (["lot_trade_id"], "trade")
    assert feed["constrained_columns"] == ["congress_trade_feed_id"]
    assert feed["referred_table"] == "congress_trade_feed"
    assert feed["referred_columns"] == ["id"]
    assert feed["options"].get("ondelete") == "SET NULL"
    assert (run["constrained_columns"], run["referred_table"]) == (["job_run_id"], "job_run")
    assert run["options"].get("ondelete") == "SET NULL"


def test_listing_and_guardrail_indexes_exist(migrated_engine: Engine) -> None:
    indexes = {
        str(index["name"]): list(index["column_names"])
        for index in inspect(migrated_engine).get_indexes("trade")
    }

    assert indexes["ix_trade_created_at_id"] == ["created_at", "id"]
    assert indexes["ix_trade_symbol_created_at_id"] == ["symbol", "created_at", "id"]
    assert indexes["ix_trade_status_created_at_id"] == ["status", "created_at", "id"]
    assert indexes["ix_trade_open_created_at"] == ["created_at"]
    assert indexes["ix_trade_congress_trade_feed_id"] == ["congress_trade_feed_id"]


def test_open_trades_index_is_partial_on_open_statuses(
    migrated_engine: Engine, backend: str
) -> None:
    query = (
        "SELECT sql FROM sqlite_master WHERE name = 'ix_trade_open_created_at'"
        if backend == "sqlite"
        else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_trade_open_created_at'"
    )
    with migrated_engine.connect() as connection:
        definition = connection.execute(text(query)).scalar_one()

    assert "WHERE" in definition.upper()
    for status in ("NEW", "ACCEPTED", "PARTIALLY_FILLED"):
        assert status in definition
    assert "FILLED'" not in definition.replace("PARTIALLY_FILLED'", "")


def test_check_constraints_forbid_negative_amounts(migrated_engine: Engine) -> None:
    checks = {
        str(check["name"]): str(check["sqltext"])
        for check in inspect(migrated_engine).get_check_constraints("trade")
    }

    assert "ck_trade_notional_submitted_positive" in checks
    assert "ck_trade_qty_submitted_positive" in checks
    assert "ck_trade_filled_qty_not_negative" in checks
    assert "ck_trade_filled_avg_price_not_negative" in checks
    assert "ck_trade_client_order_id_length" in checks


def _pg_column_types(engine: Engine, table: str) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT column_name, format_type(atttypid, atttypmod)"
                " FROM information_schema.columns"
                " JOIN pg_attribute ON attrelid = (table_schema || '.' || table_name)::regclass"
                " AND attname = column_name WHERE table_name = :table"
            ),
            {"table": table},
        ).all()
    return {str(name): str(kind) for name, kind in rows}


def test_postgres_column_types_are_native(make_empty_url: Callable[[str], str]) -> None:
    url = make_empty_url("postgresql")
    migrate.upgrade(migrate.alembic_config(make_settings(url)))
    engine = create_engine(make_settings(url).database_url)

    trade = _pg_column_types(engine, "trade")
    feed = _pg_column_types(engine, "congress_trade_feed")
    job = _pg_column_types(engine, "job_run")
    checkpoint = _pg_column_types(engine, "ingest_checkpoint")
    with engine.connect() as connection:
        labels = dict(
            connection.execute(
                text(
                    "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)"
                    " FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname"
                )
            ).all()
        )
    engine.dispose()

    assert trade["id"] == "uuid"
    assert trade["congress_trade_feed_id"] == "uuid"
    assert trade["notional_submitted"] == "numeric(18,2)"
    assert trade["qty_submitted"] == "numeric(18,9)"
    assert trade["filled_qty"] == "numeric(18,9)"
    assert trade["filled_avg_price"] == "numeric(18,9)"
    assert trade["raw_order_json"] == "jsonb"
    assert trade["status"] == "trade_status"
    for column in ("created_at", "submitted_at", "updated_at", "filled_at", "canceled_at"):
        assert trade[column] == "timestamp with time zone"
    assert trade["failed_at"] == "timestamp with time zone"
    assert feed["raw_json"] == "jsonb"
    assert feed["problems"] == "jsonb"
    assert feed["transaction"] == "feed_transaction"
    assert feed["party"] == "party"
    assert feed["filing_date"] == "date"
    assert feed["ingested_at"] == "timestamp with time zone"
    assert job["summary_json"] == "jsonb"
    assert job["heartbeat_at"] == "timestamp with time zone"
    assert job["trading_date_et"] == "date"
    assert checkpoint["last_filed_ts_processed_et"] == "timestamp with time zone"
    assert labels == {
        "feed_transaction": "BUY,SELL,UNKNOWN",
        "party": "DEMOCRAT,REPUBLICAN,INDEPENDENT,OTHER,UNKNOWN",
        "order_side": "BUY,SELL",
        "close_cause": "MIRRORED_SALE,HOLDING_LIMIT,STOP_LOSS,TAKE_PROFIT,OUTSIDE",
        "order_type": "MARKET",
        "time_in_force": "DAY",
        "trade_status": (
            "NEW,ACCEPTED,PARTIALLY_FILLED,FILLED,CANCELED,EXPIRED,REJECTED,FAILED,SKIPPED"
        ),
        "job_type": "OPEN_JOB,CLOSE_JOB",
        "alert_level": "INFO,WARNING,ERROR",
        "job_status": "PENDING,RUNNING,SUCCESS,FAILED,SKIPPED",
    }


def test_sqlite_enums_are_enforced_by_named_checks(make_empty_url: Callable[[str], str]) -> None:
    url = make_empty_url("sqlite")
    migrate.upgrade(migrate.alembic_config(make_settings(url)))
    engine = create_engine(make_settings(url).database_url)

    checks = {str(check["name"]) for check in inspect(engine).get_check_constraints("trade")}
    with pytest.raises(sa.exc.IntegrityError, match="ck_trade_trade_status"), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO trade (id, source_hash, client_order_id, symbol, side, order_type,"
                " time_in_force, status, created_at, updated_at) VALUES ('x', 'h', 'c', 'S',"
                " 'BUY', 'MARKET', 'DAY', 'BOGUS', '2024-01-01', '2024-01-01')"
            )
        )
    engine.dispose()

    assert {"ck_trade_trade_status", "ck_trade_order_side"} <= checks
