"""The Backtests pages: the stored runs, newest first, and one run with its equity curve against
the benchmark, its metrics and its attribution.

Each page and its `/api/` twin are built from the same view objects (`backtest_views`), so they
never disagree. A run id that is not a UUID is a 400 naming the parameter; one no run has, a 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from trading_automation.errors import InvalidValueError
from trading_automation.web import charts
from trading_automation.web.backtest_views import (
    BacktestRow,
    BacktestView,
    backtest_row,
    backtest_view,
    chart_series,
)
from trading_automation.web.dashboard import Dashboard, json
from trading_automation.web.parameters import DEFAULT_PAGE_SIZE, limit_param, page_url, present


@dataclass(frozen=True)
class Backtests:
    """/backtests: the newest runs stored, newest first."""

    runs: list[BacktestRow]
    filters: dict[str, str]


def backtests_page(dashboard: Dashboard, request: Request) -> Response:
    """/backtests."""
    data = backtests(dashboard, request)
    return dashboard.render(
        "backtests.html",
        "backtests",
        dashboard.last_known_status(),
        data=data,
        api_url=page_url("/api/backtests", data.filters, None, always=True),
    )


def backtests_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/backtests."""
    return json(backtests(dashboard, request))


def backtests(dashboard: Dashboard, request: Request) -> Backtests:
    """The newest `limit` runs (50 unless asked)."""
    limit = limit_param(request.query_params)
    with dashboard.database.transaction(readonly=True) as uow:
        runs = uow.backtests.listing(limit=limit)
    return Backtests(
        runs=[backtest_row(run) for run in runs],
        filters=present(limit=str(limit) if limit != DEFAULT_PAGE_SIZE else None),
    )


def backtest_page(dashboard: Dashboard, request: Request) -> Response:
    """/backtests/{run_id}."""
    data = backtest(dashboard, request)
    points, benchmark = chart_series(data.curve)
    return dashboard.render(
        "backtest.html",
        "backtests",
        dashboard.last_known_status(),
        data=data,
        equity_chart=charts.equity_curve(points, benchmark, data.benchmark),
    )


def backtest_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/backtests/{run_id}."""
    return json(backtest(dashboard, request))


def backtest(dashboard: Dashboard, request: Request) -> BacktestView:
    """One stored run; 400 for an id that is not a UUID, 404 when no run has it."""
    run_id = _run_id(str(request.path_params["run_id"]))
    with dashboard.database.transaction(readonly=True) as uow:
        run = uow.backtests.get(run_id)
    if run is None:
        raise HTTPException(404, f"no backtest run has the id {run_id}")
    return backtest_view(run)


def _run_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidValueError(
            "id", f"expected a backtest run's id (a UUID), got {text[:80]!r}"
        ) from None
