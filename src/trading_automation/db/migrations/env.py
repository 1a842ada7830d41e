"""Alembic environment: connects with the migration URL and compares against the models."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from trading_automation.db.base import Base

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        # The engine issues BEGIN itself on SQLite, so a failed migration rolls back there too.
        transactional_ddl=True,
        compare_type=True,
        compare_server_default=True,
        user_module_prefix="trading_automation.db.types.",
    )


def _check_foreign_keys(connection: Connection) -> None:
    """On SQLite, where migrations run with foreign keys off, refuse to commit a schema whose
    rows break one (the transaction rolls back)."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise RuntimeError(
            f"the migration left {len(broken)} row(s) breaking a foreign key, e.g. {table} row "
            f"{rowid} referencing a missing {parent} row; nothing was changed"
        )


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
            _check_foreign_keys(connection)
        return

    from trading_automation.db.engine import create_database_engine

    engine = create_database_engine(
        config.attributes["settings"],
        url=config.attributes["database_url"],
        for_migrations=True,
    )
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
                _check_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
