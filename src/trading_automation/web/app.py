"""The dashboard application: routes, parameters, errors, and the middleware around them.

    app = create_app(settings)             # builds the database and the Alpaca client itself
    app = create_app(settings, database=db, broker_fetch=fetch)   # or is handed them (tests)

Every page has a JSON twin under /api/ built from the same view objects. Reads run in read-only
transactions; no route writes, and the middleware refuses every method but GET and HEAD.
"""

from __future__ import annotations

import contextlib
import time as time_module
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trading_automation import __version__
from trading_automation.config import Settings
from trading_automation.db.database import Database
from trading_automation.db.errors import DatabaseError
from trading_automation.errors import ConfigurationError, InvalidValueError
from trading_automation.web import charts, queries, views
from trading_automation.web.broker import AlpacaSource, BrokerCache, BrokerFetch, BrokerSnapshot
from trading_automation.web.formatting import FILTERS
from trading_automation.web.jsonout import ExactJSONResponse, document_text, jsonable
from trading_automation.web.overview_cache import AggregateCache
from trading_automation.web.parameters import (
    DEFAULT_PAGE_SIZE,
    MALFORMED_CHOICES,
    STATUS_ORDER,
    date_param,
    limit_param,
    page_url,
    present,
    start_of,
    status_param,
    text_param,
)
from trading_automation.web.read_models import Aggregates
from trading_automation.web.security import (
    API_PREFIX,
    BasicAuth,
    RateLimit,
    ReadOnlyMethods,
    SecurityHeaders,
)

log = structlog.get_logger(__name__)

PAGES = ("overview", "trades", "positions", "filings", "jobs")


class Dashboard:
    """The routes' shared state: database, broker cache, aggregates cache, templates."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        broker: BrokerCache,
        aggregates: AggregateCache,
    ) -> None:
        self.settings = settings
        self.database = database
        self.broker = broker
        self.aggregates = aggregates
        self._pnl: tuple[Aggregates, BrokerSnapshot, views.FilingPnl | None] | None = None
        self.templates = _environment()

    # -- pages -------------------------------------------------------------------------------

    def overview_page(self, request: Request) -> Response:
        """/overview."""
        data = self._overview()
        pnl_items = [
            (p.symbol, p.unrealized_pl)
            for p in (data.portfolio.positions if data.portfolio else [])
            if p.unrealized_pl is not None
        ]
        return self._render(
            "overview.html",
            "overview",
            data.broker,
            data=data,
            pnl_chart=charts.pnl_by_position(pnl_items),
            day_chart=charts.orders_per_day([(d.day, d.trades) for d in data.per_day]),
        )

    def trades_page(self, request: Request) -> Response:
        """/trades."""
        filters, listing, broker = self._trades(request)
        return self._render(
            "trades.html",
            "trades",
            broker,
            listing=listing,
            filters=filters,
            statuses=STATUS_ORDER,
            next_url=page_url("/trades", filters, listing.next_cursor),
            prev_url=page_url("/trades", filters, listing.prev_cursor),
            api_url=page_url("/api/trades", filters, None, always=True),
        )

    def positions_page(self, request: Request) -> Response:
        """/positions."""
        snapshot = self.broker.snapshot()
        return self._render(
            "positions.html",
            "positions",
            self._status(snapshot),
            portfolio=views.portfolio(snapshot.positions),
        )

    def filings_page(self, request: Request) -> Response:
        """/filings."""
        filters, listing = self._filings(request)
        return self._render(
            "filings.html",
            "filings",
            self._last_known_status(),
            listing=listing,
            filters=filters,
            next_url=page_url("/filings", filters, listing.next_cursor),
            prev_url=page_url("/filings", filters, listing.prev_cursor),
            api_url=page_url("/api/filings", filters, None, always=True),
        )

    def jobs_page(self, request: Request) -> Response:
        """/jobs."""
        runs, marks = self._jobs()
        return self._render(
            "jobs.html", "jobs", self._last_known_status(), runs=runs, checkpoints=marks
        )

    # -- JSON --------------------------------------------------------------------------------

    def overview_api(self, request: Request) -> Response:
        """/api/overview."""
        return _json(self._overview())

    def trades_api(self, request: Request) -> Response:
        """/api/trades."""
        filters, listing, broker = self._trades(request)
        return _json({"broker": broker, "filters": filters, **_fields(listing)})

    def positions_api(self, request: Request) -> Response:
        """/api/positions."""
        snapshot = self.broker.snapshot()
        return _json(
            {"broker": self._status(snapshot), "portfolio": views.portfolio(snapshot.positions)}
        )

    def filings_api(self, request: Request) -> Response:
        """/api/filings."""
        filters, listing = self._filings(request)
        return _json({"filters": filters, **_fields(listing)})

    def jobs_api(self, request: Request) -> Response:
        """/api/jobs."""
        runs, marks = self._jobs()
        return _json({"job_runs": runs, "checkpoints": marks})

    def health_api(self, request: Request) -> Response:
        """/api/health: whether the database and the broker answer."""
        database: dict[str, Any] = {"ok": True, "backend": self.database.dialect_name}
        try:
            with self.database.transaction(readonly=True) as uow:
                queries.check_schema(uow)
        except DatabaseError as error:
            database |= {"ok": False, "error": str(error)}
        broker = self._status(self.broker.snapshot())
        status = "ok" if database["ok"] and broker.ok else "degraded" if database["ok"] else "down"
        body = {"status": status, "version": __version__, "database": database, "broker": broker}
        return _json(body, status_code=200 if database["ok"] else 503)

    # -- data --------------------------------------------------------------------------------

    def _overview(self) -> views.Overview:
        snapshot = self.broker.snapshot()
        with self.database.transaction(readonly=True) as uow:
            aggregates = self.aggregates.get(uow)
            latest = queries.latest_run(uow)
        activity = aggregates.activity
        # Both inputs are cached: the P&L is worked out again only when one of them is new.
        known = self._pnl
        if known is not None and known[0] is aggregates and known[1] is snapshot:
            pnl = known[2]
        else:
            prices = snapshot.current_prices() if snapshot.ok else None
            pnl = views.filing_pnl(aggregates.fill_groups, prices)
            self._pnl = (aggregates, snapshot, pnl)
        return views.Overview(
            broker=self._status(snapshot),
            account=views.account_view(snapshot.account),
            portfolio=views.portfolio(snapshot.positions),
            trades=views.trade_summary(activity),
            per_day=[views.DayCount(day, count) for day, count in activity.per_day.items()],
            newest_day=activity.newest_day,
            pnl=pnl,
            latest_run=latest,
        )

    def _trades(
        self, request: Request
    ) -> tuple[dict[str, str], queries.TradeListing, views.BrokerStatus]:
        params = request.query_params
        symbol = text_param(params, "symbol")
        status = status_param(params)
        start, end = date_param(params, "from"), date_param(params, "to")
        if start and end and start > end:
            raise InvalidValueError("from", "must not be after `to`")
        limit = limit_param(params)
        cursor = text_param(params, "cursor")
        with self.database.transaction(readonly=True) as uow:
            listing = queries.trade_listing(
                uow,
                symbol=symbol,
                status=status,
                created_from=start_of(start) if start else None,
                created_to=start_of(end + timedelta(days=1)) if end else None,
                limit=limit,
                cursor=cursor,
            )
        snapshot = self.broker.snapshot()
        prices = snapshot.current_prices() if snapshot.ok else None
        listing = replace(
            listing, trades=[views.priced_trade(record, prices) for record in listing.trades]
        )
        filters = present(
            symbol=symbol.upper() if symbol else None,
            status=status.value if status else None,
            **{
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
            },
            limit=str(limit) if limit != DEFAULT_PAGE_SIZE else None,
        )
        return filters, listing, self._status(snapshot)

    def _filings(self, request: Request) -> tuple[dict[str, str], queries.FilingListing]:
        params = request.query_params
        ticker, member = text_param(params, "ticker"), text_param(params, "member")
        start, end = date_param(params, "from"), date_param(params, "to")
        malformed_text = (text_param(params, "malformed") or "any").lower()
        if malformed_text not in MALFORMED_CHOICES:
            raise InvalidValueError("malformed", "expected any, only or none")
        limit = limit_param(params)
        with self.database.transaction(readonly=True) as uow:
            listing = queries.filing_listing(
                uow,
                ticker=ticker,
                member=member,
                filed_from=start,
                filed_to=end,
                malformed=MALFORMED_CHOICES[malformed_text],
                limit=limit,
                cursor=text_param(params, "cursor"),
            )
        filters = present(
            ticker=ticker.upper() if ticker else None,
            member=member,
            **{
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
            },
            malformed=malformed_text if malformed_text != "any" else None,
            limit=str(limit) if limit != DEFAULT_PAGE_SIZE else None,
        )
        return filters, listing

    def _jobs(self) -> tuple[list[queries.JobRunRecord], list[queries.CheckpointRecord]]:
        with self.database.transaction(readonly=True) as uow:
            return queries.job_runs(uow), queries.checkpoints(uow)

    def _status(self, snapshot: BrokerSnapshot) -> views.BrokerStatus:
        return views.broker_status(snapshot, self.broker.ttl_s)

    def _last_known_status(self) -> views.BrokerStatus | None:
        # Pages that need nothing from Alpaca still show an outage already known, without
        # calling Alpaca to find out.
        snapshot = self.broker.peek()
        return self._status(snapshot) if snapshot is not None else None

    def _render(
        self,
        template: str,
        active: str,
        broker: views.BrokerStatus | None,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            active=active, pages=PAGES, broker=broker, version=__version__, **context
        )
        return HTMLResponse(html, status_code=status_code)

    # -- errors ------------------------------------------------------------------------------

    async def invalid_value(self, request: Request, exc: Exception) -> Response:
        """400 for a bad parameter or cursor: say which and why."""
        assert isinstance(exc, InvalidValueError)
        return self._error(request, 400, str(exc), field=exc.field)

    async def database_error(self, request: Request, exc: Exception) -> Response:
        """503 when the database cannot answer."""
        log.error("dashboard_database_error", error=str(exc), path=request.url.path)
        return self._error(request, 503, f"the database could not answer: {exc}")

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """404 and friends, as a page or as JSON."""
        assert isinstance(exc, HTTPException)
        return self._error(request, exc.status_code, str(exc.detail), headers=exc.headers)

    def _error(
        self,
        request: Request,
        status_code: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if request.url.path.startswith(API_PREFIX):
            body: dict[str, Any] = {"error": message}
            if field:
                body["field"] = field
            return ExactJSONResponse(body, status_code=status_code, headers=headers)
        response = self._render(
            "error.html", "", None, status_code=status_code, message=message, code=status_code
        )
        if headers:
            response.headers.update(headers)
        return response


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
        Route("/overview", dashboard.overview_page, methods=get),
        Route("/trades", dashboard.trades_page, methods=get),
        Route("/positions", dashboard.positions_page, methods=get),
        Route("/filings", dashboard.filings_page, methods=get),
        Route("/jobs", dashboard.jobs_page, methods=get),
        Route("/api/overview", dashboard.overview_api, methods=get),
        Route("/api/trades", dashboard.trades_api, methods=get),
        Route("/api/positions", dashboard.positions_api, methods=get),
        Route("/api/filings", dashboard.filings_api, methods=get),
        Route("/api/jobs", dashboard.jobs_api, methods=get),
        Route("/api/health", dashboard.health_api, methods=get),
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


# -- rendering -------------------------------------------------------------------------------


def _fields(listing: Any) -> dict[str, Any]:
    return {name: getattr(listing, name) for name in listing.__dataclass_fields__}


def _json(body: Any, *, status_code: int = 200) -> ExactJSONResponse:
    return ExactJSONResponse(jsonable(body), status_code=status_code)


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("trading_automation.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS, document=document_text)
    return environment
