"""The one factory that builds engines from settings, for the application and for migrations.

Pool modes (DATABASE_POOL_MODE):

- `direct`: the application talks to PostgreSQL itself; a client-side pool whose connections are
  pinged before reuse after 30 s idle.
- `session`: behind PgBouncer in session pooling; a client-side pool, and settings applied with
  `SET` on each new server session because PgBouncer refuses the `options` startup parameter.
- `transaction`: behind PgBouncer in transaction pooling; no client pool (PgBouncer is the pool),
  no server-side prepared statements (`prepare_threshold=None`), and the statement timeout set with
  `SET LOCAL` inside each transaction because session state does not survive between transactions.

SQLite gets foreign keys, WAL and a busy timeout on every connection. Write transactions start with
`BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of failing halfway through;
read-only transactions use a deferred `BEGIN` with `PRAGMA query_only`.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool, StaticPool

from trading_automation.db.base import Base
from trading_automation.db.errors import install_error_translation
from trading_automation.domain.jsonvalues import StoredJson, loads, sanitized
from trading_automation.urls import mask_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, ExceptionContext, ExecutionContext
    from sqlalchemy.pool import ConnectionPoolEntry

    from trading_automation.config import Settings

READONLY_OPTION = "trading_automation_readonly"
IDLE_PING_AFTER_S = 30.0
SECRET_PARAMETER_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "key_id")

_sql_log = structlog.get_logger("trading_automation.sql")


def json_default(value: object) -> object:
    """Serialise the values the project stores inside JSON documents."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot store {type(value).__name__} in a JSON column")


def json_dumps(value: object) -> str:
    """JSON text for a JSON column: unicode kept as is, decimals and dates as strings.

    Text already in storage form (`StoredJson`: a raw Quiver record) is sent as it is; in any
    other document a NUL or a lone surrogate, which no JSON column holds, becomes U+FFFD.
    """
    if isinstance(value, StoredJson):
        return str(value)
    return json.dumps(
        sanitized(value), default=json_default, ensure_ascii=False, separators=(",", ":")
    )


def create_database_engine(
    settings: Settings,
    *,
    url: str | None = None,
    for_migrations: bool = False,
) -> Engine:
    """Build an engine for `url` (default DATABASE_URL) configured by `settings`.

    Migration engines use no client pool and no statement timeout: a schema change on a large
    table may legitimately run long, and a pooler must not hold a DDL session.
    """
    target: URL = make_url(url or settings.database_url)
    if target.get_backend_name() == "sqlite":
        engine = _sqlite_engine(target, settings, for_migrations=for_migrations)
    else:
        engine = _postgresql_engine(target, settings, for_migrations=for_migrations)
    if settings.db_log_queries:
        _install_query_log(engine)
    masked = mask_url(target.render_as_string(hide_password=False))
    # Installed last: it raises the domain error, which ends the chain of handle_error hooks.
    event.listen(
        engine,
        "handle_error",
        lambda context: install_error_translation(
            context, metadata=Base.metadata, masked_url=masked
        ),
    )
    return engine


def _postgresql_engine(target: URL, settings: Settings, *, for_migrations: bool) -> Engine:
    mode = settings.database_pool_mode
    timeout_ms = 0 if for_migrations else settings.db_statement_timeout_ms
    connect_args: dict[str, Any] = {
        "connect_timeout": settings.db_connect_timeout_s,
        "application_name": "trading-automation",
    }
    pool_args: dict[str, Any]
    if mode == "transaction" or for_migrations:
        pool_args = {"poolclass": NullPool}
    else:
        pool_args = {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout_s,
            "pool_recycle": 1800,
        }
    if mode == "transaction":
        # PgBouncer hands each transaction to any server connection: a statement prepared on one
        # would be missing on the next.
        connect_args["prepare_threshold"] = None
    elif mode == "direct" and timeout_ms:
        connect_args["options"] = f"-c statement_timeout={timeout_ms}"

    engine = create_engine(
        target,
        connect_args=connect_args,
        json_serializer=json_dumps,
        json_deserializer=loads,
        **pool_args,
    )
    if pool_args.get("poolclass") is not NullPool:
        _ping_idle_connections(engine)

    if mode == "session" and timeout_ms:

        @event.listens_for(engine, "connect")
        def _set_session_timeout(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
            dbapi_connection.commit()

    if mode == "transaction" and timeout_ms:

        @event.listens_for(engine, "begin")
        def _set_transaction_timeout(connection: Connection) -> None:
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")

    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle long enough to have been
    dropped (by the server, a pooler or a firewall); a broken one is replaced transparently.

    A ping on every checkout would cost a round trip per transaction, and a busy worker reuses its
    connection many times a second.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_AFTER_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError(
                f"pooled connection was dropped while idle: {error}"
            ) from error


def _sqlite_engine(target: URL, settings: Settings, *, for_migrations: bool) -> Engine:
    in_memory = target.database in (None, "", ":memory:")
    busy_ms = settings.db_busy_timeout_ms
    pool_args: dict[str, Any]
    if in_memory:
        pool_args = {"poolclass": StaticPool}
    elif for_migrations:
        pool_args = {"poolclass": NullPool}
    else:
        pool_args = {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout_s,
        }
    engine = create_engine(
        target,
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": False},
        json_serializer=json_dumps,
        json_deserializer=loads,
        **pool_args,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take over transaction control from the sqlite3 module so that BEGIN, SAVEPOINT and
        # transactional DDL behave as SQLAlchemy expects.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # Migrations copy tables to alter them (batch mode); with foreign keys on, dropping
            # the old copy would fire ON DELETE actions on the rows that reference it (a trade's
            # feed record set to NULL). They run with foreign keys off and check them all before
            # committing (see migrations/env.py), as SQLite's documentation prescribes.
            cursor.execute(f"PRAGMA foreign_keys = {'OFF' if for_migrations else 'ON'}")
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READONLY_OPTION):
            connection.exec_driver_sql("PRAGMA query_only = ON")
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("PRAGMA query_only = OFF")
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def readonly_engine(engine: Engine) -> Engine:
    """A view of `engine` whose transactions are read-only on both backends."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True, **{READONLY_OPTION: True})
    return engine.execution_options(**{READONLY_OPTION: True})


def _is_secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_PARAMETER_WORDS)


def _loggable_parameters(context: ExecutionContext | None, parameters: Any) -> Any:
    compiled = getattr(context, "compiled_parameters", None)
    if compiled:
        rows = [
            {
                key: ("********" if _is_secret_parameter(key) else value)
                for key, value in row.items()
            }
            for row in compiled[:5]
        ]
        return rows[0] if len(rows) == 1 else rows
    if isinstance(parameters, dict):
        return {
            key: ("********" if _is_secret_parameter(str(key)) else value)
            for key, value in parameters.items()
        }
    # Positional parameters carry no names to judge them by: leave them out.
    return "(positional parameters not logged)" if parameters else None


def _install_query_log(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _start(
        connection: Connection,
        _cursor: Any,
        _statement: str,
        _parameters: Any,
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        connection.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _finish(
        connection: Connection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        started = connection.info["query_start"].pop()
        _sql_log.info(
            "sql",
            statement=" ".join(statement.split()),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            parameters=_loggable_parameters(context, parameters),
            executemany=executemany,
        )

    @event.listens_for(engine, "handle_error")
    def _discard(context: ExceptionContext) -> None:
        if context.connection is not None:
            stack = context.connection.info.get("query_start")
            if stack:
                stack.pop()
