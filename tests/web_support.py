"""Fixtures for dashboard tests: the app served for real by uvicorn on 127.0.0.1, the sandbox as
its broker, and databases seeded by the project's own seed or by a real open-job run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from trading_automation.config import Settings
from trading_automation.db.database import Database
from trading_automation.db.seed import seed
from trading_automation.demo import LATER_PRICES
from trading_automation.sandbox import OrderScript, Sandbox
from trading_automation.web.app import create_app
from trading_automation.web.broker import BrokerFetch
from trading_automation.web.server import BackgroundServer
from trading_automation.worker.open_job import OpenJob, OpenJobOptions


@dataclass
class Served:
    """A running dashboard: its base URL, an HTTP client for it, and what it was built from."""

    url: str
    client: httpx.Client
    settings: Settings
    database: Database
    sandbox: Sandbox

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.client.get(path, **options)

    def json(self, path: str) -> Any:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def web_sandbox() -> Iterator[Sandbox]:
    """A sandbox whose orders fill on the first poll, like the demo's."""
    with Sandbox(script=OrderScript(fill_after_polls=1)) as running:
        yield running


@pytest.fixture
def serve_dashboard(
    database: Database, web_sandbox: Sandbox, migrated_url: str
) -> Callable[..., Any]:
    """`with serve_dashboard(**settings) as served:` the dashboard on the test database.

    `clock=` times the broker cache (a `FakeClock` to expire it at will); `broker_fetch=` stands
    in for Alpaca.
    """

    @contextmanager
    def serve(
        *,
        clock: Callable[[], float] | None = None,
        broker_fetch: BrokerFetch | None = None,
        **overrides: Any,
    ) -> Iterator[Served]:
        options = {"http_retry_backoff_s": 0.01} | overrides
        settings = web_sandbox.settings(database_url=migrated_url, **options)
        extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
        app = create_app(settings, database=database, broker_fetch=broker_fetch, **extra)
        with (
            BackgroundServer(app) as server,
            httpx.Client(base_url=server.url, timeout=20) as client,
        ):
            yield Served(server.url, client, settings, database, web_sandbox)

    return serve


@pytest.fixture
def seeded(database: Database) -> Database:
    """The database with the fixture week as three open-job runs would leave it (db.seed)."""
    with database.transaction() as uow:
        seed(uow)
    return database


@pytest.fixture
def traded(database: Database, web_sandbox: Sandbox, migrated_url: str) -> Database:
    """The database after a real open-job run against the sandbox, whose prices then move."""
    settings = web_sandbox.settings(database_url=migrated_url, log_level="WARNING")
    with web_sandbox.alpaca_client() as alpaca, web_sandbox.quiver_client() as quiver:
        result = OpenJob(settings=settings, database=database, alpaca=alpaca, quiver=quiver).run(
            OpenJobOptions(poll_budget_s=15, poll_first_delay_s=0.01)
        )
    assert result.exit_code == 0, result.lines
    web_sandbox.broker.set_prices(LATER_PRICES)
    return database
