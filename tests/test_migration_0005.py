"""Migration 0005 (operations) from a database holding 0004 data, and back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import make_settings
from trading_automation.db import AlertLevel, Database, JobStatus, JobType
from trading_automation.db.migrate import alembic_config, downgrade, upgrade

T0 = datetime(2024, 6, 20, 20, 30, tzinfo=UTC)
DAY = date(2024, 6, 20)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_existing_runs_stay_and_the_downgrade_drops_close_jobs_snapshots_and_alerts(
    backend_name: str, make_empty_url: Callable[[str], str]
) -> None:
    url = make_empty_url(backend_name)
    config = alembic_config(make_settings(url))
    upgrade(config, "0004")
    engine = create_engine(make_settings(url).database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO job_run (id, type, trading_date_et, status, attempt, "
                    "created_at, updated_at) VALUES (:id, 'OPEN_JOB', '2024-06-20', 'SUCCESS', "
                    "1, :now, :now)"
                ),
                {
                    "id": "0b5f6a5e2f5e4d479a556d9b3f2b3a11"
                    if backend_name == "sqlite"
                    else "0b5f6a5e-2f5e-4d47-9a55-6d9b3f2b3a11",
                    "now": "2024-06-20 13:30:00+00:00",
                },
            )

        upgrade(config, "0005_operations")
        database = Database.from_settings(make_settings(url))
        with database.transaction() as uow:
            opened = uow.job_runs.get(JobType.OPEN_JOB, DAY)
            closed = uow.job_runs.claim(JobType.CLOSE_JOB, DAY, owner="host:1:a", now=T0)
            for equity in (Decimal("100123.45"), Decimal("100234.56")):
                uow.snapshots.upsert(
                    DAY,
                    taken_at=T0,
                    equity=equity,
                    cash=Decimal("90000"),
                    long_market_value=equity - Decimal("90000"),
                    day_pl=None,
                    realized_pl=Decimal(0),
                    positions=[{"symbol": "AAPL", "qty": "5"}],
                    now=T0,
                )
            claim = uow.alerts.record(
                "run_failed:open-job",
                DAY,
                kind="run_failed",
                level=AlertLevel.ERROR,
                title="t",
                message="m",
                now=T0,
            )
            snapshot = uow.snapshots.get(DAY)
        database.dispose()
        downgrade(config, "0004")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT type, status FROM job_run")).all()
            tables = set(inspect(connection).get_table_names())
        refused = False
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO job_run (id, type, trading_date_et, status, attempt, "
                        "created_at, updated_at) VALUES ('x', 'CLOSE_JOB', '2024-06-21', "
                        "'SUCCESS', 1, '2024-06-21', '2024-06-21')"
                    )
                )
        except DBAPIError:
            refused = True
        upgrade(config, "head")
    finally:
        engine.dispose()

    assert opened is not None
    assert opened.status is JobStatus.SUCCESS
    assert closed.won
    assert claim.send
    assert snapshot is not None
    assert snapshot.equity == Decimal("100234.56")
    assert snapshot.positions_json == [{"symbol": "AAPL", "qty": "5"}]
    assert [tuple(row) for row in kept] == [("OPEN_JOB", "SUCCESS")]
    assert {"account_snapshot", "alert"}.isdisjoint(tables)
    assert refused
