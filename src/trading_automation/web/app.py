"""The dashboard application: routes, errors, and the middleware around them.

    app = create_app(settings)             # builds the database and the Alpaca client itself
    app = create_app(settings, database=db, broker_fetch=fetch)   # or is handed them (tests)

Every page has a JSON twin under /api/ built from the same view objects. Reads run in read-only
transactions; no route writes, and the middleware refuses every method but GET and HEAD.
"""

from __future__ import annotations

import contextlib
import time as time_module
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trading_automation.config import Settings
from trading_automation.db.database import Database
from trading_automation.db.errors import DatabaseError
from trading_automation.errors import ConfigurationError, InvalidValueError
from trading_automation.web import backtest_pages, ledger_pages, metrics, pages
from trading_automation.web.broker import AlpacaSource, BrokerCache, BrokerFetch
from trading_automation.web.dashboard import Dashboard
from trading_automation.web.overview_cache import AggregateCache
from trading_automation.web.security import BasicAuth, RateLimit, ReadOnlyMethods, SecurityHeaders

Handler = Callable[[Dashboard, Request], Response]

# Path → what answers it: every page and its JSON twin.
ROUTES: dict[str, Handler] = {
    "/overview": pages.overview_page,
    "/trades": pages.trades_page,
    "/positions": ledger_pages.positions_page,
    "/filings": pages.filings_page,
    "/jobs": pages.jobs_page,
    # A member's name may hold any character, a slash included (percent-encoded in links).
    "/members/{name:path}": ledger_pages.member_page,
    "/backtests": backtest_pages.backtests_page,
    "/backtests/{run_id}": backtest_pages.backtest_page,
    "/api/overview": pages.overview_api,
    "/api/trades": pages.trades_api,
    "/api/positions": ledger_pages.positions_api,
    "/api/filings": pages.filings_api,
    "/api/jobs": pages.jobs_api,
    "/api/members/{name:path}": ledger_pages.member_api,
    "/api/backtests": backtest_pages.backtests_api,
    "/api/backtests/{run_id}": backtest_pages.backtest_api,
    "/api/health": pages.health_api,
    # Prometheus's scrape target; behind basic auth like every page when it is configured.
    "/metrics": metrics.metrics,
}


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    broker_fetch: BrokerFetch | None = None,
    clock: Callable[[], float] = time_module.monotonic,
) -> Starlette:
    """The dashboard for `settings`; raises `ConfigurationError` when it must not start.

    A `database` or `broker_fetch` handed in stays the caller's to close; those built here are
    closed when the application shuts down. `clock` (seconds, monotonic) times the broker cache.
    """
    problems = settings.dashboard_problems()
    if problems:
        raise ConfigurationError(problems)
    owned: list[Callable[[], None]] = []
    if database is None:
        database = Database.from_settings(settings)
        owned.append(database.dispose)
    if broker_fetch is None:
        source = AlpacaSource(settings)
        owned.append(source.close)
        broker_fetch = source
    cache = BrokerCache(
        broker_fetch,
        ttl_s=settings.dashboard_cache_s,
        secrets=settings.secret_values(),
        clock=clock,
    )
    aggregates = AggregateCache(database)
    owned.append(aggregates.close)
    dashboard = Dashboard(settings, database, cache, aggregates)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for close in owned:
                close()

    get = ["GET"]
    routes = [
        Route("/", lambda _request: RedirectResponse("/overview", 303), methods=get),
        *(
            Route(path, _endpoint(dashboard, handler), methods=get)
            for path, handler in ROUTES.items()
        ),
        Mount(
            "/static",
            app=StaticFiles(packages=[("trading_automation.web", "static")]),
            name="static",
        ),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(ReadOnlyMethods)]
    auth = settings.dashboard_auth
    if auth is not None:
        middleware.append(Middleware(BasicAuth, username=auth[0], password=auth[1]))
    middleware.append(Middleware(RateLimit, per_minute=settings.dashboard_rate_limit_per_minute))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            InvalidValueError: dashboard.invalid_value,
            DatabaseError: dashboard.database_error,
            HTTPException: dashboard.http_error,
        },
        lifespan=lifespan,
    )
    app.state.dashboard = dashboard
    return app


def _endpoint(dashboard: Dashboard, handler: Handler) -> Callable[[Request], Response]:
    """`handler` as a Starlette endpoint (a plain function: run in the thread pool)."""

    def endpoint(request: Request) -> Response:
        return handler(dashboard, request)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
