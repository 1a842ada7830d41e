"""The pages of the lot ledger: positions beside the ledger's open lots, and a member's page.

Each page and its `/api/` twin are built from the same view objects, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from trading_automation.web import lot_queries, member_queries, views
from trading_automation.web.dashboard import Dashboard, json
from trading_automation.web.formatting import member_url
from trading_automation.web.ledger_views import (
    Ledger,
    LotTotals,
    LotView,
    ledger,
    lot_totals,
    lot_views,
)
from trading_automation.web.parameters import (
    DEFAULT_PAGE_SIZE,
    limit_param,
    page_url,
    present,
    text_param,
)
from trading_automation.web.queries import FilingListing

# -- positions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Positions:
    """/positions: the broker's positions with totals, and every symbol beside the ledger's."""

    broker: views.BrokerStatus
    portfolio: views.Portfolio | None
    ledger: Ledger


def positions_page(dashboard: Dashboard, request: Request) -> Response:
    """/positions."""
    data = positions(dashboard)
    return dashboard.render("positions.html", "positions", data.broker, data=data)


def positions_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/positions."""
    return json(positions(dashboard))


def positions(dashboard: Dashboard) -> Positions:
    """The broker's positions and the ledger's open lots, symbol by symbol."""
    snapshot = dashboard.broker.snapshot()
    with dashboard.database.transaction(readonly=True) as uow:
        lots = lot_queries.open_lots(uow)
        closes = lot_queries.closes_of(uow, lot_ids=[lot.trade_id for lot in lots])
    portfolio = views.portfolio(snapshot.positions)
    open_lots = [view for view, _sums in lot_views(lots, closes, dashboard.prices(snapshot))]
    return Positions(
        broker=dashboard.status(snapshot),
        portfolio=portfolio,
        ledger=ledger(portfolio.positions if portfolio else None, open_lots),
    )


# -- members ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """/members/{name}: who the member is, their filings, their lots and P&L."""

    broker: views.BrokerStatus
    member: member_queries.MemberSummary
    totals: LotTotals
    lots: list[LotView]
    filings: FilingListing
    filters: dict[str, str]


def member_page(dashboard: Dashboard, request: Request) -> Response:
    """/members/{name}."""
    data = member(dashboard, request)
    path = member_url(data.member.name)
    return dashboard.render(
        "member.html",
        "",
        data.broker,
        data=data,
        next_url=page_url(path, data.filters, data.filings.next_cursor),
        prev_url=page_url(path, data.filters, data.filings.prev_cursor),
        api_url=page_url("/api" + path, data.filters, None, always=True),
    )


def member_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/members/{name}."""
    return json(member(dashboard, request))


def member(dashboard: Dashboard, request: Request) -> Member:
    """A member's filings page, lots and totals; 404 when no stored filing names them."""
    name = str(request.path_params["name"])
    limit = limit_param(request.query_params)
    cursor = text_param(request.query_params, "cursor")
    with dashboard.database.transaction(readonly=True) as uow:
        summary = member_queries.member_summary(uow, name)
        if summary is None:
            raise HTTPException(404, f"no stored filing names a member {name!r}")
        filings = member_queries.member_filings(uow, name, limit=limit, cursor=cursor)
        lots = lot_queries.member_lots(uow, name)
        closes = lot_queries.closes_of(uow, lot_ids=[lot.trade_id for lot in lots])
    snapshot = dashboard.broker.snapshot()
    prices = dashboard.prices(snapshot)
    valued = lot_views(lots, closes, prices)
    return Member(
        broker=dashboard.status(snapshot),
        member=summary,
        totals=lot_totals(valued, priced=prices is not None),
        lots=[view for view, _sums in valued],
        filings=filings,
        filters=present(limit=str(limit) if limit != DEFAULT_PAGE_SIZE else None),
    )
