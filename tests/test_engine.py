"""The engine factory: pool modes, timeouts, SQLite pragmas and query logging."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool, QueuePool

from tests.conftest import make_settings
from trading_automation.db.engine import create_database_engine
from trading_automation.logs import configure_logging


@pytest.fixture
def postgres_url(migrated_urls: Callable[[str], str]) -> str:
    return migrated_urls("postgresql")


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def _engine(engines: list[Engine], url: str, **overrides: object) -> Engine:
    engine = create_database_engine(make_settings(url, **overrides))
    engines.append(engine)
    return engine


def _timeout_in_transaction(engine: Engine) -> str:
    with engine.begin() as connection:
        return str(connection.execute(text("SHOW statement_timeout")).scalar_one())


def test_direct_mode_pools_connections_and_sets_the_statement_timeout(
    engines: list[Engine], postgres_url: str
) -> None:
    engine = _engine(
        engines, postgres_url, database_pool_mode="direct", db_statement_timeout_ms=1234
    )

    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.size() == 5
    assert _timeout_in_transaction(engine) == "1234ms"


def test_session_mode_pools_connections_and_sets_the_timeout_per_session(
    engines: list[Engine], postgres_url: str
) -> None:
    engine = _engine(
        engines,
        postgres_url,
        database_pool_mode="session",
        db_statement_timeout_ms=2345,
        db_pool_size=3,
    )

    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.size() == 3
    assert _timeout_in_transaction(engine) == "2345ms"
    with engine.connect() as connection:
        # Set at session level, so it also holds outside an explicit transaction.
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "2345ms"


def test_transaction_mode_has_no_client_pool_and_no_prepared_statements(
    engines: list[Engine], postgres_url: str
) -> None:
    engine = _engine(
        engines, postgres_url, database_pool_mode="transaction", db_statement_timeout_ms=3456
    )

    with engine.begin() as connection:
        for _ in range(10):
            connection.execute(text("SELECT count(*) FROM trade WHERE symbol = :s"), {"s": "X"})
        prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))
        prepared_count = prepared.scalar_one()
        threshold = connection.connection.driver_connection.prepare_threshold  # type: ignore[union-attr]

    assert isinstance(engine.pool, NullPool)
    assert prepared_count == 0
    assert threshold is None
    assert _timeout_in_transaction(engine) == "3456ms"


def test_a_pooled_connection_dropped_while_idle_is_replaced_transparently(
    engines: list[Engine], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from trading_automation.db import engine as engine_module

    engine = _engine(engines, postgres_url, database_pool_mode="direct", db_pool_size=1)
    with engine.connect() as connection:
        first_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
    monkeypatch.setattr(engine_module, "IDLE_PING_AFTER_S", 0.0)

    with engine.connect() as connection:
        second_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    assert second_pid != first_pid


def test_a_connection_reused_at_once_is_not_pinged(
    engines: list[Engine], postgres_url: str
) -> None:
    from sqlalchemy import event

    engine = _engine(engines, postgres_url, database_pool_mode="direct", db_pool_size=1)
    statements: list[str] = []
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    pings: list[int] = []
    original = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(1)
        return bool(original(dbapi_connection))

    engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    for _ in range(5):
        with engine.connect() as connection:
            connection.execute(text("SELECT 2"))

    assert pings == []
    assert len(statements) == 5


def test_direct_mode_prepares_repeated_statements(engines: list[Engine], postgres_url: str) -> None:
    # The contrast that makes the transaction-mode test meaningful.
    engine = _engine(engines, postgres_url, database_pool_mode="direct")

    with engine.begin() as connection:
        for _ in range(10):
            connection.execute(text("SELECT count(*) FROM trade WHERE symbol = :s"), {"s": "X"})
        prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))

        assert prepared.scalar_one() > 0


def test_sqlite_connections_enforce_foreign_keys_use_wal_and_wait_when_busy(
    engines: list[Engine], migrated_urls: Callable[[str], str]
) -> None:
    engine = _engine(engines, migrated_urls("sqlite"), db_busy_timeout_ms=4321)

    with engine.connect() as connection:
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()

    assert foreign_keys == 1
    assert journal == "wal"
    assert busy == 4321


def _logged_events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_query_log_records_statements_with_durations_and_masks_secret_parameters(
    engines: list[Engine], migrated_url: str
) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_output=True, stream=stream)
    engine = _engine(engines, migrated_url, db_log_queries=True)

    with engine.connect() as connection:
        connection.execute(
            text("SELECT :api_password AS p, :ticker AS t"),
            {"api_password": "hunter2-in-a-param", "ticker": "AMZN"},
        )

    events = [event for event in _logged_events(stream) if event.get("event") == "sql"]
    logged = next(event for event in events if "AS p" in str(event["statement"]))
    assert isinstance(logged["duration_ms"], float)
    assert logged["parameters"] == {"api_password": "********", "ticker": "AMZN"}
    assert "hunter2-in-a-param" not in stream.getvalue()


def test_query_log_is_off_by_default(engines: list[Engine], migrated_url: str) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json_output=True, stream=stream)
    engine = _engine(engines, migrated_url)

    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))

    assert [event for event in _logged_events(stream) if event.get("event") == "sql"] == []
