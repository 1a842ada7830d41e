"""The pages of the lot ledger: positions beside the ledger's open lots.

Each page and its `/api/` twin are built from the same view objects, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from trading_automation.web import lot_queries, views
from trading_automation.web.dashboard import Dashboard, json
from trading_automation.web.ledger_views import Ledger, ledger, lot_views

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
