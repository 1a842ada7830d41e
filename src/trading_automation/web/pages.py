"""The overview, trades, filings and jobs pages, their JSON twins, and the health check.

Each page and its `/api/` twin are built from the same view objects, so they never disagree.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from trading_automation import __version__
from trading_automation.db.errors import DatabaseError
from trading_automation.domain.timestamps import utcnow
from trading_automation.errors import InvalidValueError
from trading_automation.strategy_toml import describe
from trading_automation.web import charts, equity, metrics, queries, trade_listing, views
from trading_automation.web.dashboard import Dashboard, fields, json
from trading_automation.web.ledger_pnl import NO_FILING
from trading_automation.web.parameters import (
    DECISION_CHOICES,
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

# -- overview --------------------------------------------------------------------------------


def overview_page(dashboard: Dashboard, request: Request) -> Response:
    """/overview."""
    data = overview(dashboard)
    pnl_items = [
        (p.symbol, p.unrealized_pl)
        for p in (data.portfolio.positions if data.portfolio else [])
        if p.unrealized_pl is not None
    ]
    return dashboard.render(
        "overview.html",
        "overview",
        data.broker,
        data=data,
        no_filing=NO_FILING,
        pnl_chart=charts.pnl_by_position(pnl_items),
        day_chart=charts.orders_per_day([(d.day, d.trades) for d in data.per_day]),
        equity_chart=charts.equity_curve(
            [(p.day, p.equity, p.drawdown) for p in data.equity.points] if data.equity else [],
            [p.spy for p in data.equity.points] if data.equity else [],
        ),
    )


def overview_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/overview."""
    return json(overview(dashboard))


def overview(dashboard: Dashboard) -> views.Overview:
    """The overview's figures: the broker's, and the cached aggregates with their P&L."""
    snapshot = dashboard.broker.snapshot()
    with dashboard.database.transaction(readonly=True) as uow:
        aggregates = dashboard.aggregates.get(uow)
        latest = queries.latest_run(uow)
        curve = equity.equity_curve(uow)
        skips = uow.skips.counts_by_rule()
    activity = aggregates.activity
    return views.Overview(
        broker=dashboard.status(snapshot),
        account=views.account_view(snapshot.account),
        portfolio=views.portfolio(snapshot.positions),
        trades=views.trade_summary(activity),
        per_day=[views.DayCount(day, count) for day, count in activity.per_day.items()],
        newest_day=activity.newest_day,
        pnl=dashboard.pnl(aggregates, snapshot),
        latest_run=latest,
        equity=curve,
        strategy=_strategy_view(dashboard, skips, latest),
    )


def _strategy_view(
    dashboard: Dashboard, skips: dict[str, int], latest: queries.JobRunRecord | None
) -> views.StrategyView:
    """The strategy card: the dashboard's strategy file, and the one the latest run used."""
    loaded = dashboard.strategy
    used = (latest.summary or {}).get("strategy") if latest is not None else None
    used_sha = used.get("sha256") if isinstance(used, dict) else None
    return views.StrategyView(
        file=str(loaded.path) if loaded.path else None,
        sha256=loaded.sha256,
        lines=describe(loaded.strategy),
        skips_by_rule=skips,
        latest_run_sha256=used_sha if used_sha != loaded.sha256 else None,
    )


# -- trades ----------------------------------------------------------------------------------


def trades_page(dashboard: Dashboard, request: Request) -> Response:
    """/trades."""
    filters, listing, broker = _trades(dashboard, request)
    return dashboard.render(
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


def trades_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/trades."""
    filters, listing, broker = _trades(dashboard, request)
    return json({"broker": broker, "filters": filters, **fields(listing)})


def _trades(
    dashboard: Dashboard, request: Request
) -> tuple[dict[str, str], trade_listing.TradeListing, views.BrokerStatus]:
    params = request.query_params
    symbol = text_param(params, "symbol")
    status = status_param(params)
    start, end = date_param(params, "from"), date_param(params, "to")
    if start and end and start > end:
        raise InvalidValueError("from", "must not be after `to`")
    limit = limit_param(params)
    cursor = text_param(params, "cursor")
    with dashboard.database.transaction(readonly=True) as uow:
        listing = trade_listing.trade_listing(
            uow,
            symbol=symbol,
            status=status,
            created_from=start_of(start) if start else None,
            created_to=start_of(end + timedelta(days=1)) if end else None,
            limit=limit,
            cursor=cursor,
        )
    snapshot = dashboard.broker.snapshot()
    prices = dashboard.prices(snapshot)
    listing = replace(
        listing,
        trades=[trade_listing.priced_trade(record, prices) for record in listing.trades],
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
    return filters, listing, dashboard.status(snapshot)


# -- filings ---------------------------------------------------------------------------------


def filings_page(dashboard: Dashboard, request: Request) -> Response:
    """/filings."""
    filters, listing = _filings(dashboard, request)
    return dashboard.render(
        "filings.html",
        "filings",
        dashboard.last_known_status(),
        listing=listing,
        filters=filters,
        next_url=page_url("/filings", filters, listing.next_cursor),
        prev_url=page_url("/filings", filters, listing.prev_cursor),
        api_url=page_url("/api/filings", filters, None, always=True),
    )


def filings_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/filings."""
    filters, listing = _filings(dashboard, request)
    return json({"filters": filters, **fields(listing)})


def _filings(
    dashboard: Dashboard, request: Request
) -> tuple[dict[str, str], queries.FilingListing]:
    params = request.query_params
    ticker, member = text_param(params, "ticker"), text_param(params, "member")
    start, end = date_param(params, "from"), date_param(params, "to")
    malformed_text = (text_param(params, "malformed") or "any").lower()
    if malformed_text not in MALFORMED_CHOICES:
        raise InvalidValueError("malformed", "expected any, only or none")
    decision = (text_param(params, "decision") or "any").lower()
    if decision not in DECISION_CHOICES:
        raise InvalidValueError("decision", f"expected {', '.join(DECISION_CHOICES)}")
    limit = limit_param(params)
    with dashboard.database.transaction(readonly=True) as uow:
        listing = queries.filing_listing(
            uow,
            ticker=ticker,
            member=member,
            filed_from=start,
            filed_to=end,
            malformed=MALFORMED_CHOICES[malformed_text],
            limit=limit,
            cursor=text_param(params, "cursor"),
            decision=None if decision == "any" else decision,
        )
    filters = present(
        ticker=ticker.upper() if ticker else None,
        member=member,
        **{
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
        },
        malformed=malformed_text if malformed_text != "any" else None,
        decision=decision if decision != "any" else None,
        limit=str(limit) if limit != DEFAULT_PAGE_SIZE else None,
    )
    return filters, listing


# -- jobs and health -------------------------------------------------------------------------


def jobs_page(dashboard: Dashboard, request: Request) -> Response:
    """/jobs."""
    runs, marks = _jobs(dashboard)
    return dashboard.render(
        "jobs.html", "jobs", dashboard.last_known_status(), runs=runs, checkpoints=marks
    )


def jobs_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/jobs."""
    runs, marks = _jobs(dashboard)
    return json({"job_runs": runs, "checkpoints": marks})


def _jobs(
    dashboard: Dashboard,
) -> tuple[list[queries.JobRunRecord], list[queries.CheckpointRecord]]:
    with dashboard.database.transaction(readonly=True) as uow:
        return queries.job_runs(uow), queries.checkpoints(uow)


def health_api(dashboard: Dashboard, request: Request) -> Response:
    """/api/health: whether the database and the broker answer."""
    database: dict[str, Any] = {"ok": True, "backend": dashboard.database.dialect_name}
    last_success: dict[str, Any] | None = None
    try:
        with dashboard.database.transaction(readonly=True) as uow:
            queries.check_schema(uow)
            last_success = metrics.last_successes(uow, utcnow())
    except DatabaseError as error:
        database |= {"ok": False, "error": str(error)}
    broker = dashboard.status(dashboard.broker.snapshot())
    status = "ok" if database["ok"] and broker.ok else "degraded" if database["ok"] else "down"
    body = {
        "status": status,
        "version": __version__,
        "database": database,
        "broker": broker,
        "last_success": last_success,
    }
    return json(body, status_code=200 if database["ok"] else 503)
