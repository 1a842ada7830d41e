"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL: the suite creates its own uniquely named databases on the server named by
TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and drops them at the
end. When no server answers, the run stops with instructions instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text

from trading_automation.config import Settings, load_settings
from trading_automation.db.base import Base
from trading_automation.db.database import Database
from trading_automation.db.migrate import alembic_config, upgrade

pytest_plugins = ("tests.sandbox_support", "tests.web_support", "tests.notify_support")

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
HOW_TO_PROVIDE_POSTGRES = (
    "the test suite needs a PostgreSQL server and could not reach {url} ({error}).\n"
    "Start the local one with:\n"
    "    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
    "or point the tests at another server (a role that may CREATE DATABASE):\n"
    "    TEST_DATABASE_URL=postgresql://user:password@host:5432/postgres make test"
)


def _clean_environment() -> None:
    # Settings come only from what each test passes: a developer's shell must not leak in.
    for name in Settings.model_fields:
        os.environ.pop(name.upper(), None)


def pytest_sessionstart(session: pytest.Session) -> None:
    _clean_environment()
    try:
        with psycopg.connect(_libpq_url(ADMIN_URL), connect_timeout=5):
            pass
    except psycopg.Error as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        pytest.exit(HOW_TO_PROVIDE_POSTGRES.format(url=ADMIN_URL, error=message), returncode=1)


def _libpq_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def _with_database(url: str, name: str) -> str:
    base, _, _ = _libpq_url(url).rpartition("/")
    return f"{base}/{name}"


class PostgresDatabases:
    """Creates uniquely named databases on the test server and drops them all at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self) -> str:
        name = f"ta_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_libpq_url(ADMIN_URL), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return _with_database(ADMIN_URL, name)

    def drop_all(self) -> None:
        with psycopg.connect(_libpq_url(ADMIN_URL), autocommit=True) as connection:
            for name in self.created:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture
def make_empty_url(postgres_databases: PostgresDatabases, tmp_path: Path) -> Callable[[str], str]:
    """A factory of brand-new empty databases: `make_empty_url("sqlite")` or `("postgresql")`."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return postgres_databases.create()

    return make


def make_settings(url: str, **overrides: Any) -> Settings:
    """Settings for a test: only what is passed here, never a `.env` file."""
    return load_settings(_env_file=None, database_url=url, **overrides)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: each database test runs once per backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_urls(
    postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], str]:
    """One database per backend, migrated to head on first use and shared by the session."""
    urls: dict[str, str] = {}

    def get(backend: str) -> str:
        if backend not in urls:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
            else:
                url = postgres_databases.create()
            upgrade(alembic_config(make_settings(url)))
            urls[backend] = url
        return urls[backend]

    return get


@pytest.fixture
def migrated_url(backend: str, migrated_urls: Callable[[str], str]) -> str:
    """The shared migrated database of the backend under test."""
    return migrated_urls(backend)


@contextmanager
def _open(url: str) -> Iterator[Database]:
    db = Database.from_settings(make_settings(url, db_busy_timeout_ms=2000))
    try:
        yield db
    finally:
        _empty(db)
        db.dispose()


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    """A `Database` on the backend under test, migrated, emptied after the test."""
    with _open(migrated_url) as db:
        yield db


@pytest.fixture
def postgres_database(migrated_urls: Callable[[str], str]) -> Iterator[Database]:
    """The migrated PostgreSQL database, for behaviour only PostgreSQL has."""
    with _open(migrated_urls("postgresql")) as db:
        yield db


def _empty(db: Database) -> None:
    with db.engine.begin() as connection:
        tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
        if db.dialect_name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
