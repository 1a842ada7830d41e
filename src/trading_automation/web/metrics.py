"""`/metrics`: the system's state in Prometheus's text format, read from the database.

Everything is computed on each scrape from what the database holds (runs, trades, lots,
snapshots, alerts, the stored run summaries), so any dashboard process answers the same and a
restart loses nothing. The route sits behind the dashboard's basic auth like every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from trading_automation.db.database import Database, UnitOfWork
from trading_automation.db.models import Trade
from trading_automation.db.run_models import ApiRequest, JobRun, JobRunAttempt
from trading_automation.domain.enums import JobStatus, JobType, OrderSide
from trading_automation.web.dashboard import Dashboard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "trading_automation"
# A run's stored errors name the service they came from (`quiver 2024-06-20: ...`,
# `alpaca GET /v2/orders: ...`, `alpaca-data ...`).
_SERVICE = re.compile(r"\b(quiver|alpaca)\b", re.IGNORECASE)


@dataclass
class Facts:
    """What the metrics report, read in one read-only transaction."""

    last_runs: dict[str, JobRun] = field(default_factory=dict)
    last_success: dict[str, datetime] = field(default_factory=dict)
    orders: list[tuple[str, str, int]] = field(default_factory=list)
    open_lots: int = 0
    equity: tuple[float, datetime] | None = None
    alerts: tuple[int, int, int] = (0, 0, 0)
    api_errors: dict[str, int] = field(default_factory=dict)
    quiver_429: int = 0


def job_name(job_type: JobType) -> str:
    """`open_job`, `close_job`: a job type as a label value."""
    return job_type.value.lower()


def read_facts(uow: UnitOfWork) -> Facts:
    """Every figure of `/metrics` (a handful of aggregate queries)."""
    facts = Facts()
    session = uow.session
    for job_type in JobType:
        run = session.scalars(
            select(JobRun)
            .where(JobRun.type == job_type)
            .order_by(JobRun.trading_date_et.desc())
            .limit(1)
        ).one_or_none()
        if run is not None:
            facts.last_runs[job_name(job_type)] = run
        success = session.scalar(
            select(func.max(JobRun.finished_at)).where(
                JobRun.type == job_type, JobRun.status == JobStatus.SUCCESS
            )
        )
        if success is not None:
            facts.last_success[job_name(job_type)] = success
    facts.orders = [
        (OrderSide(side).value, str(status), int(count))
        for side, status, count in session.execute(
            select(Trade.side, Trade.status, func.count()).group_by(Trade.side, Trade.status)
        )
    ]
    facts.open_lots = int(
        session.scalar(
            select(func.count())
            .select_from(Trade)
            .where(Trade.side == OrderSide.BUY, Trade.filled_qty > Trade.closed_qty)
        )
        or 0
    )
    latest = uow.snapshots.latest()
    if latest is not None:
        facts.equity = (float(latest.equity), latest.taken_at)
    counts = uow.alerts.counts()
    facts.alerts = (counts.sent, counts.failed_deliveries, counts.repeats)
    errors = {"quiver": 0, "alpaca": 0}
    for summary in session.scalars(select(JobRunAttempt.summary_json)):
        for error in (summary or {}).get("errors") or [] if isinstance(summary, dict) else []:
            match = _SERVICE.search(str(error))
            if match:
                errors[match.group(1).lower()] += 1
    facts.api_errors = errors
    facts.quiver_429 = int(
        session.scalar(
            select(func.count()).select_from(ApiRequest).where(ApiRequest.status_code == 429)
        )
        or 0
    )
    return facts


class FactsCollector(Collector):
    """Turns `Facts` into metric families."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def collect(self) -> Iterator[Metric]:
        """Yield every metric."""
        facts = self.facts
        when = GaugeMetricFamily(
            f"{PREFIX}_job_last_run_timestamp_seconds",
            "When the latest run of each job finished (or started, while it runs), Unix time.",
            labels=["job"],
        )
        status = GaugeMetricFamily(
            f"{PREFIX}_job_last_run_status",
            "The latest run's status of each job: 1 for its status, 0 for the others.",
            labels=["job", "status"],
        )
        day = GaugeMetricFamily(
            f"{PREFIX}_job_last_run_trading_date",
            "The trading day of each job's latest run, as YYYYMMDD.",
            labels=["job"],
        )
        for job, run in facts.last_runs.items():
            moment = run.finished_at or run.started_at or run.created_at
            when.add_metric([job], moment.timestamp())
            day.add_metric([job], float(run.trading_date_et.strftime("%Y%m%d")))
            for value in JobStatus:
                status.add_metric([job, value.value], 1.0 if run.status is value else 0.0)
        success = GaugeMetricFamily(
            f"{PREFIX}_job_last_success_timestamp_seconds",
            "When each job last finished successfully, Unix time.",
            labels=["job"],
        )
        for job, moment in facts.last_success.items():
            success.add_metric([job], moment.timestamp())
        yield from (when, status, day, success)
        orders = GaugeMetricFamily(
            f"{PREFIX}_orders", "Trades by side and status.", labels=["side", "status"]
        )
        for side, trade_status, count in facts.orders:
            orders.add_metric([side, trade_status], float(count))
        yield orders
        yield GaugeMetricFamily(
            f"{PREFIX}_open_lots", "Filled buys not entirely closed.", value=facts.open_lots
        )
        if facts.equity is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_equity_dollars",
                "Account equity at the latest close-job snapshot.",
                value=facts.equity[0],
            )
            yield GaugeMetricFamily(
                f"{PREFIX}_equity_snapshot_timestamp_seconds",
                "When the latest snapshot was taken, Unix time.",
                value=facts.equity[1].timestamp(),
            )
        sent, failed, repeats = facts.alerts
        yield CounterMetricFamily(
            f"{PREFIX}_alerts_sent", "Alerts that reached at least one URL.", value=sent
        )
        yield CounterMetricFamily(
            f"{PREFIX}_alert_delivery_failures",
            "Deliveries of alerts to a URL that failed or timed out.",
            value=failed,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_alert_repeats",
            "Repeats of an alerted problem, not sent again.",
            value=repeats,
        )
        api = CounterMetricFamily(
            f"{PREFIX}_api_errors",
            "Errors from Quiver and Alpaca in the stored summaries of every run attempt.",
            labels=["service"],
        )
        for service, count in sorted(facts.api_errors.items()):
            api.add_metric([service], float(count))
        yield api
        yield CounterMetricFamily(
            f"{PREFIX}_quiver_rate_limited",
            "Quiver bulk requests answered 429.",
            value=facts.quiver_429,
        )


def render(database: Database) -> bytes:
    """The metrics as Prometheus's text format."""
    with database.transaction(readonly=True) as uow:
        facts = read_facts(uow)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FactsCollector(facts))
    return generate_latest(registry)


def metrics(dashboard: Dashboard, request: Request) -> Response:
    """/metrics."""
    return Response(render(dashboard.database), media_type=CONTENT_TYPE)


def last_successes(uow: UnitOfWork, now: datetime) -> dict[str, Any]:
    """Per job, when it last succeeded and how long ago (seconds); None when it never did."""
    found: dict[str, Any] = {}
    for job_type in JobType:
        moment = uow.session.scalar(
            select(func.max(JobRun.finished_at)).where(
                JobRun.type == job_type, JobRun.status == JobStatus.SUCCESS
            )
        )
        found[job_name(job_type)] = (
            None
            if moment is None
            else {"finished_at": moment, "age_s": round((now - moment).total_seconds(), 3)}
        )
    return found
