"""The Alpaca client against the sandbox over real HTTP on 127.0.0.1: every endpoint, every error,
and order submission whose outcome is unknown."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from tests.sandbox_support import FAST_RETRY, FAST_TIMEOUTS
from trading_automation import fixtures
from trading_automation.clients import (
    AlpacaClient,
    AuthenticationError,
    InsufficientBuyingPowerError,
    NotFoundError,
    OrderOutcomeUnknownError,
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
    Timeouts,
    UnexpectedResponseError,
    ValidationRefusedError,
)
from trading_automation.config import load_settings
from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.jsonvalues import dumps
from trading_automation.errors import ConfigurationError, InvalidValueError
from trading_automation.sandbox import Fault, OrderScript, Sandbox, SandboxControl

ORDERS = "/v2/orders"
BY_CLIENT_ID = "/v2/orders:by_client_order_id"


# --- market calendar ------------------------------------------------------------------------


def test_clock_reports_the_open_market_at_the_demo_days_open(alpaca: AlpacaClient) -> None:
    clock = alpaca.clock()

    assert clock.is_open is True
    assert clock.timestamp.tzinfo is UTC
    assert clock.timestamp >= datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    assert clock.next_close == datetime(2024, 6, 20, 20, 0, tzinfo=UTC)
    assert clock.next_open == datetime(2024, 6, 21, 13, 30, tzinfo=UTC)


def test_clock_on_a_holiday_is_closed_and_points_at_the_next_session(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.broker.set_now(datetime(2024, 6, 19, 13, 30, tzinfo=UTC), ticks=False)

    clock = alpaca.clock()

    assert clock.is_open is False
    assert clock.next_open == datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


def test_calendar_skips_juneteenth_and_closes_early_on_the_half_day(
    alpaca: AlpacaClient,
) -> None:
    days = alpaca.calendar(date(2024, 6, 14), date(2024, 7, 5))
    by_date = {day.date: day for day in days}

    assert date(2024, 6, 19) not in by_date
    assert date(2024, 7, 4) not in by_date
    assert by_date[date(2024, 7, 3)].close == time(13, 0)
    assert by_date[date(2024, 7, 3)].close_at == datetime(2024, 7, 3, 17, 0, tzinfo=UTC)
    assert by_date[date(2024, 6, 20)].open_at == datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


def test_calendar_refuses_an_end_before_its_start(alpaca: AlpacaClient) -> None:
    with pytest.raises(InvalidValueError, match="before start"):
        alpaca.calendar(date(2024, 6, 20), date(2024, 6, 18))


# --- orders -------------------------------------------------------------------------------------


def test_a_notional_order_is_accepted_then_fills_as_it_is_polled(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    placed = alpaca.submit_order(symbol="nvda", client_order_id="cid-1", notional=Decimal(1000))
    first = alpaca.get_order(placed.id)
    second = alpaca.get_order_by_client_order_id("cid-1")

    assert (placed.status, placed.symbol, placed.notional) == ("accepted", "NVDA", Decimal(1000))
    assert placed.client_order_id == "cid-1"
    assert first.status == "new"
    assert second.status == "filled"
    assert second.trade_status is TradeStatus.FILLED
    assert second.filled_qty == Decimal("7.375719132")
    assert second.filled_avg_price == Decimal("135.58")
    assert sandbox.broker.orders_for("cid-1") == 1


def test_a_whole_share_order_sends_its_quantity(alpaca: AlpacaClient) -> None:
    order = alpaca.submit_order(symbol="KKR", client_order_id="cid-kkr", qty=9)

    assert order.qty == Decimal(9)
    assert order.notional is None


def test_partial_fills_are_reported_before_the_fill(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    sandbox.broker.set_script(OrderScript(partial_fill_after_polls=1, fill_after_polls=3))
    placed = alpaca.submit_order(symbol="AMZN", client_order_id="cid-p", notional=1000)

    partial = alpaca.get_order(placed.id)
    still = alpaca.get_order(placed.id)
    done = alpaca.get_order(placed.id)

    assert partial.status == "partially_filled"
    assert partial.trade_status is TradeStatus.PARTIALLY_FILLED
    assert partial.filled_qty == Decimal("2.735080137")
    assert still.filled_qty == partial.filled_qty
    assert done.status == "filled"
    assert done.filled_qty == Decimal("5.470160275")


def test_list_orders_filters_like_the_api(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    sandbox.broker.set_script(OrderScript(fill_after_polls=1))
    sandbox.broker.set_now(datetime(2024, 6, 20, 13, 30, tzinfo=UTC), ticks=False)
    alpaca.submit_order(symbol="AAPL", client_order_id="a", notional=1000)
    sandbox.broker.set_now(datetime(2024, 6, 20, 13, 31, tzinfo=UTC), ticks=False)
    alpaca.submit_order(symbol="MSFT", client_order_id="b", notional=1000)
    sandbox.broker.set_now(datetime(2024, 6, 20, 13, 32, tzinfo=UTC), ticks=False)
    alpaca.submit_order(symbol="AAPL", client_order_id="c", notional=1000)

    newest_first = alpaca.list_orders(status="open")
    oldest_first = alpaca.list_orders(status="all", direction="asc", limit=2)
    aapl = alpaca.list_orders(status="all", symbols=["aapl"])
    window = alpaca.list_orders(
        status="all",
        after=datetime(2024, 6, 20, 13, 30, 30, tzinfo=UTC),
        until=datetime(2024, 6, 20, 13, 31, 30, tzinfo=UTC),
    )
    closed = alpaca.list_orders(status="closed")
    still_open = alpaca.list_orders(status="open")

    assert [o.client_order_id for o in newest_first] == ["c", "b", "a"]
    assert [o.client_order_id for o in oldest_first] == ["a", "b"]
    assert {o.client_order_id for o in aapl} == {"a", "c"}
    assert [o.client_order_id for o in window] == ["b"]
    assert {o.client_order_id for o in closed} == {"a", "b", "c"}
    assert still_open == []


def test_list_orders_refuses_bad_arguments_before_sending(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    with pytest.raises(InvalidValueError, match="limit"):
        alpaca.list_orders(limit=501)
    with pytest.raises(InvalidValueError, match="naive"):
        alpaca.list_orders(after=datetime(2024, 6, 20, 9, 30))  # noqa: DTZ001 - the point
    assert sandbox.alpaca.request_count() == 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"notional": 1000, "qty": 1}, "notional/qty"),
        ({}, "notional/qty"),
        ({"notional": "10.005"}, "notional"),
        ({"notional": 0}, "notional"),
        ({"qty": "-1"}, "qty"),
        ({"notional": 10, "client_order_id": "x" * 129}, "client_order_id"),
    ],
)
def test_invalid_orders_are_refused_before_anything_is_sent(
    sandbox: Sandbox, alpaca: AlpacaClient, arguments: dict[str, object], field: str
) -> None:
    options: dict[str, object] = {"symbol": "AAPL", "client_order_id": "cid-bad"} | arguments

    with pytest.raises(InvalidValueError) as raised:
        alpaca.submit_order(**options)  # type: ignore[arg-type]

    assert raised.value.field == field
    assert sandbox.broker.submissions() == 0


# --- market data, account, positions ------------------------------------------------------------


def test_latest_trade_comes_from_the_data_api_as_an_exact_decimal(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    trade = alpaca.latest_trade("brk.a")

    assert trade.symbol == "BRK.A"
    assert trade.price == Decimal(612500)
    assert trade.timestamp is not None
    assert sandbox.alpaca_data.request_count("GET", "/v2/stocks/BRK.A/trades/latest") == 1
    assert sandbox.alpaca.request_count() == 0


EIGHTEEN_DIGITS = "123456789.123456789"


def test_a_price_with_eighteen_significant_digits_survives_exactly(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.broker.set_prices({"NVDA": EIGHTEEN_DIGITS})

    trade = alpaca.latest_trade("NVDA")

    assert trade.price == Decimal(EIGHTEEN_DIGITS)
    assert f'"p":{EIGHTEEN_DIGITS}' in sandbox.broker.latest_trade("NVDA").body().decode()


def test_json_numbers_of_eighteen_significant_digits_in_orders_and_accounts_survive(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    # Alpaca writes these as strings; written as JSON numbers they must keep every digit too.
    placed = alpaca.submit_order(symbol="NVDA", client_order_id="digits-1", notional=1000)
    price, qty = Decimal(EIGHTEEN_DIGITS), Decimal("8.000000001")
    order = dumps(placed.raw | {"filled_qty": qty, "filled_avg_price": price})
    account = dumps(fixtures.alpaca_account() | {"cash": price})
    assert f'"filled_avg_price":{EIGHTEEN_DIGITS}' in order
    sandbox.alpaca.faults.add(
        Fault.malformed(body=order, path=f"{ORDERS}/{placed.id}"),
        Fault.malformed(body=account, path="/v2/account"),
    )

    fetched = alpaca.get_order(placed.id)
    balances = alpaca.account()

    assert fetched.filled_avg_price == Decimal(EIGHTEEN_DIGITS)
    assert fetched.raw["filled_avg_price"] == Decimal(EIGHTEEN_DIGITS)
    assert fetched.filled_qty == Decimal("8.000000001")
    assert balances.cash == Decimal(EIGHTEEN_DIGITS)


def test_an_asset_says_whether_notional_orders_will_be_taken(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    aapl = alpaca.asset("aapl")
    kkr = alpaca.asset("KKR")
    brk = alpaca.asset("BRK.A")

    assert (aapl.symbol, aapl.fractionable, aapl.tradable) == ("AAPL", True, True)
    assert (kkr.fractionable, brk.fractionable) == (False, False)
    assert aapl.asset_class == "us_equity"
    assert aapl.model_extra is not None
    assert "margin_requirement_long" in aapl.model_extra
    assert sandbox.alpaca.request_count("GET", "/v2/assets/BRK.A") == 1
    with pytest.raises(ValidationRefusedError, match="not fractionable"):
        alpaca.submit_order(symbol="KKR", client_order_id="asset-kkr", notional=1000)


def test_an_asset_is_found_by_its_id_as_well_and_matches_the_orders_asset_id(
    alpaca: AlpacaClient,
) -> None:
    order = alpaca.submit_order(symbol="NVDA", client_order_id="asset-id-1", notional=1000)
    asset = alpaca.asset("NVDA")

    assert order.model_extra is not None
    assert asset.id == order.model_extra["asset_id"]
    assert alpaca.asset(asset.id).symbol == "NVDA"


def test_which_assets_are_fractionable_is_scriptable_over_the_control_endpoint(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    SandboxControl(sandbox.alpaca.url).set_non_fractionable(["aapl"])

    assert alpaca.asset("AAPL").fractionable is False
    assert alpaca.asset("KKR").fractionable is True


def test_account_and_positions_follow_the_fills(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    before = alpaca.account()
    order = alpaca.submit_order(symbol="KKR", client_order_id="cid-acct", qty=9)
    reserved = alpaca.account()
    alpaca.get_order(order.id)
    alpaca.get_order(order.id)
    sandbox.broker.set_prices({"KKR": "110.52"})
    after = alpaca.account()
    [position] = alpaca.positions()

    assert before.cash == Decimal(100_000)
    assert reserved.buying_power == Decimal("99059.32")
    assert after.cash == Decimal("99059.32")
    assert (position.symbol, position.qty, position.avg_entry_price) == (
        "KKR",
        Decimal(9),
        Decimal("104.52"),
    )
    assert position.unrealized_pl == Decimal("54.00")
    assert after.equity == after.cash + position.market_value


# --- errors -------------------------------------------------------------------------------------


def test_a_notional_order_for_a_non_fractionable_asset_is_a_validation_refusal(
    alpaca: AlpacaClient,
) -> None:
    with pytest.raises(ValidationRefusedError) as raised:
        alpaca.submit_order(symbol="BRK.A", client_order_id="cid-brk", notional=1000)

    error = raised.value
    assert (error.status_code, error.code) == (422, 40010001)
    assert error.api_message == "requested asset is not fractionable"
    assert error.request_id
    assert "not fractionable" in str(error)


def test_insufficient_buying_power_is_its_own_error(sandbox: Sandbox) -> None:
    with (
        Sandbox(cash="500") as poor,
        poor.alpaca_client(retry=FAST_RETRY) as alpaca,
        pytest.raises(InsufficientBuyingPowerError) as raised,
    ):
        alpaca.submit_order(symbol="AAPL", client_order_id="cid-poor", notional=1000)

    assert raised.value.status_code == 403
    assert raised.value.code == 40310000
    assert raised.value.api_message == "insufficient buying power"


@pytest.mark.parametrize(
    ("key_id", "secret"),
    [("sandbox-key-id", "wrong-secret"), ("wrong-key", "sandbox-secret-key")],
)
def test_wrong_credentials_are_an_authentication_error(
    sandbox: Sandbox, key_id: str, secret: str
) -> None:
    with (
        sandbox.alpaca_client(key_id=key_id, secret_key=secret, retry=FAST_RETRY) as alpaca,
        pytest.raises(AuthenticationError) as raised,
    ):
        alpaca.account()

    assert raised.value.status_code == 401
    assert sandbox.alpaca.request_count() == 1, "an authentication error is not retried"


def test_an_unknown_order_is_not_found(alpaca: AlpacaClient) -> None:
    with pytest.raises(NotFoundError) as raised:
        alpaca.get_order("00000000-0000-0000-0000-000000000000")

    assert raised.value.status_code == 404
    assert raised.value.code == 40410000


def test_an_unknown_asset_is_not_found_like_alpaca_says_it(alpaca: AlpacaClient) -> None:
    with pytest.raises(NotFoundError) as raised:
        alpaca.asset("ZZZZ")

    assert (raised.value.status_code, raised.value.code) == (404, 40410000)
    assert raised.value.api_message == "asset not found"


def test_an_unknown_symbol_has_no_latest_trade(alpaca: AlpacaClient) -> None:
    with pytest.raises(NotFoundError):
        alpaca.latest_trade("ZZZZ")


def test_persistent_rate_limiting_ends_in_rate_limited_after_the_allowed_attempts(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=0, times=None))

    with pytest.raises(RateLimitedError) as raised:
        alpaca.clock()

    assert raised.value.attempts == FAST_RETRY.max_attempts
    assert raised.value.retry_after_s == 0
    assert sandbox.alpaca.request_count("GET", "/v2/clock") == FAST_RETRY.max_attempts


def test_persistent_server_errors_end_in_service_unavailable(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=None))

    with pytest.raises(ServiceUnavailableError) as raised:
        alpaca.positions()

    assert raised.value.status_code == 503
    assert "after 3 attempts" in str(raised.value)
    assert sandbox.alpaca.request_count("GET", "/v2/positions") == 3


def test_a_malformed_body_is_an_unexpected_response_and_is_not_retried(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.malformed(path="/v2/account"))

    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        alpaca.account()

    assert sandbox.alpaca.request_count("GET", "/v2/account") == 1


def test_a_body_of_the_wrong_shape_is_an_unexpected_response(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.malformed(body='{"positions": []}', path="/v2/positions"))

    with pytest.raises(UnexpectedResponseError, match="expected a JSON array, got an object"):
        alpaca.positions()


# --- paper safety -------------------------------------------------------------------------------


def test_the_client_refuses_a_live_endpoint_while_paper_trading() -> None:
    with pytest.raises(ConfigurationError, match="not the paper endpoint"):
        AlpacaClient(key_id="k", secret_key="s", base_url="https://api.alpaca.markets")


def test_the_live_endpoint_needs_paper_trading_explicitly_off() -> None:
    client = AlpacaClient(
        key_id="k", secret_key="s", base_url="https://api.alpaca.markets", paper=False
    )
    client.close()

    assert client.base_url == "https://api.alpaca.markets"


def test_from_settings_builds_a_client_from_the_sandbox_settings(sandbox: Sandbox) -> None:
    settings = sandbox.settings(http_retry_attempts=2, http_retry_backoff_s=0.01)

    with AlpacaClient.from_settings(settings) as alpaca:
        assert alpaca.clock().is_open
        assert alpaca.retry.max_attempts == 2


def test_from_settings_names_missing_keys() -> None:
    with pytest.raises(ConfigurationError, match=r"ALPACA_KEY_ID(.|\n)*ALPACA_SECRET_KEY"):
        AlpacaClient.from_settings(load_settings(_env_file=None))


# --- outcome unknown ----------------------------------------------------------------------------


def submit(alpaca: AlpacaClient, cid: str = "cid-unknown") -> object:
    return alpaca.submit_order(symbol="NVDA", client_order_id=cid, notional=1000)


def test_a_connection_dropped_after_acceptance_resolves_to_the_one_order_placed(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.drop_after_accept())

    order = alpaca.submit_order(symbol="NVDA", client_order_id="cid-drop", notional=1000)

    [placed] = sandbox.broker.orders()
    assert order.id == placed["id"]
    assert sandbox.broker.orders_for("cid-drop") == 1
    assert sandbox.alpaca.request_count("POST", ORDERS) == 1, "resolved by lookup, not by resend"
    assert sandbox.alpaca.request_count("GET", BY_CLIENT_ID) == 1


def test_a_server_error_after_acceptance_resolves_to_the_one_order_placed(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.error_after_accept(500))

    order = alpaca.submit_order(symbol="NVDA", client_order_id="cid-500", notional=1000)

    assert order.id == sandbox.broker.orders()[0]["id"]
    assert sandbox.broker.accepted_count == 1
    assert sandbox.alpaca.request_count("POST", ORDERS) == 1


def test_a_timeout_after_acceptance_resolves_to_the_one_order_placed(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.hold_after_accept(3.0))
    quick = Timeouts(connect_s=1.0, read_s=0.3)

    with sandbox.alpaca_client(retry=FAST_RETRY, timeouts=quick) as alpaca:
        order = alpaca.submit_order(symbol="NVDA", client_order_id="cid-slow", notional=1000)
    sandbox.alpaca.release()

    assert order.client_order_id == "cid-slow"
    assert sandbox.broker.accepted_count == 1
    assert sandbox.alpaca.request_count("POST", ORDERS) == 1


def test_an_unreadable_answer_to_an_order_is_resolved_by_lookup_before_any_resend(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.malformed(method="POST", path=ORDERS))

    order = alpaca.submit_order(symbol="NVDA", client_order_id="cid-garbled", notional=1000)

    assert order.client_order_id == "cid-garbled"
    assert [(r.method, r.path, r.status) for r in sandbox.alpaca.requests()] == [
        ("POST", ORDERS, 200),
        ("GET", BY_CLIENT_ID, 404),
        ("POST", ORDERS, 200),
    ]
    assert sandbox.broker.orders_for("cid-garbled") == 1


def test_a_request_that_never_reached_the_broker_is_sent_again_after_a_404_lookup(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.drop(method="POST", path=ORDERS))

    order = alpaca.submit_order(symbol="NVDA", client_order_id="cid-lost", notional=1000)

    assert order.client_order_id == "cid-lost"
    assert [r.status for r in sandbox.alpaca.requests()] == [None, 404, 200]
    assert sandbox.broker.accepted_count == 1


def test_a_reused_client_order_id_resolves_to_the_existing_order(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    first = alpaca.submit_order(symbol="NVDA", client_order_id="cid-twice", notional=1000)

    second = alpaca.submit_order(symbol="NVDA", client_order_id="cid-twice", notional=1000)

    assert second.id == first.id
    assert sandbox.broker.submissions("cid-twice") == 2
    assert sandbox.broker.accepted_count == 1


def test_a_client_order_id_used_for_another_symbol_is_refused(alpaca: AlpacaClient) -> None:
    alpaca.submit_order(symbol="NVDA", client_order_id="cid-clash", notional=1000)

    with pytest.raises(ValidationRefusedError, match="already belongs to a buy order for NVDA"):
        alpaca.submit_order(symbol="AAPL", client_order_id="cid-clash", notional=1000)


def test_an_outcome_that_cannot_be_established_is_reported_as_unknown(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(
        Fault.drop_after_accept(), Fault.http_status(503, path=BY_CLIENT_ID, times=None)
    )

    with pytest.raises(OrderOutcomeUnknownError) as raised:
        alpaca.submit_order(symbol="NVDA", client_order_id="cid-dark", notional=1000)

    assert raised.value.client_order_id == "cid-dark"
    assert "cid-dark" in str(raised.value)
    assert sandbox.broker.accepted_count == 1
    assert sandbox.alpaca.request_count("POST", ORDERS) == 1, "never resent while unknown"


def test_a_lookup_finding_another_orders_client_order_id_is_a_conflict_not_an_unknown(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    alpaca.submit_order(symbol="AAPL", client_order_id="cid-taken", notional=1000)
    sandbox.alpaca.faults.add(Fault.drop(method="POST", path=ORDERS))

    with pytest.raises(ValidationRefusedError, match="already belongs to a buy order for AAPL"):
        alpaca.submit_order(symbol="NVDA", client_order_id="cid-taken", notional=1000)

    assert sandbox.broker.accepted_count == 1


def test_a_resend_refused_after_an_unknown_outcome_stays_unknown(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(
        Fault.drop(method="POST", path=ORDERS),
        Fault.http_status(429, retry_after=60, method="POST", path=ORDERS),
    )

    with pytest.raises(OrderOutcomeUnknownError, match="then resending failed"):
        alpaca.submit_order(symbol="NVDA", client_order_id="cid-resend", notional=1000)

    assert [r.status for r in sandbox.alpaca.requests()] == [None, 404, 429]


def test_a_rate_limited_order_never_sent_before_is_plainly_rate_limited(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=60, method="POST", path=ORDERS))

    with pytest.raises(RateLimitedError) as raised:
        alpaca.submit_order(symbol="NVDA", client_order_id="cid-limited", notional=1000)

    assert not isinstance(raised.value, OrderOutcomeUnknownError)
    assert sandbox.broker.submissions() == 0


def test_submissions_that_never_reach_the_broker_stop_after_the_allowed_attempts(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.drop(method="POST", path=ORDERS, times=None))

    with pytest.raises(OrderOutcomeUnknownError):
        alpaca.submit_order(symbol="NVDA", client_order_id="cid-void", notional=1000)

    assert sandbox.alpaca.request_count("POST", ORDERS) == FAST_RETRY.max_attempts
    assert sandbox.broker.accepted_count == 0


def test_a_rate_limited_order_is_retried_since_the_broker_did_not_take_it(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(429, retry_after=0, method="POST", path=ORDERS))

    order = alpaca.submit_order(symbol="NVDA", client_order_id="cid-429", notional=1000)

    assert order.status == "accepted"
    assert sandbox.alpaca.request_count("POST", ORDERS) == 2
    assert sandbox.broker.accepted_count == 1


def test_a_client_times_out_within_its_budget_when_the_broker_hangs(sandbox: Sandbox) -> None:
    sandbox.alpaca.faults.add(Fault.latency(2.0, path="/v2/clock", times=None))
    policy = RetryPolicy(max_attempts=10, budget_s=0.8, backoff_s=0.01, backoff_max_s=0.02)
    started = datetime.now(UTC)

    with (
        sandbox.alpaca_client(retry=policy, timeouts=FAST_TIMEOUTS) as alpaca,
        pytest.raises(ServiceUnavailableError, match="timed out"),
    ):
        alpaca.clock()

    assert datetime.now(UTC) - started < timedelta(seconds=1.8)
    assert sandbox.alpaca.request_count("GET", "/v2/clock") >= 1
