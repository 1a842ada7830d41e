"""The sandbox itself: realistic shapes and refusals, exact authentication, the market clock,
scriptable faults and state (in-process and over the control endpoints), and the hooks crash
tests rely on."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sandbox_support import FAST_RETRY, FakeClock
from trading_automation import fixtures
from trading_automation.clients import (
    AlpacaClient,
    ApiError,
    InsufficientBuyingPowerError,
    RetryPolicy,
    Timeouts,
)
from trading_automation.sandbox import AlpacaBroker, Fault, OrderScript, Sandbox, SandboxControl
from trading_automation.sandbox.process import SandboxControlError

# A held answer outlasts any test run; the guard only ends a hung test (it is never reached when
# the behaviour holds, so nothing here depends on how fast the machine is).
HELD_FOR_GOOD = 3600.0
GUARD_S = 60.0
PATIENT_RETRY = RetryPolicy(max_attempts=3, budget_s=600, backoff_s=0.01, backoff_max_s=0.05)
KEYS = {"APCA-API-KEY-ID": "sandbox-key-id", "APCA-API-SECRET-KEY": "sandbox-secret-key"}


def raw_get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(url, headers=headers or {}, timeout=5)


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"APCA-API-KEY-ID": "sandbox-key-id"},
        {"APCA-API-SECRET-KEY": "sandbox-secret-key"},
        {"APCA-API-KEY-ID": "sandbox-key-id", "APCA-API-SECRET-KEY": "sandbox-secret-KEY"},
        {"Authorization": "Bearer sandbox-secret-key"},
    ],
)
def test_alpaca_servers_refuse_anything_but_both_exact_key_headers(
    sandbox: Sandbox, headers: dict[str, str]
) -> None:
    trading = raw_get(f"{sandbox.alpaca.url}/v2/clock", headers)
    data = raw_get(f"{sandbox.alpaca_data.url}/v2/stocks/AAPL/trades/latest", headers)

    assert trading.status_code == 401
    assert trading.json() == fixtures.alpaca_error("unauthorized_401")
    assert data.status_code == 401


def test_alpaca_servers_accept_the_exact_keys(sandbox: Sandbox) -> None:
    assert raw_get(f"{sandbox.alpaca.url}/v2/clock", KEYS).status_code == 200
    trade = raw_get(f"{sandbox.alpaca_data.url}/v2/stocks/AAPL/trades/latest", KEYS)
    assert trade.json()["trade"]["p"] == 213.93
    assert trade.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer wrong", "Invalid token."),
        ("Token sandbox-quiver-key", "Invalid token."),
        ("bearer sandbox-quiver-key", "Invalid token."),
    ],
)
def test_quiver_server_requires_the_exact_bearer_token(
    sandbox: Sandbox, authorization: str | None, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    refused = raw_get(f"{sandbox.quiver.base_url}/bulk/congresstrading?date=20240618", headers)
    accepted = raw_get(
        f"{sandbox.quiver.base_url}/bulk/congresstrading?date=20240618",
        {"Authorization": "Bearer sandbox-quiver-key"},
    )

    assert (refused.status_code, refused.json()) == (401, {"detail": detail})
    assert accepted.content == fixtures.quiver_day_body(date(2024, 6, 18))


def test_quiver_without_a_date_serves_every_day_newest_first(sandbox: Sandbox) -> None:
    answer = raw_get(
        f"{sandbox.quiver.base_url}/bulk/congresstrading",
        {"Authorization": "Bearer sandbox-quiver-key"},
    ).json()

    assert len(answer) == sum(len(fixtures.quiver_day(day)) for day in fixtures.quiver_days())
    assert answer[0] == fixtures.quiver_day(fixtures.DEMO_SECOND_DAY)[0]


# --- shapes -------------------------------------------------------------------------------------


def test_the_sandbox_calendar_is_the_fixture_calendar(sandbox: Sandbox) -> None:
    served = raw_get(f"{sandbox.alpaca.url}/v2/calendar?start=2024-06-14&end=2024-07-05", KEYS)

    assert served.json() == fixtures.alpaca_calendar()


def test_sandbox_orders_have_exactly_the_shape_of_the_order_fixtures(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    alpaca.submit_order(symbol="NVDA", client_order_id="shape", notional=1000)
    [order] = sandbox.broker.orders()

    assert set(order) == set(fixtures.alpaca_order("filled"))
    assert order["created_at"].endswith("Z")
    assert len(order["created_at"].split(".")[1]) == 10
    assert order["filled_qty"] == "0"
    assert order["notional"] == "1000"


def test_positions_and_account_have_the_shape_of_their_fixtures(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    order = alpaca.submit_order(symbol="NVDA", client_order_id="pos", notional=1000)
    alpaca.get_order(order.id)
    alpaca.get_order(order.id)

    [position] = sandbox.broker.positions()
    account = sandbox.broker.account()

    assert set(position) == set(fixtures.alpaca_positions()[0])
    assert set(account) == set(fixtures.alpaca_account())


# --- the market clock ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "is_open", "next_open", "next_close"),
    [
        ("2024-06-20T13:29:59Z", False, "2024-06-20T09:30:00-04:00", "2024-06-20T16:00:00-04:00"),
        ("2024-06-20T20:00:00Z", False, "2024-06-21T09:30:00-04:00", "2024-06-21T16:00:00-04:00"),
        ("2024-06-22T15:00:00Z", False, "2024-06-24T09:30:00-04:00", "2024-06-24T16:00:00-04:00"),
        ("2024-07-03T16:59:00Z", True, "2024-07-05T09:30:00-04:00", "2024-07-03T13:00:00-04:00"),
        ("2024-07-03T17:00:00Z", False, "2024-07-05T09:30:00-04:00", "2024-07-05T16:00:00-04:00"),
        ("2024-12-24T14:30:00Z", True, "2024-12-26T09:30:00-05:00", "2024-12-24T13:00:00-05:00"),
    ],
)
def test_the_clock_follows_the_configured_calendar(
    sandbox: Sandbox, now: str, is_open: bool, next_open: str, next_close: str
) -> None:
    sandbox.broker.set_now(datetime.fromisoformat(now), ticks=False)

    clock = sandbox.broker.clock()

    assert (clock["is_open"], clock["next_open"], clock["next_close"]) == (
        is_open,
        next_open,
        next_close,
    )


def test_extra_holidays_and_half_days_are_configurable() -> None:
    with Sandbox(
        holidays=[date(2024, 6, 21)], half_days=[date(2024, 6, 20)], clock_ticks=False
    ) as sandbox:
        days = sandbox.broker.calendar_days({"start": "2024-06-20", "end": "2024-06-24"}).payload

    assert [(d["date"], d["close"]) for d in days] == [
        ("2024-06-20", "13:00"),
        ("2024-06-24", "16:00"),
    ]


def test_a_ticking_clock_moves_on_from_the_configured_instant(fake_clock: FakeClock) -> None:
    broker = AlpacaBroker(monotonic=fake_clock.monotonic)
    first = broker.now()
    fake_clock.advance(2.5)

    assert first == datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    assert broker.now() == datetime(2024, 6, 20, 13, 30, 2, 500000, tzinfo=UTC)


def test_a_frozen_clock_stays_at_the_configured_instant(fake_clock: FakeClock) -> None:
    broker = AlpacaBroker(monotonic=fake_clock.monotonic, clock_ticks=False)
    fake_clock.advance(60)

    assert broker.now() == datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


def test_a_moved_clock_ticks_on_from_its_new_instant(fake_clock: FakeClock) -> None:
    broker = AlpacaBroker(monotonic=fake_clock.monotonic)
    fake_clock.advance(100)
    broker.set_now(datetime(2024, 6, 21, 13, 30, tzinfo=UTC))
    fake_clock.advance(1)

    assert broker.now() == datetime(2024, 6, 21, 13, 30, 1, tzinfo=UTC)


# --- the account --------------------------------------------------------------------------------


def test_open_orders_hold_buying_power_until_they_fill() -> None:
    with Sandbox(cash="1500") as sandbox, sandbox.alpaca_client(retry=FAST_RETRY) as alpaca:
        alpaca.submit_order(symbol="NVDA", client_order_id="bp-1", notional=1000)
        with pytest.raises(InsufficientBuyingPowerError) as raised:
            alpaca.submit_order(symbol="AAPL", client_order_id="bp-2", notional=1000)
        body = raised.value.api_message

    assert body == "insufficient buying power"
    assert sandbox.broker.submissions() == 2
    assert sandbox.broker.accepted_count == 1


@pytest.mark.parametrize("final", ["canceled", "expired", "rejected"])
def test_orders_can_be_scripted_to_end_otherwise_than_filled(
    sandbox: Sandbox, alpaca: AlpacaClient, final: str
) -> None:
    sandbox.broker.set_script(OrderScript(fill_after_polls=1, final_status=final), "MSFT")  # type: ignore[arg-type]
    msft = alpaca.submit_order(symbol="MSFT", client_order_id="end-1", notional=1000)
    aapl = alpaca.submit_order(symbol="AAPL", client_order_id="end-2", notional=1000)

    assert alpaca.get_order(msft.id).status == final
    assert alpaca.get_order(aapl.id).status == "new"
    assert sandbox.broker.positions() == []


def _held(status: str, cid: str, symbol: str = "NVDA") -> dict[str, Any]:
    """An order fixture rewritten as an order the account already holds."""
    order = fixtures.alpaca_order(status)
    order.update({"id": f"held-{cid}", "client_order_id": cid, "symbol": symbol})
    return order


def test_preloaded_orders_are_known_by_id_client_order_id_and_in_lists() -> None:
    held = [_held("filled", "old-1"), _held("partially_filled", "old-2", "AAPL")]

    with (
        Sandbox(orders=held) as sandbox,
        sandbox.alpaca_client(retry=FAST_RETRY) as alpaca,
    ):
        by_id = alpaca.get_order("held-old-1")
        by_cid = alpaca.get_order_by_client_order_id("old-2")
        listed = alpaca.list_orders(status="all", direction="asc")
        resent = alpaca.submit_order(symbol="AAPL", client_order_id="old-2", notional=1000)

    assert (by_id.status, by_id.filled_qty) == ("filled", Decimal("7.375719132"))
    assert by_cid.client_order_id == "old-2"
    assert {order.client_order_id for order in listed} == {"old-1", "old-2"}
    assert resent.id == "held-old-2", "a reused client order id is refused, like Alpaca"
    assert sandbox.broker.orders_for("old-2") == 1
    assert sandbox.broker.accepted_count == 2


def test_preloaded_fills_are_paid_from_the_cash_and_open_ones_fill_on_polls() -> None:
    filled = _held("filled", "old-1")
    partial = _held("partially_filled", "old-2", "AAPL")
    paid = Decimal(filled["filled_qty"]) * Decimal(filled["filled_avg_price"])
    paid += Decimal(partial["filled_qty"]) * Decimal(partial["filled_avg_price"])

    with (
        Sandbox(orders=[filled, partial], cash="10000") as sandbox,
        sandbox.alpaca_client(retry=FAST_RETRY) as alpaca,
    ):
        account = alpaca.account()
        symbols = {position.symbol for position in alpaca.positions()}
        polled = [alpaca.get_order("held-old-2") for _ in range(2)]

    assert account.cash == (Decimal(10000) - paid).quantize(Decimal("0.01"))
    assert symbols == {"NVDA", "AAPL"}
    assert [order.status for order in polled] == ["partially_filled", "filled"]
    assert polled[-1].filled_qty is not None
    assert polled[-1].filled_qty > Decimal(partial["filled_qty"])


def test_a_reset_keeps_the_preloaded_orders_and_drops_the_rest() -> None:
    with (
        Sandbox(orders=[_held("filled", "old-1")]) as sandbox,
        sandbox.alpaca_client(retry=FAST_RETRY) as alpaca,
    ):
        alpaca.submit_order(symbol="MSFT", client_order_id="new-1", notional=1000)
        sandbox.alpaca.reset()

    assert [order["client_order_id"] for order in sandbox.broker.orders()] == ["old-1"]


@pytest.mark.parametrize(
    ("orders", "problem"),
    [
        ([_held("filled", "twice"), _held("filled", "twice")], "given twice"),
        ([_held("filled", "x", "ZZZZ")], "no price for ZZZZ"),
        ([{"id": "x", "status": "new"}], "client_order_id"),
    ],
)
def test_unusable_preloaded_orders_are_refused_at_once(
    orders: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Sandbox(orders=orders)


def test_reset_returns_to_the_initial_account(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    alpaca.submit_order(symbol="NVDA", client_order_id="r-1", notional=1000)
    sandbox.alpaca.faults.add(Fault.http_status(503, times=None))

    sandbox.alpaca.reset()

    assert sandbox.broker.orders() == []
    assert sandbox.alpaca.faults.pending() == []
    assert alpaca.account().buying_power == Decimal(100_000)


# --- control endpoints --------------------------------------------------------------------------


def test_faults_and_state_are_scriptable_over_the_control_endpoints(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    control = SandboxControl(sandbox.alpaca.url)
    control.add_fault(Fault.http_status(503, times=1, path="/v2/clock"))
    control.set_clock(datetime(2024, 6, 19, 13, 30, tzinfo=UTC), ticks=False)
    control.set_prices({"NVDA": "100"})
    control.set_script(OrderScript(fill_after_polls=1), "NVDA")

    clock = alpaca.clock()
    order = alpaca.submit_order(symbol="NVDA", client_order_id="ctl-1", notional=1000)
    filled = alpaca.get_order(order.id)
    state = control.orders()

    assert clock.is_open is False
    assert [r["status"] for r in control.requests()][:2] == [503, 200]
    assert filled.filled_qty == Decimal(10)
    assert state["accepted"] == 1
    assert state["submissions"] == {"ctl-1": 1}
    assert state["orders"][0]["status"] == "filled"
    assert control.faults() == []


def test_a_quiver_day_can_be_replaced_over_the_control_endpoint(
    sandbox: Sandbox, quiver: Any
) -> None:
    control = SandboxControl(sandbox.quiver.url)
    control.set_day(date(2024, 6, 18), [{"Ticker": "ZZZ"}])

    assert quiver.congress_trading(date(2024, 6, 18)) == [{"Ticker": "ZZZ"}]
    control.reset()
    assert len(quiver.congress_trading(date(2024, 6, 18))) == 9


def test_a_bad_control_request_is_refused_with_the_reason(sandbox: Sandbox) -> None:
    control = SandboxControl(sandbox.alpaca.url)

    with pytest.raises(SandboxControlError, match="unknown fault kind"):
        control.call("POST", "faults", {"kind": "explode"})
    with pytest.raises(SandboxControlError, match="404"):
        control.call("GET", "nothing-here")


def test_a_fault_can_let_the_first_matching_requests_through(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, path="/v2/clock", skip=2))

    statuses = [raw_get(f"{sandbox.alpaca.url}/v2/clock", KEYS).status_code for _ in range(4)]

    assert statuses == [200, 200, 503, 200]
    assert sandbox.alpaca.faults.pending() == []


def test_faults_round_trip_through_json() -> None:
    fault = Fault.http_status(429, retry_after=2, times=3, method="get", path="/v2/orders")
    skipping = Fault.http_status(403, body='{"code": 1}', method="POST", skip=1)

    assert Fault.from_json(json.loads(json.dumps(fault.to_json()))) == fault
    assert Fault.from_json(json.loads(json.dumps(skipping.to_json()))) == skipping
    assert "skip" not in fault.to_json()
    assert fault.method == "GET"
    assert Fault.drop_after_accept().path == "/v2/orders"


# --- crash-test hooks and clean stops -----------------------------------------------------------


def test_a_held_answer_lets_a_test_see_the_order_accepted_before_the_client_hears(
    sandbox: Sandbox,
) -> None:
    # Held far longer than the test may take: only release() can let the answer go.
    sandbox.alpaca.faults.add(Fault.hold_after_accept(HELD_FOR_GOOD))
    outcome: dict[str, Any] = {}
    client = sandbox.alpaca_client(retry=PATIENT_RETRY, timeouts=Timeouts(connect_s=1, read_s=600))

    def place() -> None:
        outcome["order"] = client.submit_order(
            symbol="NVDA", client_order_id="held-1", notional=1000
        )

    worker = threading.Thread(target=place)
    worker.start()

    accepted = sandbox.broker.wait_for_accepted(1, timeout=GUARD_S)
    still_waiting = worker.is_alive()
    sandbox.alpaca.release()
    worker.join(timeout=GUARD_S)
    client.close()

    assert accepted
    assert still_waiting, "the client had no answer while the order was accepted"
    assert not worker.is_alive(), "release() did not let the held answer go"
    assert outcome["order"].client_order_id == "held-1"


def test_stopping_releases_held_answers_and_closes_the_ports() -> None:
    sandbox = Sandbox().start()
    sandbox.alpaca.faults.add(Fault.hold_after_accept(HELD_FOR_GOOD))
    port = sandbox.alpaca.port
    client = sandbox.alpaca_client(retry=PATIENT_RETRY, timeouts=Timeouts(read_s=600))
    worker = threading.Thread(
        target=lambda: _ignore_errors(
            lambda: client.submit_order(symbol="NVDA", client_order_id="h", notional=1)
        )
    )
    worker.start()
    assert sandbox.broker.wait_for_accepted(1, timeout=GUARD_S)

    sandbox.stop()
    worker.join(timeout=GUARD_S)
    client.close()

    assert not worker.is_alive(), "stop() did not end the held answer"
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass


def _ignore_errors(action: Any) -> None:
    # The sandbox stops under this call: the client's error is expected and beside the point.
    with contextlib.suppress(ApiError):
        action()
