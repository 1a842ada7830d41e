"""Migration 0008 (backtests) on a database of 0007 holding rows: the two tables appear, runs can
be stored at once, the downgrade removes them and keeps everything else, and upgrading again
gives the same schema, with no drift from the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, inspect

from tests.backtest_samples import (
    BENCHMARK_METRICS,
    DAYS,
    METRICS,
    STRATEGY_JSON,
    attribution,
    sample_result,
)
from tests.conftest import make_settings
from trading_automation.db import Database, PriceBar
from trading_automation.db.migrate import alembic_config, check, downgrade, upgrade

NOW = datetime(2024, 6, 20, 21, 0, tzinfo=UTC)
NEW_TABLES = {"backtest_run", "backtest_equity"}


def _store_bars_and_a_snapshot(database: Database) -> None:
    """Rows of 0007's tables: two daily bars and the account at one close."""
    with database.transaction() as uow:
        for day, close in ((date(2024, 1, 2), "470.5"), (date(2024, 1, 3), "468.25")):
            uow.session.add(
                PriceBar(
                    symbol="SPY",
                    day=day,
                    open=Decimal(close),
                    high=Decimal(close),
                    low=Decimal(close),
                    close=Decimal(close),
                    volume=1000,
                    adjustment="all",
                    fetched_at=NOW,
                )
            )
        uow.snapshots.upsert(
            date(2024, 1, 3),
            taken_at=NOW,
            equity=Decimal("1000.50"),
            cash=Decimal("1000.50"),
            long_market_value=Decimal(0),
            day_pl=None,
            realized_pl=Decimal(0),
            positions=[],
            now=NOW,
        )


def _kept(database: Database) -> tuple[list[tuple[date, Decimal]], Decimal | None]:
    with database.transaction(readonly=True) as uow:
        closes = uow.prices.closes("SPY", date(2024, 1, 2), date(2024, 1, 31))
        snapshot = uow.snapshots.latest()
    return closes, snapshot.equity if snapshot is not None else None


def _save_run(database: Database) -> None:
    with database.transaction() as uow:
        run_id = uow.backtests.save(
            sample_result(),
            metrics=METRICS,
            benchmark_metrics=BENCHMARK_METRICS,
            attribution=attribution(),
            strategy_json=STRATEGY_JSON,
            created_at=NOW,
        )
    with database.transaction(readonly=True) as uow:
        run = uow.backtests.get(run_id)
    assert run is not None
    assert run.days == DAYS


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_upgrade_keeps_the_rows_downgrade_removes_the_tables_and_upgrade_again_has_no_drift(
    backend_name: str, make_empty_url: Callable[[str], str]
) -> None:
    url = make_empty_url(backend_name)
    config = alembic_config(make_settings(url))
    upgrade(config, "0007_strategy")
    database = Database.from_settings(make_settings(url))
    engine = create_engine(make_settings(url).database_url)
    try:
        _store_bars_and_a_snapshot(database)
        before = _kept(database)

        upgrade(config, "0008_backtest")
        after_upgrade = _kept(database)
        _save_run(database)
        indexes = {index["name"] for index in inspect(engine).get_indexes("backtest_run")}
        foreign_keys = inspect(engine).get_foreign_keys("backtest_equity")

        downgrade(config, "0007_strategy")
        with engine.connect() as connection:
            tables_down = set(inspect(connection).get_table_names())
            revision_down = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar_one()
        after_downgrade = _kept(database)

        upgrade(config, "head")
        report = check(config)
        with database.transaction(readonly=True) as uow:
            runs_again = uow.backtests.listing()
            bars_again = uow.prices.count()
        _save_run(database)
    finally:
        engine.dispose()
        database.dispose()

    assert before == after_upgrade == after_downgrade
    assert before[0] == [
        (date(2024, 1, 2), Decimal("470.5")),
        (date(2024, 1, 3), Decimal("468.25")),
    ]
    assert before[1] == Decimal("1000.50")
    assert "ix_backtest_run_created_at" in indexes
    [foreign_key] = foreign_keys
    assert foreign_key["referred_table"] == "backtest_run"
    assert foreign_key["options"].get("ondelete") == "CASCADE"
    assert NEW_TABLES.isdisjoint(tables_down)
    assert {"price_bar", "account_snapshot", "filing_skip"} <= tables_down
    assert revision_down == "0007_strategy"
    assert report.current == report.head == "0008_backtest"
    assert report.clean, report.differences
    assert runs_again == []  # the runs went with the tables
    assert bars_again == 2
