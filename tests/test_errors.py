"""Driver errors become domain errors, provoked for real on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import make_settings
from trading_automation.db.database import Database
from trading_automation.db.errors import (
    CheckConstraintViolationError,
    DatabaseUnavailableError,
    ForeignKeyViolationError,
    NotNullViolationError,
    QueryTimeoutError,
    ReadOnlyTransactionError,
    SchemaNotReadyError,
    UniqueConstraintViolationError,
)
from trading_automation.db.models import Trade
from trading_automation.db.run_models import IngestCheckpoint, JobRun
from trading_automation.domain.enums import JobType


def _trade(**values: object) -> Trade:
    defaults: dict[str, object] = {"source_hash": "h1", "client_order_id": "c1", "symbol": "AMZN"}
    return Trade(**(defaults | values))


def _insert(database: Database, *rows: object) -> None:
    with database.transaction() as uow:
        for row in rows:
            uow.session.add(row)
            uow.flush()


@pytest.mark.parametrize(
    ("first", "second", "constraint", "columns"),
    [
        ({}, {"client_order_id": "c2"}, "uq_trade_source_hash", ("source_hash",)),
        ({}, {"source_hash": "h2"}, "uq_trade_client_order_id", ("client_order_id",)),
        (
            {"alpaca_order_id": "a1"},
            {"source_hash": "h2", "client_order_id": "c2", "alpaca_order_id": "a1"},
            "uq_trade_alpaca_order_id",
            ("alpaca_order_id",),
        ),
    ],
)
def test_duplicate_keys_raise_unique_violation_with_constraint_and_columns(
    database: Database,
    first: dict[str, object],
    second: dict[str, object],
    constraint: str,
    columns: tuple[str, ...],
) -> None:
    _insert(database, _trade(**first))

    with pytest.raises(UniqueConstraintViolationError) as raised:
        _insert(database, _trade(**second))

    assert raised.value.constraint == constraint
    assert raised.value.table == "trade"
    assert raised.value.columns == columns
    assert constraint in str(raised.value)


def test_second_job_run_for_the_same_day_raises_unique_violation_on_both_columns(
    database: Database,
) -> None:
    day = date(2024, 6, 3)
    _insert(database, JobRun(type=JobType.OPEN_JOB, trading_date_et=day))

    with pytest.raises(UniqueConstraintViolationError) as raised:
        _insert(database, JobRun(type=JobType.OPEN_JOB, trading_date_et=day))

    assert raised.value.constraint == "uq_job_run_type_trading_date_et"
    assert raised.value.columns == ("type", "trading_date_et")


def test_duplicate_primary_key_raises_unique_violation(database: Database) -> None:
    _insert(database, IngestCheckpoint(trading_date_et=date(2024, 6, 3)))

    with pytest.raises(UniqueConstraintViolationError) as raised:
        _insert(database, IngestCheckpoint(trading_date_et=date(2024, 6, 3)))

    assert raised.value.constraint == "pk_ingest_checkpoint"
    assert raised.value.columns == ("trading_date_et",)


def test_reference_to_a_missing_feed_record_raises_foreign_key_violation(
    database: Database,
) -> None:
    with pytest.raises(ForeignKeyViolationError) as raised:
        _insert(database, _trade(congress_trade_feed_id=uuid.uuid4()))

    assert raised.value.constraint == "fk_trade_congress_trade_feed_id_congress_trade_feed"
    assert raised.value.columns == ("congress_trade_feed_id",)


def test_a_trade_naming_a_missing_run_names_that_foreign_key(database: Database) -> None:
    with pytest.raises(ForeignKeyViolationError) as raised:
        _insert(database, _trade(job_run_id=uuid.uuid4()))

    assert raised.value.constraint == "fk_trade_job_run_id_job_run"
    assert raised.value.columns == ("job_run_id",)


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("notional_submitted", -1, "ck_trade_notional_submitted_positive"),
        ("notional_submitted", 0, "ck_trade_notional_submitted_positive"),
        ("qty_submitted", -3, "ck_trade_qty_submitted_positive"),
        ("filled_qty", "-0.000000001", "ck_trade_filled_qty_not_negative"),
        ("filled_avg_price", -10, "ck_trade_filled_avg_price_not_negative"),
        ("client_order_id", "x" * 129, "ck_trade_client_order_id_length"),
    ],
)
def test_values_the_schema_forbids_raise_check_violation(
    database: Database, column: str, value: object, constraint: str
) -> None:
    with pytest.raises(CheckConstraintViolationError) as raised:
        _insert(database, _trade(**{column: value}))

    assert raised.value.constraint == constraint
    assert column in raised.value.columns


def test_missing_required_value_raises_not_null_violation(database: Database) -> None:
    with pytest.raises(NotNullViolationError) as raised:
        _insert(database, _trade(symbol=None))

    assert raised.value.columns == ("symbol",)


def test_violation_rolls_back_the_whole_unit_of_work(database: Database) -> None:
    _insert(database, _trade())

    with pytest.raises(UniqueConstraintViolationError), database.transaction() as uow:
        uow.session.add(_trade(source_hash="new", client_order_id="new"))
        uow.flush()
        uow.session.add(_trade(client_order_id="dup-source"))
        uow.flush()

    with database.transaction() as uow:
        assert uow.session.query(Trade).count() == 1


def test_write_in_a_readonly_transaction_raises_readonly_error(database: Database) -> None:
    with pytest.raises(ReadOnlyTransactionError), database.transaction(readonly=True) as uow:
        uow.session.add(_trade())


def test_unreachable_postgres_raises_unavailable_with_the_password_masked() -> None:
    url = "postgresql://trader:hunter2-secret@127.0.0.1:1/nothing"
    database = Database.from_settings(make_settings(url, db_connect_timeout_s=2))

    with pytest.raises(DatabaseUnavailableError) as raised, database.transaction() as uow:
        uow.session.execute(text("SELECT 1"))

    message = str(raised.value)
    assert "hunter2-secret" not in message
    assert "trader:********@127.0.0.1:1" in message


def test_unopenable_sqlite_file_raises_unavailable(tmp_path: Path) -> None:
    database = Database.from_settings(make_settings(f"sqlite:///{tmp_path}/missing/dir/x.db"))

    with (
        pytest.raises(DatabaseUnavailableError, match="cannot open the SQLite database"),
        database.transaction() as uow,
    ):
        uow.session.execute(text("SELECT 1"))


def test_statement_over_the_timeout_raises_query_timeout(
    migrated_urls: Callable[[str], str],
) -> None:
    database = Database.from_settings(
        make_settings(migrated_urls("postgresql"), db_statement_timeout_ms=100)
    )
    try:
        with (
            pytest.raises(QueryTimeoutError, match="DB_STATEMENT_TIMEOUT_MS"),
            database.transaction() as uow,
        ):
            uow.session.execute(text("SELECT pg_sleep(2)"))
    finally:
        database.dispose()


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_unmigrated_database_raises_schema_not_ready(
    make_empty_url: Callable[[str], str], backend_name: str
) -> None:
    database = Database.from_settings(make_settings(make_empty_url(backend_name)))
    try:
        with pytest.raises(SchemaNotReadyError, match="db upgrade"), database.transaction() as uow:
            uow.session.query(Trade).count()
    finally:
        database.dispose()
