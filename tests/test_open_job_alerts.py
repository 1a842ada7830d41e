"""The open-job's alerts, delivered to a real JSON webhook: what a person hears after a run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import quiver_record
from tests.notify_support import Webhooks
from tests.worker_support import run_job
from trading_automation.clients.errors import AuthenticationError
from trading_automation.db import Database
from trading_automation.sandbox import Fault, OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
DAY_TWO_OPEN = datetime(2024, 6, 21, 13, 30, tzinfo=UTC)
DAY = date(2024, 6, 20)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


def _alerting(webhooks: Webhooks, **more: Any) -> dict[str, Any]:
    return {"notify_urls": webhooks.url(), "notify_timeout_s": 5, **more}


def _titles(webhooks: Webhooks) -> list[str]:
    return [body["title"] for body in webhooks.bodies()]


def test_a_clean_run_sends_only_what_a_person_wants_to_know(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    result = run_job(database, sandbox, **_alerting(webhooks))

    assert result.exit_code == 0
    # BRK.A costs more than $1,000 a share: the only filing a limit stopped.
    assert _titles(webhooks) == ["1 filing stopped by a guardrail on 2024-06-20"]
    [body] = webhooks.bodies()
    assert body["type"] == "info"
    assert "BRK.A buy: SKIPPED - one share costs" in body["message"]


def test_failed_orders_are_alerted_with_their_reasons(
    database: Database, webhooks: Webhooks
) -> None:
    with Sandbox(now=OPEN, cash="2500", script=OrderScript(fill_after_polls=1)) as sandbox:
        run_job(database, sandbox, **_alerting(webhooks))

    [body] = [b for b in webhooks.bodies() if "failed or ended unfilled" in b["title"]]
    assert body["title"] == "9 orders failed or ended unfilled on 2024-06-20"
    assert body["type"] == "warning"
    assert "MSFT buy: FAILED - insufficient buying power" in body["message"]


def test_a_day_failing_again_and_again_is_alerted_once_and_its_repeats_counted(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    sandbox.quiver.faults.add(Fault.http_status(503, times=None))

    for _ in range(3):
        assert run_job(database, sandbox, **_alerting(webhooks)).exit_code == 1

    assert _titles(webhooks).count("open-job for 2024-06-20 failed") == 1
    with database.transaction(readonly=True) as uow:
        alert = uow.alerts.get("run_failed:open-job", DAY)
    assert alert is not None
    assert alert.occurrences == 3


def test_a_run_that_fails_says_what_to_run_once_the_cause_is_fixed(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    sandbox.quiver.faults.add(Fault.http_status(503, times=None))

    result = run_job(database, sandbox, **_alerting(webhooks))

    assert result.exit_code == 1
    [body] = [b for b in webhooks.bodies() if b["title"] == "open-job for 2024-06-20 failed"]
    assert body["type"] == "failure"
    assert "`trading-automation open-job --date 2024-06-20`" in body["message"]
    assert "service error" in body["message"]
    assert sandbox.quiver.api_key not in body["message"]


def test_keys_the_broker_refuses_are_alerted_and_the_error_still_stops_the_run(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(401, times=None))

    with pytest.raises(AuthenticationError):
        run_job(database, sandbox, **_alerting(webhooks))

    [body] = webhooks.bodies()
    assert body["title"].startswith("Alpaca refused the API keys (open-job, ")
    assert "ALPACA_SECRET_KEY" in body["message"]
    assert sandbox.broker.secret_key not in body["message"]


def test_a_hanging_alert_receiver_does_not_hold_the_run_back(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    urls = f"{webhooks.url('hang')} {webhooks.url()}"

    result = run_job(database, sandbox, notify_urls=urls, notify_timeout_s=0.5)

    assert result.exit_code == 0
    assert len(webhooks.bodies()) == 1
    with database.transaction(readonly=True) as uow:
        counts = uow.alerts.counts()
    assert (counts.sent, counts.failed_deliveries) == (1, 1)


def test_exits_and_shares_sold_by_hand_are_alerted_with_their_pnl(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    run_job(database, sandbox)
    sale = quiver_record(
        Ticker="AAPL",
        Name="Nancy Pelosi",
        Transaction="Sale (Full)",
        Traded="2024-06-20",
        Filed="2024-06-21",
    )
    sandbox.quiver.set_day(date(2024, 6, 21), [sale])
    sandbox.broker.set_now(DAY_TWO_OPEN)
    held = next(Decimal(p["qty"]) for p in sandbox.broker.positions() if p["symbol"] == "MSFT")
    sandbox.broker.adjust_position("MSFT", -held)

    run_job(database, sandbox, **_alerting(webhooks))

    titles = _titles(webhooks)
    [exits] = [b for b in webhooks.bodies() if b["title"].startswith("1 exit executed")]
    assert "AAPL sell" in exits["message"]
    assert "(the member sold)" in exits["message"]
    assert "P&L" in exits["message"]
    assert any(t.startswith("the broker holds less than the ledger: 1 lot(s)") for t in titles)


def test_quiver_quiet_for_quiet_days_trading_days_is_alerted(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    from datetime import timedelta

    for offset in range(3):
        day = date(2024, 6, 24) + timedelta(days=offset)
        sandbox.quiver.set_day(day - timedelta(days=3 if offset == 0 else 1), [])
        sandbox.quiver.set_day(day, [])
        sandbox.broker.set_now(datetime(day.year, day.month, day.day, 13, 30, tzinfo=UTC))
        run_job(database, sandbox, **_alerting(webhooks, quiet_days=3))

    titles = _titles(webhooks)
    assert titles.count("Quiver returned nothing new for 3 trading days") == 1
    assert titles[-1] == "Quiver returned nothing new for 3 trading days"


def test_quivers_budget_spent_is_alerted_with_when_to_run_again(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    result = run_job(database, sandbox, **_alerting(webhooks, quiver_bulk_requests_per_hour=1))

    assert result.exit_code == 1
    [body] = [b for b in webhooks.bodies() if b["title"].startswith("Quiver's request budget")]
    assert body["title"] == "Quiver's request budget is spent (2024-06-20)"
    assert "- not sent: Quiver's bulk endpoints allow 1 requests an hour" in body["message"]
