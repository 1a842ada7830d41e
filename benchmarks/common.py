"""What every benchmark shares: timing, scratch databases, and the shape of a result."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from trading_automation.config import Settings, load_settings
from trading_automation.db import Database
from trading_automation.db.migrate import alembic_config, upgrade

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Figure:
    """One measured figure, its baseline, and whether its target holds."""

    id: str
    what: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_what: str = ""
    ratio: float | None = None
    target: str = ""
    holds: bool | None = None
    notes: list[str] = field(default_factory=list)


def median_time(
    action: Callable[[], Any], *, repeat: int, setup: Callable[[], Any] | None = None
) -> tuple[float, list[float]]:
    """Median seconds of `action` over `repeat` runs (each after `setup`, untimed)."""
    samples = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), samples


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank)."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def libpq(url: str) -> str:
    """A URL psycopg accepts (no SQLAlchemy driver suffix)."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database on the benchmark server, dropped afterwards."""
    name = f"ta_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = libpq(ADMIN_URL).rpartition("/")[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def scratch_sqlite(directory: Path) -> Iterator[str]:
    """A new SQLite file in `directory`."""
    path = directory / f"bench-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def settings_for(url: str, **overrides: Any) -> Settings:
    """Benchmark settings: only what is passed here, no `.env`."""
    return load_settings(_env_file=None, database_url=url, **overrides)


def migrated(url: str, **overrides: Any) -> Database:
    """The database at `url`, migrated to head."""
    settings = settings_for(url, **overrides)
    upgrade(alembic_config(settings))
    return Database.from_settings(settings)
