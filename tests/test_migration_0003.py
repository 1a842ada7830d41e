"""Migration 0003 from a database holding 0002 data: every run becomes its attempt, trades keep
their rows (with no run recorded), and the downgrade gives the 0002 schema back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import make_settings
from trading_automation.db import migrate

RUNS = [
    {
        "id": "1b5f6a5e-2f5e-4d47-9a55-6d9b3f2b3a11",
        "day": "2024-06-18",
        "status": "SUCCESS",
        "attempt": 3,
        "owner": "host:1:aa",
        "started": "2024-06-18 13:30:05+00:00",
        "finished": "2024-06-18 13:31:00+00:00",
        "summary": json.dumps({"orders": {"submitted": 11}, "errors": []}),
    },
    {
        "id": "2b5f6a5e-2f5e-4d47-9a55-6d9b3f2b3a22",
        "day": "2024-06-20",
        "status": "FAILED",
        "attempt": 1,
        "owner": "host:2:bb",
        "started": "2024-06-20 13:30:00+00:00",
        "finished": "2024-06-20 13:30:09+00:00",
        "summary": json.dumps({"errors": ["quiver 2024-06-19: down"]}),
    },
]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_runs_become_their_attempts_and_trades_keep_their_rows(
    backend_name: str, make_empty_url: Callable[[str], str]
) -> None:
    url = make_empty_url(backend_name)
    # Ids as the application writes them: SQLite keeps a UUID as 32 hex digits.
    runs = [
        dict(run, id=uuid.UUID(run["id"]).hex if backend_name == "sqlite" else run["id"])
        for run in RUNS
    ]
    config = migrate.alembic_config(make_settings(url))
    migrate.upgrade(config, "0002")
    engine = create_engine(make_settings(url).database_url)
    try:
        with engine.begin() as connection:
            for run in runs:
                connection.execute(
                    text(
                        "INSERT INTO job_run (id, type, trading_date_et, status, attempt, owner, "
                        "started_at, finished_at, summary_json, created_at, updated_at) VALUES "
                        "(:id, 'OPEN_JOB', :day, :status, :attempt, :owner, :started, :finished, "
                        ":summary, :started, :finished)"
                    ),
                    run,
                )
            connection.execute(
                text(
                    "INSERT INTO trade (id, source_hash, client_order_id, symbol, side, "
                    "order_type, time_in_force, status, created_at, updated_at) VALUES "
                    "('0b5f6a5e-2f5e-4d47-9a55-6d9b3f2b3a11', :hash, :cid, 'AAPL', 'BUY', "
                    "'MARKET', 'DAY', 'FILLED', :now, :now)"
                ),
                {"hash": "a" * 64, "cid": "ta-" + "a" * 64, "now": "2024-06-18 13:30:06+00:00"},
            )

        migrate.upgrade(config, "0003")
        with engine.connect() as connection:
            attempts = connection.execute(
                text(
                    "SELECT attempt, owner, status, summary_json FROM job_run_attempt "
                    "ORDER BY attempt DESC"
                )
            ).all()
            trades = connection.execute(text("SELECT symbol, job_run_id FROM trade")).all()
        migrate.downgrade(config, "0002")
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            columns = {column["name"] for column in inspect(connection).get_columns("trade")}
            kept = connection.execute(text("SELECT symbol FROM trade")).all()
    finally:
        engine.dispose()

    assert [(a.attempt, a.owner, a.status) for a in attempts] == [
        (3, "host:1:aa", "SUCCESS"),
        (1, "host:2:bb", "FAILED"),
    ]
    summaries = [s if isinstance(s, dict) else json.loads(s) for _, _, _, s in attempts]
    assert summaries[0]["orders"] == {"submitted": 11}
    assert summaries[1]["errors"] == ["quiver 2024-06-19: down"]
    assert [tuple(row) for row in trades] == [("AAPL", None)]
    assert {"job_run_attempt", "api_request"}.isdisjoint(tables)
    assert "job_run_id" not in columns
    assert [tuple(row) for row in kept] == [("AAPL",)]
