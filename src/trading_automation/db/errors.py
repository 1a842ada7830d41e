"""Domain errors for database failures, and the translation of driver errors into them.

`translate_error` is installed on every engine (see `engine.py`), so code above the engine sees only
these classes, whether the driver is psycopg or sqlite3 and whether the statement came from the ORM
or Core. The driver's exception stays available as `__cause__` for debugging.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trading_automation.errors import InvalidValueError, TradingAutomationError

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import ExceptionContext


class DatabaseError(TradingAutomationError):
    """A database operation failed; the message says which and why."""


class IntegrityViolationError(DatabaseError):
    """A write broke a database constraint; nothing of that transaction was stored."""

    kind = "constraint"

    def __init__(
        self,
        *,
        constraint: str | None,
        table: str | None,
        columns: Sequence[str] = (),
        detail: str | None = None,
    ) -> None:
        self.constraint = constraint
        self.table = table
        self.columns: tuple[str, ...] = tuple(columns)
        self.detail = detail
        where = constraint or (f"{table}({', '.join(self.columns)})" if table else "unknown")
        message = f"{self.kind} violated: {where}"
        if self.columns and constraint:
            message += f" on {table}({', '.join(self.columns)})"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class UniqueConstraintViolationError(IntegrityViolationError):
    """The row duplicates a unique key; look the existing row up instead of inserting it again."""

    kind = "unique constraint"


class ForeignKeyViolationError(IntegrityViolationError):
    """The row refers to a row that does not exist; store the referenced row first."""

    kind = "foreign key"


class CheckConstraintViolationError(IntegrityViolationError):
    """A value the schema forbids (e.g. a negative amount) was refused; correct the value."""

    kind = "check constraint"


class NotNullViolationError(IntegrityViolationError):
    """A required column was left empty; supply the value."""

    kind = "not-null constraint"


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached or refused the connection: check DATABASE_URL and that
    the server is running."""


class QueryTimeoutError(DatabaseError):
    """A statement ran longer than DB_STATEMENT_TIMEOUT_MS and was cancelled; retry later or raise
    the timeout."""


class ReadOnlyTransactionError(DatabaseError):
    """A write was attempted inside a read-only transaction; open a read-write unit of work."""


class SchemaNotReadyError(DatabaseError):
    """The schema is missing or older than the code: run `trading-automation db upgrade`."""


class RetryableDatabaseError(DatabaseError):
    """A transaction lost a race with another one; running it again usually succeeds."""


class SerializationFailureError(RetryableDatabaseError):
    """PostgreSQL could not serialize the transaction (SQLSTATE 40001); retry it."""


class DeadlockDetectedError(RetryableDatabaseError):
    """PostgreSQL broke a deadlock by aborting this transaction (SQLSTATE 40P01); retry it."""


class DatabaseLockedError(RetryableDatabaseError):
    """SQLite stayed locked by another writer past the busy timeout; retry it."""


class ConcurrentUpdateError(RetryableDatabaseError):
    """A row kept changing between reading it and writing it (optimistic concurrency); retry."""


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQLITE_COLUMNS = re.compile(r"constraint failed: (?P<columns>.+)$", re.I)
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (?P<name>\S+)", re.I)
_INSERT_COLUMNS = re.compile(r"\s*INSERT\s+INTO\s+\S+\s*\((?P<columns>[^)]*)\)", re.I)
_PG_KEY_COLUMNS = re.compile(r"Key \((?P<columns>[^)]*)\)")
_STATEMENT_TABLE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(?P<table>\w+)", re.I
)


def _statement_table(statement: str | None) -> str | None:
    match = _STATEMENT_TABLE.match(statement or "")
    return match.group("table") if match else None


def _unique_name(
    metadata: MetaData | None, table: str | None, columns: Sequence[str]
) -> str | None:
    """The name of the unique constraint, unique index or primary key over exactly `columns`."""
    if metadata is None or table is None or table not in metadata.tables:
        return None
    wanted = set(columns)
    model = metadata.tables[table]
    if {column.name for column in model.primary_key.columns} == wanted:
        return str(model.primary_key.name) if model.primary_key.name else None
    for constraint in model.constraints:
        names = {column.name for column in getattr(constraint, "columns", ())}
        if names == wanted and type(constraint).__name__ == "UniqueConstraint":
            return str(constraint.name)
    for index in model.indexes:
        if index.unique and {column.name for column in index.columns} == wanted:
            return str(index.name)
    return None


def _constraint_columns(
    metadata: MetaData | None, table: str | None, name: str | None
) -> list[str]:
    if metadata is None or table is None or name is None or table not in metadata.tables:
        return []
    model = metadata.tables[table]
    candidates: list[Any] = [*model.constraints, *model.indexes]
    for constraint in candidates:
        if constraint.name != name:
            continue
        columns = [column.name for column in getattr(constraint, "columns", ())]
        sqltext = getattr(constraint, "sqltext", None)
        if not columns and sqltext is not None:
            # A CHECK written as SQL text: report the table's columns it mentions.
            words = set(_IDENTIFIER.findall(str(sqltext)))
            columns = [column.name for column in model.columns if column.name in words]
        return columns
    return []


def _violated_foreign_key(
    metadata: MetaData | None, table: str | None, statement: str | None, parameters: Any
) -> tuple[str | None, list[str]]:
    """The foreign key SQLite refused (it does not say which): the table's only one, or the
    only one whose columns the statement sets to a value."""
    if metadata is None or table is None or table not in metadata.tables:
        return None, []
    keys = list(metadata.tables[table].foreign_key_constraints)
    if len(keys) > 1:
        given = _columns_given(statement, parameters)
        keys = [key for key in keys if any(column.name in given for column in key.columns)]
    if len(keys) != 1:
        return None, []
    return str(keys[0].name), [column.name for column in keys[0].columns]


def _columns_given(statement: str | None, parameters: Any) -> set[str]:
    """The columns an INSERT sets to something other than NULL (for other statements, every
    column the statement names)."""
    text = statement or ""
    match = _INSERT_COLUMNS.match(text)
    if match is None:
        return set(_IDENTIFIER.findall(text))
    columns = [name.strip().strip('"') for name in match.group("columns").split(",")]
    rows = parameters if isinstance(parameters, list) else [parameters]
    given: set[str] = set()
    for row in rows:
        if isinstance(row, dict):
            given |= {name for name in columns if row.get(name) is not None}
        elif isinstance(row, tuple | list) and len(row) == len(columns):
            given |= {name for name, value in zip(columns, row, strict=True) if value is not None}
        else:
            return set(columns)
    return given


def _translate_sqlite(
    error: sqlite3.Error, statement: str | None, metadata: MetaData | None, parameters: Any = None
) -> DatabaseError | None:
    name = getattr(error, "sqlite_errorname", "") or ""
    message = str(error)
    table = _statement_table(statement)
    if name in {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}:
        match = _SQLITE_COLUMNS.search(message)
        qualified = [part.strip() for part in match.group("columns").split(",")] if match else []
        if qualified:
            table = qualified[0].split(".", 1)[0]
        columns = [part.split(".", 1)[-1] for part in qualified]
        return UniqueConstraintViolationError(
            constraint=_unique_name(metadata, table, columns), table=table, columns=columns
        )
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        constraint, columns = _violated_foreign_key(metadata, table, statement, parameters)
        return ForeignKeyViolationError(constraint=constraint, table=table, columns=columns)
    if name == "SQLITE_CONSTRAINT_CHECK":
        match = _SQLITE_CHECK.search(message)
        constraint = match.group("name") if match else None
        return CheckConstraintViolationError(
            constraint=constraint,
            table=table,
            columns=_constraint_columns(metadata, table, constraint),
        )
    if name == "SQLITE_CONSTRAINT_NOTNULL":
        match = _SQLITE_COLUMNS.search(message)
        not_null = match.group("columns").strip() if match else ""
        table_name, _, column = not_null.partition(".")
        return NotNullViolationError(
            constraint=None, table=table_name or table, columns=[column] if column else []
        )
    if name.startswith("SQLITE_READONLY") and "readonly database" in message:
        return ReadOnlyTransactionError(f"write refused in a read-only transaction: {message}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseLockedError(f"SQLite database is locked by another writer: {message}")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_IOERR")):
        return DatabaseUnavailableError(f"cannot open the SQLite database: {message}")
    if "no such table" in message:
        return SchemaNotReadyError(
            f"{message}; run `trading-automation db upgrade` to create the schema"
        )
    return None


def _translate_psycopg(
    error: BaseException, statement: str | None, metadata: MetaData | None
) -> DatabaseError | None:
    import psycopg

    if not isinstance(error, psycopg.Error):
        return None
    sqlstate = error.sqlstate or ""
    diag = error.diag
    table = diag.table_name or _statement_table(statement)
    constraint = diag.constraint_name
    if sqlstate == "23505":
        columns = _constraint_columns(metadata, table, constraint)
        if not columns:
            match = _PG_KEY_COLUMNS.search(diag.message_detail or "")
            columns = [part.strip() for part in match.group("columns").split(",")] if match else []
        return UniqueConstraintViolationError(constraint=constraint, table=table, columns=columns)
    if sqlstate == "23503":
        return ForeignKeyViolationError(
            constraint=constraint,
            table=table,
            columns=_constraint_columns(metadata, table, constraint),
        )
    if sqlstate == "23514":
        return CheckConstraintViolationError(
            constraint=constraint,
            table=table,
            columns=_constraint_columns(metadata, table, constraint),
        )
    if sqlstate == "23502":
        return NotNullViolationError(
            constraint=None, table=table, columns=[diag.column_name] if diag.column_name else []
        )
    if sqlstate == "40001":
        return SerializationFailureError(
            "could not serialize the transaction (SQLSTATE 40001); retry it"
        )
    if sqlstate == "40P01":
        return DeadlockDetectedError("deadlock detected (SQLSTATE 40P01); retry the transaction")
    if sqlstate == "25006":
        return ReadOnlyTransactionError(f"write refused: {diag.message_primary}")
    if sqlstate == "57014":
        return QueryTimeoutError("statement cancelled: it exceeded DB_STATEMENT_TIMEOUT_MS")
    if sqlstate in {"42P01", "42704"}:
        return SchemaNotReadyError(
            f"{diag.message_primary}; run `trading-automation db upgrade` to create the schema"
        )
    if (
        sqlstate.startswith(("08", "57P", "53"))
        or sqlstate in {"28000", "28P01", "3D000"}
        or isinstance(error, psycopg.OperationalError)
    ):
        reason = diag.message_primary or str(error).strip().splitlines()[0]
        return DatabaseUnavailableError(f"database unavailable: {reason}")
    return None


def translate(
    error: BaseException,
    *,
    statement: str | None = None,
    metadata: MetaData | None = None,
    url: str | None = None,
    parameters: Any = None,
) -> TradingAutomationError | None:
    """Return the domain error for a driver exception, or None when it has no domain meaning."""
    if isinstance(error, TradingAutomationError):
        return error
    if isinstance(error, sqlite3.Error):
        translated = _translate_sqlite(error, statement, metadata, parameters)
    else:
        translated = _translate_psycopg(error, statement, metadata)
    if isinstance(translated, DatabaseUnavailableError) and url:
        translated = DatabaseUnavailableError(f"{translated} (url: {url})")
    return translated


def install_error_translation(
    context: ExceptionContext, *, metadata: MetaData | None, masked_url: str
) -> None:
    """`handle_error` hook: raise the domain error in place of SQLAlchemy's wrapper."""
    original = context.original_exception
    if isinstance(original, InvalidValueError):
        raise original from None
    translated = translate(
        original,
        statement=context.statement,
        metadata=metadata,
        url=masked_url,
        parameters=context.parameters,
    )
    if translated is not None:
        raise translated from original
