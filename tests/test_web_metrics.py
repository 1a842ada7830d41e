"""`/metrics` parsed back with Prometheus's own parser, and `/api/health`'s last successes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from trading_automation.db import AlertLevel, Database, JobType
from trading_automation.sandbox import Fault

T0 = datetime(2024, 6, 20, 20, 30, tzinfo=UTC)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_report_runs_orders_lots_equity_alerts_and_api_errors(
    traded: Database, serve_dashboard: Callable[..., Any]
) -> None:
    with traded.transaction() as uow:
        uow.snapshots.upsert(
            date(2024, 6, 20),
            taken_at=T0,
            equity=Decimal("100123.45"),
            cash=Decimal("90000"),
            long_market_value=Decimal("10123.45"),
            day_pl=None,
            realized_pl=Decimal(0),
            positions=[],
            now=T0,
        )
        claim = uow.alerts.record(
            "x", date(2024, 6, 20), kind="x", level=AlertLevel.ERROR, title="t", message="m", now=T0
        )
        uow.alerts.record_delivery(claim.id, delivered=1, failed=2)
        uow.job_runs.record_finished(
            JobType.CLOSE_JOB,
            date(2024, 6, 19),
            status="FAILED",  # type: ignore[arg-type]
            owner="host:1:a",
            started_at=T0,
            finished_at=T0,
            summary={"errors": ["alpaca GET /v2/account: service error", "quiver 2024-06-19: x"]},
        )
    with serve_dashboard() as served:
        response = served.get("/metrics")

    samples = _samples(response.text)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert (
        samples[
            ("trading_automation_job_last_run_status", (("job", "open_job"), ("status", "SUCCESS")))
        ]
        == 1
    )
    assert (
        samples[
            ("trading_automation_job_last_run_status", (("job", "open_job"), ("status", "FAILED")))
        ]
        == 0
    )
    assert (
        samples[
            ("trading_automation_job_last_run_status", (("job", "close_job"), ("status", "FAILED")))
        ]
        == 1
    )
    assert (
        samples[("trading_automation_job_last_run_trading_date", (("job", "open_job"),))]
        == 20240620
    )
    assert (
        "trading_automation_job_last_success_timestamp_seconds",
        (("job", "open_job"),),
    ) in samples
    assert (
        "trading_automation_job_last_success_timestamp_seconds",
        (("job", "close_job"),),
    ) not in samples
    assert samples[("trading_automation_orders", (("side", "BUY"), ("status", "FILLED")))] == 11
    assert samples[("trading_automation_orders", (("side", "BUY"), ("status", "SKIPPED")))] == 1
    assert samples[("trading_automation_open_lots", ())] == 11
    assert samples[("trading_automation_equity_dollars", ())] == 100123.45
    assert samples[("trading_automation_equity_snapshot_timestamp_seconds", ())] == T0.timestamp()
    assert samples[("trading_automation_alerts_sent_total", ())] == 1
    assert samples[("trading_automation_alert_delivery_failures_total", ())] == 2
    assert samples[("trading_automation_api_errors_total", (("service", "alpaca"),))] == 1
    assert samples[("trading_automation_api_errors_total", (("service", "quiver"),))] == 1
    assert samples[("trading_automation_quiver_rate_limited_total", ())] == 0


def test_metrics_of_an_empty_database_parse_and_say_nothing_ran(
    serve_dashboard: Callable[..., Any],
) -> None:
    with serve_dashboard() as served:
        samples = _samples(served.get("/metrics").text)

    assert samples[("trading_automation_open_lots", ())] == 0
    assert samples[("trading_automation_alerts_sent_total", ())] == 0
    assert not any(name == "trading_automation_job_last_run_status" for name, _ in samples)
    assert ("trading_automation_equity_dollars", ()) not in samples


def test_metrics_need_the_password_when_the_dashboard_has_one(
    serve_dashboard: Callable[..., Any],
) -> None:
    with serve_dashboard(dashboard_username="ops", dashboard_password="correct horse") as served:
        refused = served.get("/metrics")
        allowed = served.get("/metrics", auth=("ops", "correct horse"))

    assert refused.status_code == 401
    assert allowed.status_code == 200
    assert "trading_automation_open_lots" in allowed.text


def test_health_reports_each_jobs_last_success_and_its_age(
    traded: Database, serve_dashboard: Callable[..., Any]
) -> None:
    with traded.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.OPEN_JOB, date(2024, 6, 20))
    assert run is not None
    assert run.finished_at is not None
    with serve_dashboard() as served:
        served.sandbox.alpaca.faults.add(Fault.http_status(503, times=None))
        health = served.json("/api/health")

    opened = health["last_success"]["open_job"]
    assert datetime.fromisoformat(opened["finished_at"]) == run.finished_at
    assert opened["age_s"] > 0
    assert health["last_success"]["close_job"] is None
