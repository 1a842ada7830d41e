"""How the dashboard behaves when things go wrong or someone pushes: broker outages, caching,
read-only enforcement, basic auth, rate limits, secrets. Served for real, with the sandbox."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from tests.web_support import FakeClock
from trading_automation.db.database import Database
from trading_automation.db.engine import READONLY_OPTION
from trading_automation.db.models import Trade
from trading_automation.errors import ConfigurationError
from trading_automation.logs import configure_logging
from trading_automation.sandbox import Fault
from trading_automation.web.app import create_app
from trading_automation.web.broker import FAILURE_RETRY_S

PAGES = ("/overview", "/trades", "/positions", "/filings", "/jobs", "/members/Nancy%20Pelosi")
APIS = (
    "/api/overview",
    "/api/trades",
    "/api/positions",
    "/api/filings",
    "/api/jobs",
    "/api/members/Nancy%20Pelosi",
)


def test_an_unreachable_broker_leaves_every_page_up_with_a_banner_and_no_invented_figures(
    seeded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        served.sandbox.alpaca.stop()
        pages = {path: served.get(path) for path in PAGES}
        overview = served.json("/api/overview")
        trades = served.json("/api/trades")
        positions = served.json("/api/positions")
        again = served.json("/api/overview")

    for path, page in pages.items():
        assert page.status_code == 200, path
        assert "Broker data unavailable." in page.text, path
        assert "Alpaca is unreachable" in page.text, path
    broker = overview["broker"]
    assert broker["ok"] is False
    assert broker["failing_since"] is not None
    assert again["broker"]["failing_since"] == broker["failing_since"]
    assert overview["account"] is None
    assert overview["portfolio"] is None
    # Realized P&L needs no broker; unrealized needs its prices.
    assert overview["pnl"]["priced"] is False
    assert overview["pnl"]["total"]["unrealized_pl"] is None
    assert overview["pnl"]["total"]["realized_pl"] == "0.00"  # nothing closed yet
    assert positions["portfolio"] is None
    # The database is all there.
    assert overview["trades"]["total"] == len(trades["trades"]) > 0
    assert "Nancy Pelosi" in pages["/trades"].text
    assert pages["/overview"].text.count('<span class="na">unavailable</span>') >= 8
    assert "$0.00" not in pages["/overview"].text
    assert "Positions are unavailable" in pages["/positions"].text


def test_refused_keys_are_reported_as_such(seeded: Database, serve_dashboard: Any) -> None:
    with serve_dashboard(alpaca_secret_key="not-the-secret") as served:
        page = served.get("/overview").text
        health = served.json("/api/health")

    assert "Alpaca refused the API keys: check ALPACA_KEY_ID and ALPACA_SECRET_KEY" in page
    assert "HTTP 401" in page
    assert health["status"] == "degraded"
    assert "not-the-secret" not in page


def test_the_broker_is_asked_again_once_its_failure_has_expired(
    seeded: Database, serve_dashboard: Any
) -> None:
    clock = FakeClock()
    with serve_dashboard(clock=clock) as served:
        served.sandbox.alpaca.faults.add(
            Fault.http_status(503, method="GET", path="/v2/account", times=2)
        )
        failing = served.json("/api/overview")
        clock.advance(FAILURE_RETRY_S - 0.001)
        still_failing = served.json("/api/overview")
        clock.advance(0.001)
        recovered = served.json("/api/overview")
        account_calls = served.sandbox.alpaca.request_count("GET", "/v2/account")

    assert failing["broker"]["ok"] is False
    assert "HTTP 503" in failing["broker"]["error"]
    assert still_failing["broker"] == failing["broker"]  # the failure is kept, not retried
    assert recovered["broker"]["ok"] is True
    assert recovered["account"] is not None
    assert account_calls == 3  # two attempts for the failure, one once it expired


def test_broker_answers_are_cached_until_they_expire_then_asked_again(
    seeded: Database, serve_dashboard: Any
) -> None:
    clock = FakeClock()
    with serve_dashboard(dashboard_cache_s=60, clock=clock) as served:
        alpaca = served.sandbox.alpaca

        def calls() -> tuple[int, int]:
            return (
                alpaca.request_count("GET", "/v2/account"),
                alpaca.request_count("GET", "/v2/positions"),
            )

        for path in ("/overview", "/trades", "/positions", "/api/overview", "/api/health"):
            assert served.get(path).status_code == 200
        within = calls()
        clock.advance(59.999)
        served.get("/positions")
        just_before = calls()
        clock.advance(0.001)
        served.get("/positions")
        served.get("/api/positions")
        after = calls()

    assert within == (1, 1)
    assert just_before == (1, 1)
    assert after == (2, 2)


def test_pages_that_need_no_broker_data_never_call_alpaca(
    seeded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        for path in ("/filings", "/jobs", "/api/filings", "/api/jobs"):
            assert served.get(path).status_code == 200
        calls_before = len(served.sandbox.alpaca.requests())
        served.sandbox.alpaca.stop()
        served.get("/overview")  # learns of the outage
        jobs = served.get("/jobs").text

    assert calls_before == 0
    assert "Broker data unavailable." in jobs


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_but_get_and_head_is_refused(
    method: str, seeded: Database, serve_dashboard: Any
) -> None:
    with seeded.transaction(readonly=True) as uow:
        before = uow.session.scalar(select(func.count()).select_from(Trade))
    with serve_dashboard() as served:
        answers = [
            served.client.request(method, path, content=b"{}")
            for path in (*PAGES, *APIS, "/api/health", "/", "/no-such-page", "/static/style.css")
        ]
        head = served.client.head("/trades")
    with seeded.transaction(readonly=True) as uow:
        after = uow.session.scalar(select(func.count()).select_from(Trade))

    for answer in answers:
        assert answer.status_code == 405, answer.request.url
        assert answer.headers["allow"] == "GET, HEAD"
    assert head.status_code == 200
    assert after == before


def test_every_read_runs_in_a_read_only_transaction(seeded: Database, serve_dashboard: Any) -> None:
    statements: list[bool] = []

    def record(connection: Any, *_args: Any) -> None:
        statements.append(bool(connection.get_execution_options().get(READONLY_OPTION)))

    event.listen(seeded.engine, "before_cursor_execute", record)
    try:
        with serve_dashboard() as served:
            for path in (*PAGES, *APIS, "/api/health", "/trades?status=FILLED&limit=2"):
                assert served.get(path).status_code == 200, path
    finally:
        event.remove(seeded.engine, "before_cursor_execute", record)

    assert len(statements) > 20
    assert all(statements)


def test_off_loopback_the_dashboard_requires_basic_auth(
    seeded: Database, serve_dashboard: Any, migrated_url: str, web_sandbox: Any
) -> None:
    with pytest.raises(ConfigurationError, match=r"DASHBOARD_HOST: 0\.0\.0\.0 is reachable"):
        create_app(
            web_sandbox.settings(database_url=migrated_url, dashboard_host="0.0.0.0"),
            database=seeded,
        )

    def basic(user: str, password: str) -> dict[str, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    with serve_dashboard(
        dashboard_host="0.0.0.0",  # checked by the settings; served on loopback here
        dashboard_username="ops",
        dashboard_password="correct horse battery",
    ) as served:
        anonymous = [served.get(path) for path in ("/overview", "/api/trades", "/static/style.css")]
        wrong = served.get("/overview", headers=basic("ops", "wrong horse battery"))
        wrong_user = served.get("/overview", headers=basic("admin", "correct horse battery"))
        garbage = served.get("/overview", headers={"Authorization": "Basic %%%"})
        right = served.get("/overview", headers=basic("ops", "correct horse battery"))
        api = served.get("/api/trades", headers=basic("ops", "correct horse battery"))

    for answer in (*anonymous, wrong, wrong_user, garbage):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Basic realm=")
    assert right.status_code == 200
    assert api.status_code == 200
    assert "correct horse battery" not in right.text + api.text


def test_the_api_is_rate_limited_per_client_with_retry_after(
    seeded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard(dashboard_rate_limit_per_minute=3) as served:
        allowed = [served.get("/api/health").status_code for _ in range(3)]
        refused = served.get("/api/trades")
        pages = [served.get("/trades").status_code for _ in range(5)]
        other = httpx.Client(
            base_url=served.url, transport=httpx.HTTPTransport(local_address="127.0.0.2")
        )
        with other:
            other_client = other.get("/api/health").status_code

    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"  # one token comes back every 60 / 3 s
    assert refused.json()["error"].startswith("too many requests")
    assert pages == [200] * 5
    assert other_client == 200


def test_secrets_appear_in_no_page_no_json_and_no_log(
    seeded: Database, serve_dashboard: Any, web_sandbox: Any
) -> None:
    secrets = [web_sandbox.broker.key_id, web_sandbox.broker.secret_key, "dash-board-pass-99"]
    stream = io.StringIO()
    with serve_dashboard(
        dashboard_username="ops", dashboard_password="dash-board-pass-99", dashboard_cache_s=0
    ) as served:
        configure_logging("DEBUG", secrets=served.settings.secret_values(), stream=stream)
        auth = {"Authorization": "Basic " + base64.b64encode(b"ops:dash-board-pass-99").decode()}
        paths = (*PAGES, *APIS, "/api/health")
        bodies = [served.get(path, headers=auth).text for path in paths]
        served.sandbox.alpaca.stop()
        bodies += [served.get(path, headers=auth).text for path in paths]
    configure_logging("WARNING")

    assert "dashboard_broker_unavailable" in stream.getvalue()
    assert any("Broker data unavailable" in body for body in bodies)
    for secret in secrets:
        assert all(secret not in body for body in bodies), secret
        assert secret not in stream.getvalue(), secret


def test_a_client_guessing_passwords_is_slowed_down_but_others_are_not(
    seeded: Database, serve_dashboard: Any
) -> None:
    def basic(password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"ops:{password}".encode()).decode()}

    with serve_dashboard(
        dashboard_username="ops", dashboard_password="correct horse battery"
    ) as served:
        anonymous = [served.get("/overview").status_code for _ in range(12)]
        guesses = [
            served.get("/overview", headers=basic(f"guess-{n}")).status_code for n in range(10)
        ]
        locked = served.get("/overview", headers=basic("correct horse battery"))
        with httpx.Client(
            base_url=served.url, transport=httpx.HTTPTransport(local_address="127.0.0.2")
        ) as other:
            elsewhere = other.get("/overview", headers=basic("correct horse battery"))

    assert anonymous == [401] * 12  # asking without credentials is no guess
    assert guesses == [401] * 10
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "6"  # ten guesses a minute: one every 6 s
    assert elsewhere.status_code == 200


def test_an_unreachable_database_is_a_503_saying_so_with_the_password_masked(
    web_sandbox: Any,
) -> None:
    from trading_automation.web.server import BackgroundServer

    settings = web_sandbox.settings(
        database_url="postgresql://app:db-secret-pw@127.0.0.1:1/nothing", db_connect_timeout_s=1
    )
    with (
        BackgroundServer(create_app(settings)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        health = client.get("/api/health")
        page = client.get("/trades")
        api = client.get("/api/trades")

    assert health.status_code == 503
    assert health.json()["status"] == "down"
    assert health.json()["database"]["ok"] is False
    assert health.json()["broker"]["ok"] is True
    assert page.status_code == 503
    assert "the database could not answer" in page.text
    assert api.status_code == 503
    assert "database unavailable" in api.json()["error"]
    for body in (health.text, page.text, api.text):
        assert "db-secret-pw" not in body
