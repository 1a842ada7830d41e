"""The state every route shares, and how a route answers: a page, JSON, or an error.

Routes (`pages`, `ledger_pages`, `backtest_pages`) are plain functions of the `Dashboard` and the
request; they read in read-only transactions and hand their view objects to `render` (HTML) or
`json` (the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from trading_automation import __version__
from trading_automation.config import Settings
from trading_automation.db.database import Database
from trading_automation.errors import InvalidValueError
from trading_automation.strategy_file import LoadedStrategy, load_strategy
from trading_automation.web import views
from trading_automation.web.broker import BrokerCache, BrokerSnapshot
from trading_automation.web.formatting import FILTERS
from trading_automation.web.jsonout import ExactJSONResponse, document_text, jsonable
from trading_automation.web.ledger_pnl import LedgerPnl, ledger_pnl
from trading_automation.web.overview_cache import AggregateCache
from trading_automation.web.read_models import Aggregates
from trading_automation.web.security import API_PREFIX

log = structlog.get_logger(__name__)

PAGES = ("overview", "trades", "positions", "filings", "jobs", "backtests")


class Dashboard:
    """The routes' shared state: database, broker cache, aggregates cache, templates."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        broker: BrokerCache,
        aggregates: AggregateCache,
        strategy: LoadedStrategy | None = None,
    ) -> None:
        self.settings = settings
        self.strategy = strategy or load_strategy(settings)
        self.database = database
        self.broker = broker
        self.aggregates = aggregates
        self._pnl: tuple[Aggregates, BrokerSnapshot, LedgerPnl] | None = None
        self.templates = _environment()

    def prices(self, snapshot: BrokerSnapshot) -> dict[str, Decimal] | None:
        """Current prices by symbol; None when the broker did not answer."""
        return snapshot.current_prices() if snapshot.ok else None

    def pnl(self, aggregates: Aggregates, snapshot: BrokerSnapshot) -> LedgerPnl:
        """The overview's P&L, worked out again only when the aggregates or the prices are new."""
        known = self._pnl
        if known is not None and known[0] is aggregates and known[1] is snapshot:
            return known[2]
        pnl = ledger_pnl(aggregates.lot_groups, self.prices(snapshot))
        self._pnl = (aggregates, snapshot, pnl)
        return pnl

    def status(self, snapshot: BrokerSnapshot) -> views.BrokerStatus:
        """The banner's facts about `snapshot`."""
        return views.broker_status(snapshot, self.broker.ttl_s)

    def last_known_status(self) -> views.BrokerStatus | None:
        """The broker's last known status, without asking it (None before the first answer)."""
        # Pages that need nothing from Alpaca still show an outage already known, without
        # calling Alpaca to find out.
        snapshot = self.broker.peek()
        return self.status(snapshot) if snapshot is not None else None

    def render(
        self,
        template: str,
        active: str,
        broker: views.BrokerStatus | None,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A page from `template`, with the navigation and the broker banner."""
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
        response = self.render(
            "error.html", "", None, status_code=status_code, message=message, code=status_code
        )
        if headers:
            response.headers.update(headers)
        return response


def json(body: Any, *, status_code: int = 200) -> ExactJSONResponse:
    """`body` (view objects) as the API's JSON."""
    return ExactJSONResponse(jsonable(body), status_code=status_code)


def fields(listing: Any) -> dict[str, Any]:
    """A dataclass's fields by name, to spread into a JSON body."""
    return {name: getattr(listing, name) for name in listing.__dataclass_fields__}


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
