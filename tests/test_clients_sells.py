"""The Alpaca client's sells against the sandbox over real HTTP on 127.0.0.1: the order sent, the
refusals a sell can meet, and the outcome-unknown handling, which works for sells as for buys."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from tests.sandbox_support import FAST_RETRY
from trading_automation import fixtures
from trading_automation.clients import (
    AlpacaClient,
    ApiError,
    AuthenticationError,
    InsufficientBuyingPowerError,
    InsufficientQuantityError,
    OrderOutcomeUnknownError,
    ValidationRefusedError,
)
from trading_automation.domain.jsonvalues import dumps
from trading_automation.errors import InvalidValueError
from trading_automation.sandbox import Fault, OrderScript, Sandbox

ORDERS = "/v2/orders"
BY_CLIENT_ID = "/v2/orders:by_client_order_id"
INSUFFICIENT_QTY = dumps(fixtures.alpaca_error("insufficient_qty_403"))


def hold(sandbox: Sandbox, symbol: str = "AAPL", qty: Decimal | str = "10") -> None:
    """Give the paper account `qty` shares of `symbol`, bought by hand."""
    sandbox.broker.adjust_position(symbol, qty)


def test_a_sell_is_a_market_day_sell_of_its_quantity(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox, "AAPL", "10")

    order = alpaca.submit_order(
        symbol="aapl", client_order_id="sell-1", qty=Decimal("2.5"), side="sell"
    )

    [sent] = sandbox.broker.orders()
    assert (order.side, order.symbol, order.qty, order.notional) == (
        "sell",
        "AAPL",
        Decimal("2.5"),
        None,
    )
    assert (order.type, order.time_in_force) == ("market", "day")
    assert (sent["side"], sent["qty"], sent["position_intent"]) == ("sell", "2.5", "sell_to_close")
    assert not order.placed_before


def test_a_buy_is_still_the_default_side(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    order = alpaca.submit_order(symbol="AAPL", client_order_id="buy-1", notional=1000)

    assert order.side == "buy"
    assert sandbox.broker.orders()[0]["side"] == "buy"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"notional": 1000, "side": "sell"}, "notional"),
        ({"notional": 1000, "qty": 1, "side": "sell"}, "notional"),
        ({"side": "sell"}, "notional/qty"),
        ({"qty": "0", "side": "sell"}, "qty"),
        ({"qty": 1, "side": "short"}, "side"),
    ],
)
def test_invalid_sells_are_refused_before_anything_is_sent(
    sandbox: Sandbox, alpaca: AlpacaClient, arguments: dict[str, object], field: str
) -> None:
    options: dict[str, object] = {"symbol": "AAPL", "client_order_id": "sell-bad"} | arguments

    with pytest.raises(InvalidValueError) as raised:
        alpaca.submit_order(**options)  # type: ignore[arg-type]

    assert raised.value.field == field
    assert sandbox.broker.submissions() == 0


def test_list_orders_filters_by_side(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    hold(sandbox)
    alpaca.submit_order(symbol="AAPL", client_order_id="b", notional=1000)
    alpaca.submit_order(symbol="AAPL", client_order_id="s", qty=1, side="sell")

    sells = alpaca.list_orders(status="all", side="sell")
    buys = alpaca.list_orders(status="all", side="buy")
    both = alpaca.list_orders(status="all")

    assert [order.client_order_id for order in sells] == ["s"]
    assert [order.client_order_id for order in buys] == ["b"]
    assert {order.client_order_id for order in both} == {"b", "s"}
    with pytest.raises(InvalidValueError, match="side"):
        alpaca.list_orders(side="short")  # type: ignore[arg-type]


# --- refusals -----------------------------------------------------------------------------------


def test_a_sell_beyond_the_position_is_insufficient_quantity_naming_what_is_there(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox, "AAPL", "4")

    with pytest.raises(InsufficientQuantityError) as raised:
        alpaca.submit_order(symbol="AAPL", client_order_id="sell-big", qty=10, side="sell")

    error = raised.value
    assert (error.status_code, error.code) == (403, 40310000)
    assert error.api_message == "insufficient qty available for order (requested: 10, available: 4)"
    assert (error.requested_qty, error.available_qty) == (Decimal(10), Decimal(4))
    assert not isinstance(error, InsufficientBuyingPowerError | AuthenticationError)
    assert sandbox.broker.accepted_count == 0
    assert sandbox.alpaca.request_count("POST", ORDERS) == 1, "a refusal is not retried"


def test_an_insufficient_quantity_error_keeps_its_quantities_through_pickling() -> None:
    with Sandbox() as sandbox, sandbox.alpaca_client(retry=FAST_RETRY) as alpaca:
        hold(sandbox, "AAPL", "0.5")
        with pytest.raises(InsufficientQuantityError) as raised:
            alpaca.submit_order(symbol="AAPL", client_order_id="s", qty="0.75", side="sell")

    copy = pickle.loads(pickle.dumps(raised.value))

    assert isinstance(copy, InsufficientQuantityError)
    assert (copy.requested_qty, copy.available_qty) == (Decimal("0.75"), Decimal("0.5"))
    assert str(copy) == str(raised.value)


def test_a_sell_with_no_position_at_all_is_insufficient_quantity(alpaca: AlpacaClient) -> None:
    with pytest.raises(InsufficientQuantityError) as raised:
        alpaca.submit_order(symbol="TSLA", client_order_id="sell-none", qty=1, side="sell")

    assert raised.value.available_qty == Decimal(0)


def test_a_fractional_sell_of_a_non_fractionable_asset_is_a_validation_refusal(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox, "KKR", "9")

    with pytest.raises(ValidationRefusedError) as raised:
        alpaca.submit_order(symbol="KKR", client_order_id="kkr-frac", qty="2.5", side="sell")
    whole = alpaca.submit_order(symbol="KKR", client_order_id="kkr-whole", qty=2, side="sell")

    assert (raised.value.status_code, raised.value.code) == (422, 40010001)
    assert raised.value.api_message == "requested asset is not fractionable"
    assert whole.qty == Decimal(2)


# --- outcome unknown ----------------------------------------------------------------------------


def test_a_sell_dropped_after_acceptance_resolves_to_the_one_sell_placed(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox)
    sandbox.alpaca.faults.add(Fault.drop_after_accept())

    order = alpaca.submit_order(symbol="AAPL", client_order_id="sell-drop", qty=10, side="sell")

    assert order.side == "sell"
    assert not order.placed_before, "this call placed it"
    assert sandbox.broker.orders_for("sell-drop") == 1
    assert sandbox.alpaca.request_count("POST", ORDERS) == 1, "resolved by lookup, not by resend"


def test_a_sell_refused_as_a_repeat_was_placed_before(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox)
    first = alpaca.submit_order(symbol="AAPL", client_order_id="sell-2x", qty=10, side="sell")

    again = alpaca.submit_order(symbol="AAPL", client_order_id="sell-2x", qty=10, side="sell")

    assert again.placed_before
    assert again.id == first.id
    assert sandbox.broker.orders_for("sell-2x") == 1


def test_a_client_order_id_of_a_buy_is_refused_for_a_sell_and_the_other_way_round(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox)
    alpaca.submit_order(symbol="AAPL", client_order_id="cid-buy", notional=1000)
    alpaca.submit_order(symbol="AAPL", client_order_id="cid-sell", qty=1, side="sell")

    with pytest.raises(ValidationRefusedError, match=r"a buy order for AAPL .*not this AAPL sell"):
        alpaca.submit_order(symbol="AAPL", client_order_id="cid-buy", qty=1, side="sell")
    with pytest.raises(ValidationRefusedError, match=r"a sell order for AAPL .*not this AAPL buy"):
        alpaca.submit_order(symbol="AAPL", client_order_id="cid-sell", notional=1000)

    assert sandbox.broker.accepted_count == 2


def test_a_sell_whose_outcome_cannot_be_established_is_reported_as_an_unknown_sell(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox)
    sandbox.alpaca.faults.add(
        Fault.drop_after_accept(), Fault.http_status(503, path=BY_CLIENT_ID, times=None)
    )

    with pytest.raises(OrderOutcomeUnknownError, match="outcome of sell order 'sell-dark'"):
        alpaca.submit_order(symbol="AAPL", client_order_id="sell-dark", qty=10, side="sell")

    assert sandbox.alpaca.request_count("POST", ORDERS) == 1, "never resent while unknown"


def test_a_resend_refused_for_lack_of_shares_finds_the_earlier_sell_holding_them(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    # The first sell is accepted, its answer lost and a lookup misses it; the resend is refused
    # because that very sell holds the shares. The order exists: the refusal is not final.
    hold(sandbox)
    sandbox.alpaca.faults.add(
        Fault.drop_after_accept(),
        Fault.http_status(404, method="GET", path=BY_CLIENT_ID),
        Fault.http_status(403, body=INSUFFICIENT_QTY, method="POST", path=ORDERS, skip=1),
    )

    order = alpaca.submit_order(symbol="AAPL", client_order_id="sell-held", qty=10, side="sell")

    assert order.id == sandbox.broker.orders()[0]["id"]
    assert [r.status for r in sandbox.alpaca.requests()] == [None, 404, 403, 200]
    assert sandbox.broker.orders_for("sell-held") == 1


def test_a_resend_refused_for_lack_of_buying_power_finds_the_earlier_buy_holding_it(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    refusal = dumps(fixtures.alpaca_error("insufficient_buying_power_403"))
    sandbox.alpaca.faults.add(
        Fault.drop_after_accept(),
        Fault.http_status(404, method="GET", path=BY_CLIENT_ID),
        Fault.http_status(403, body=refusal, method="POST", path=ORDERS, skip=1),
    )

    order = alpaca.submit_order(symbol="AAPL", client_order_id="buy-held", notional=1000)

    assert order.client_order_id == "buy-held"
    assert [r.status for r in sandbox.alpaca.requests()] == [None, 404, 403, 200]


def test_a_resend_refused_for_lack_of_shares_is_final_when_no_earlier_sell_exists(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    # The first send never reached the broker; meanwhile the shares were sold by hand.
    hold(sandbox, "AAPL", "4")
    sandbox.alpaca.faults.add(Fault.drop(method="POST", path=ORDERS))

    with pytest.raises(InsufficientQuantityError) as raised:
        alpaca.submit_order(symbol="AAPL", client_order_id="sell-gone", qty=10, side="sell")

    assert raised.value.available_qty == Decimal(4)
    assert [r.status for r in sandbox.alpaca.requests()] == [None, 404, 403, 404]
    assert sandbox.broker.accepted_count == 0


def test_a_first_refusal_for_lack_of_shares_is_final_without_a_lookup(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    with pytest.raises(ApiError):
        alpaca.submit_order(symbol="AAPL", client_order_id="sell-first", qty=1, side="sell")

    assert sandbox.alpaca.request_count("GET", BY_CLIENT_ID) == 0


def test_partial_fills_of_a_sell_are_reported_before_the_fill(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    hold(sandbox, "AAPL", "10")
    sandbox.broker.set_script(OrderScript(partial_fill_after_polls=1, fill_after_polls=3))
    placed = alpaca.submit_order(symbol="AAPL", client_order_id="sell-p", qty=10, side="sell")

    partial = alpaca.get_order(placed.id)
    done = [alpaca.get_order(placed.id) for _ in range(2)][-1]

    assert (partial.status, partial.filled_qty) == ("partially_filled", Decimal(5))
    assert (done.status, done.filled_qty) == ("filled", Decimal(10))
    assert done.filled_avg_price == Decimal("213.93")
    assert alpaca.positions() == []
