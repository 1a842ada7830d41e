"""Backtest runs stored and read back, on SQLite and PostgreSQL: exact money, JSON documents as
they were given, newest first, and a run's days deleted with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tests.backtest_samples import (
    BENCHMARK_METRICS,
    DAYS,
    METRICS,
    PARAMETERS,
    SHA,
    STRATEGY_JSON,
    attribution,
    long_days,
    sample_result,
)
from trading_automation.backtest.result import EquityDay
from trading_automation.db.backtest_models import BacktestEquity
from trading_automation.db.database import Database
from trading_automation.errors import InvalidValueError

NOW = datetime(2024, 6, 20, 21, 0, tzinfo=UTC)


def _save(database: Database, *, created_at: datetime = NOW, **changes: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "metrics": METRICS,
        "benchmark_metrics": BENCHMARK_METRICS,
        "attribution": attribution(),
        "strategy_json": STRATEGY_JSON,
        "parameters": PARAMETERS,
    } | changes
    result = values.pop("result", None) or sample_result()
    with database.transaction() as uow:
        return uow.backtests.save(result, created_at=created_at, **values)


def _days_stored(database: Database, run_id: uuid.UUID) -> int:
    with database.transaction(readonly=True) as uow:
        return uow.session.scalar(
            select(func.count()).select_from(BacktestEquity).where(BacktestEquity.run_id == run_id)
        )


@contextmanager
def _equity_inserts(database: Database) -> Iterator[list[str]]:
    """The INSERT statements sent for `backtest_equity` while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO BACKTEST_EQUITY"):
            sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def test_a_saved_run_reads_back_exactly(database: Database) -> None:
    run_id = _save(database)

    with database.transaction(readonly=True) as uow:
        run = uow.backtests.get(run_id)

    assert run is not None
    assert run.id == run_id
    assert run.created_at == NOW
    assert (run.period_from, run.period_to) == (date(2024, 1, 2), date(2024, 1, 5))
    assert run.capital == Decimal("100000.00")
    assert run.slippage_bps == Decimal("2.5")
    assert run.risk_free_rate == Decimal("0.0425")
    assert run.strategy_sha256 == SHA
    assert run.benchmark == "SPY"
    assert run.final_equity == Decimal("101100.75")
    assert (run.fills, run.skips) == (2, 1)
    # The days exactly, the benchmark's nine decimal places and its missing bar included.
    assert run.days == DAYS
    assert [day.equity for day in run.days] == [
        Decimal("100000.00"),
        Decimal("100250.50"),
        Decimal("99800.25"),
        Decimal("101100.75"),
    ]
    assert run.days[0].benchmark_close == Decimal("470.123456789")
    # Floats come back as the same floats, integers as integers, None as None.
    assert run.metrics == METRICS
    assert {key: type(value) for key, value in run.metrics.items()} == {
        key: type(value) for key, value in METRICS.items()
    }
    assert run.benchmark_metrics == BENCHMARK_METRICS
    assert run.attribution == attribution()
    assert run.strategy_json == STRATEGY_JSON
    assert run.parameters == PARAMETERS


def test_equity_is_stored_to_the_cent_with_cash_and_market_value_adding_up_to_it(
    database: Database,
) -> None:
    # Fractional shares at a price with slippage: the engine's values have many decimals.
    odd = [
        EquityDay(date(2024, 1, 2), Decimal("100.005"), Decimal("0.0049")),
        EquityDay(date(2024, 1, 3), Decimal("0.004"), Decimal("99.994999")),
    ]
    result = sample_result(odd)
    run_id = _save(database, result=result)

    with database.transaction(readonly=True) as uow:
        run = uow.backtests.get(run_id)

    assert run is not None
    assert [(d.cash, d.market_value) for d in run.days] == [
        (Decimal("100.01"), Decimal("0.00")),
        (Decimal("0.00"), Decimal("100.00")),
    ]
    assert [d.equity for d in run.days] == [Decimal("100.01"), Decimal("100.00")]
    assert run.final_equity == Decimal("100.00")


def test_the_listing_is_newest_first_with_the_headline_metrics(database: Database) -> None:
    oldest = _save(database, created_at=NOW - timedelta(days=2))
    newest = _save(database, created_at=NOW, metrics={"sharpe": 2.0})
    middle = _save(database, created_at=NOW - timedelta(days=1))

    with database.transaction(readonly=True) as uow:
        listing = uow.backtests.listing()
        first_two = uow.backtests.listing(limit=2)

    assert [run.id for run in listing] == [newest, middle, oldest]
    assert [run.id for run in first_two] == [newest, middle]
    latest, previous = listing[0], listing[1]
    assert (latest.total_return, latest.sharpe, latest.max_drawdown) == (None, 2.0, None)
    assert previous.total_return == METRICS["total_return"]
    assert previous.sharpe == 1.5
    assert previous.max_drawdown == -0.02944
    assert previous.created_at == NOW - timedelta(days=1)
    assert (previous.period_from, previous.period_to) == (date(2024, 1, 2), date(2024, 1, 5))
    assert (previous.capital, previous.final_equity) == (Decimal("100000"), Decimal("101100.75"))
    assert (previous.strategy_sha256, previous.fills) == (SHA, 2)


def test_no_run_is_listed_before_the_first_and_an_unknown_id_has_no_run(
    database: Database,
) -> None:
    with database.transaction(readonly=True) as uow:
        assert uow.backtests.listing() == []
        assert uow.backtests.get(uuid.uuid4()) is None
        with pytest.raises(InvalidValueError, match="limit: must be between 1 and 1000"):
            uow.backtests.listing(limit=0)


def test_deleting_a_run_deletes_its_days_and_leaves_the_others(database: Database) -> None:
    kept, deleted = _save(database), _save(database)

    with database.transaction() as uow:
        assert uow.backtests.delete(deleted) is True
        assert uow.backtests.delete(deleted) is False
        assert uow.backtests.delete(uuid.uuid4()) is False

    with database.transaction(readonly=True) as uow:
        assert uow.backtests.get(deleted) is None
        assert [run.id for run in uow.backtests.listing()] == [kept]
    assert _days_stored(database, deleted) == 0
    assert _days_stored(database, kept) == len(DAYS)


def test_ten_years_of_closes_are_saved_in_bulk_and_read_back_oldest_first(
    database: Database,
) -> None:
    days = long_days(2500)
    with _equity_inserts(database) as sent:
        run_id = _save(database, result=sample_result(days))

    with database.transaction(readonly=True) as uow:
        run = uow.backtests.get(run_id)

    assert run is not None
    assert run.days == days
    assert (run.period_from, run.period_to) == (days[0].day, days[-1].day)
    # One statement for every day (an executemany), never a statement per day.
    assert len(sent) == 1


def test_a_run_without_days_stores_its_capital_as_its_final_equity(database: Database) -> None:
    run_id = _save(database, result=sample_result([]))

    with database.transaction(readonly=True) as uow:
        run = uow.backtests.get(run_id)

    assert run is not None
    assert run.days == []
    assert run.final_equity == run.capital == Decimal("100000.00")


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"metrics": {"sharpe": float("nan")}}, r"metrics\.sharpe: expected a finite number"),
        ({"benchmark_metrics": {"beta": float("inf")}}, r"benchmark_metrics\.beta: expected"),
        ({"metrics": {"trades": "2"}}, r"metrics\.trades: expected a finite number or None"),
        ({"strategy_json": {"size": Decimal("NaN")}}, "strategy_json: holds NaN"),
        ({"parameters": {"grid": [1.0, float("inf")]}}, "parameters: holds inf"),
    ],
)
def test_values_json_cannot_hold_are_refused_in_one_line_and_nothing_is_stored(
    database: Database, changes: dict[str, Any], said: str
) -> None:
    with pytest.raises(InvalidValueError, match=said) as raised:
        _save(database, **changes)

    assert "\n" not in str(raised.value)
    with database.transaction(readonly=True) as uow:
        assert uow.backtests.listing() == []


def test_a_naive_creation_time_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="created_at"):
        _save(database, created_at=datetime(2024, 6, 20, 21, 0))  # noqa: DTZ001 - on purpose
