"""Portable types: exact decimals, aware UTC timestamps, JSON and UUIDs on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text

from trading_automation.db.database import Database
from trading_automation.db.models import Trade
from trading_automation.db.run_models import JobRun
from trading_automation.domain.enums import JobType
from trading_automation.domain.timestamps import NaiveDatetimeError
from trading_automation.errors import InvalidValueError


def _trade(number: int, **values: object) -> Trade:
    return Trade(
        source_hash=f"hash-{number}", client_order_id=f"cid-{number}", symbol="AMZN", **values
    )


def _stored(database: Database, trade_id: uuid.UUID) -> Trade:
    with database.transaction() as uow:
        return uow.session.get_one(Trade, trade_id)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("filled_qty", Decimal("4.180203894")),
        ("filled_qty", Decimal("0.000000001")),
        ("filled_qty", Decimal("999999999.999999999")),
        ("filled_avg_price", Decimal("187.123456789")),
        ("notional_submitted", Decimal("1000000000000000.00")),
        ("notional_submitted", Decimal("9999999999999999.99")),
        ("notional_submitted", Decimal("0.01")),
    ],
)
def test_decimals_come_back_identical(database: Database, column: str, value: Decimal) -> None:
    trade = _trade(1, **{column: value})
    with database.transaction() as uow:
        uow.session.add(trade)

    stored = getattr(_stored(database, trade.id), column)

    assert stored == value
    assert str(stored) == str(value)


def test_decimal_comes_back_at_the_column_scale(database: Database) -> None:
    trade = _trade(1, filled_qty=Decimal("5"), notional_submitted=Decimal("1000"))
    with database.transaction() as uow:
        uow.session.add(trade)

    stored = _stored(database, trade.id)

    assert str(stored.filled_qty) == "5.000000000"
    assert str(stored.notional_submitted) == "1000.00"


def test_sums_and_comparisons_of_decimals_are_exact(database: Database) -> None:
    with database.transaction() as uow:
        uow.session.add_all(_trade(n, filled_qty=Decimal("0.1")) for n in range(10))
        uow.session.add(_trade(99, filled_qty=Decimal("0.000000001")))

    with database.transaction() as uow:
        total = uow.session.scalar(select(func.sum(Trade.filled_qty)))
        above = uow.session.scalar(
            select(func.count()).where(Trade.filled_qty > Decimal("0.000000001"))
        )
        smallest = uow.session.scalar(select(Trade.filled_qty).order_by(Trade.filled_qty).limit(1))

    assert total == Decimal("1.000000001")
    assert above == 10
    assert smallest == Decimal("0.000000001")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("filled_qty", Decimal("1.0000000001"), "more than 9 decimal places"),
        ("notional_submitted", Decimal("10.005"), "more than 2 decimal places"),
        ("notional_submitted", Decimal("10000000000000000"), "does not fit"),
        ("filled_qty", Decimal("NaN"), "NaN"),
        ("filled_qty", Decimal("Infinity"), "infinity"),
        ("filled_qty", 1.5, "binary floats are not exact"),
    ],
)
def test_decimals_that_would_lose_digits_are_refused_naming_the_column(
    database: Database, column: str, value: object, problem: str
) -> None:
    with pytest.raises(InvalidValueError, match=problem) as raised:
        _trade(1, **{column: value})

    assert raised.value.field == f"trade.{column}"


def test_core_inserts_refuse_decimals_that_do_not_fit(database: Database) -> None:
    with (
        pytest.raises(InvalidValueError, match="more than 2 decimal places"),
        database.transaction() as uow,
    ):
        uow.session.execute(
            insert(Trade).values(
                id=uuid.uuid4(),
                source_hash="h",
                client_order_id="c",
                symbol="X",
                notional_submitted=Decimal("1.001"),
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )

    with database.transaction() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Trade)) == 0


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 3, 10, 6, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York")),
        datetime(2024, 7, 1, 9, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2024, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
    ],
)
def test_aware_datetimes_come_back_as_the_same_instant_in_utc(
    database: Database, moment: datetime
) -> None:
    trade = _trade(1, created_at=moment, filled_at=moment)
    with database.transaction() as uow:
        uow.session.add(trade)

    stored = _stored(database, trade.id)

    assert stored.created_at == moment
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.created_at.tzinfo is UTC
    assert stored.filled_at == moment


def test_naive_datetimes_are_refused_on_assignment(database: Database) -> None:
    with pytest.raises(NaiveDatetimeError, match="naive datetime") as raised:
        _trade(1, created_at=datetime(2024, 1, 1, 9, 30))  # noqa: DTZ001 - the point of the test

    assert raised.value.field == "trade.created_at"


def test_naive_datetimes_are_refused_by_core_statements(database: Database) -> None:
    with pytest.raises(NaiveDatetimeError, match="naive datetime"), database.transaction() as uow:
        uow.session.execute(
            select(Trade).where(Trade.created_at > datetime(2024, 1, 1))  # noqa: DTZ001
        )


def test_json_documents_round_trip_nested_unicode(database: Database) -> None:
    document = {
        "name": "Zoë Lofgren — Δ ☃",
        "nested": {"list": [1, 2.5, None, True, "😀"], "empty": {}, "deep": [[{"k": "v"}]]},
        "big": 12345678901234567,
    }
    run = JobRun(type=JobType.OPEN_JOB, trading_date_et=datetime(2024, 1, 2, tzinfo=UTC).date())
    run.summary_json = document
    with database.transaction() as uow:
        uow.session.add(run)

    with database.transaction() as uow:
        stored = uow.session.get_one(JobRun, run.id)

    assert stored.summary_json == document


def test_json_none_is_sql_null(database: Database) -> None:
    trade = _trade(1, raw_order_json=None)
    with database.transaction() as uow:
        uow.session.add(trade)

    with database.transaction() as uow:
        nulls = uow.session.scalar(
            select(func.count()).select_from(Trade).where(Trade.raw_order_json.is_(None))
        )

    assert nulls == 1


def test_primary_keys_are_uuids(database: Database) -> None:
    trade = _trade(1)
    with database.transaction() as uow:
        uow.session.add(trade)

    with database.transaction() as uow:
        found = uow.session.scalars(select(Trade.id)).one()

    assert isinstance(found, uuid.UUID)
    assert found == trade.id


def test_sqlite_stores_decimals_as_scaled_integers_not_floats(
    database: Database, backend: str
) -> None:
    trade = _trade(1, filled_qty=Decimal("4.180203894"))
    with database.transaction() as uow:
        uow.session.add(trade)

    with database.engine.connect() as connection:
        raw_type = connection.execute(
            text(
                "SELECT typeof(filled_qty) FROM trade"
                if backend == "sqlite"
                else "SELECT pg_typeof(filled_qty)::text FROM trade"
            )
        ).scalar_one()

    assert raw_type == ("integer" if backend == "sqlite" else "numeric")
