"""The sandbox sells like Alpaca: refusals word for word, shares held by open sells, fills that
shrink the position and pay the cash, never a short position, and shares sold by hand outside any
order (in-process and over the control endpoint)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sandbox_support import FAST_RETRY
from trading_automation import fixtures
from trading_automation.clients import AlpacaClient
from trading_automation.sandbox import OrderScript, Sandbox, SandboxControl
from trading_automation.sandbox.process import SandboxControlError

KEYS = {"APCA-API-KEY-ID": "sandbox-key-id", "APCA-API-SECRET-KEY": "sandbox-secret-key"}
AAPL = Decimal("213.93")  # the fixture's latest AAPL trade


def post_order(sandbox: Sandbox, **body: Any) -> httpx.Response:
    order = {"symbol": "AAPL", "side": "sell", "type": "market", "time_in_force": "day"} | body
    return httpx.post(f"{sandbox.alpaca.url}/v2/orders", json=order, headers=KEYS, timeout=5)


def position(sandbox: Sandbox, symbol: str = "AAPL") -> dict[str, Any] | None:
    return next((p for p in sandbox.broker.positions() if p["symbol"] == symbol), None)


def filled(alpaca: AlpacaClient, order_id: str) -> None:
    """Poll an order until the default script fills it (two polls)."""
    for _ in range(2):
        alpaca.get_order(order_id)


@pytest.fixture
def bought(sandbox: Sandbox, alpaca: AlpacaClient) -> Sandbox:
    """The sandbox after a filled buy of 10 AAPL at $213.93 ($2,139.30)."""
    order = alpaca.submit_order(symbol="AAPL", client_order_id="buy-10", qty=10)
    filled(alpaca, order.id)
    return sandbox


# --- refusals -----------------------------------------------------------------------------------


def test_a_sell_beyond_the_position_is_refused_with_alpacas_403_body(bought: Sandbox) -> None:
    answer = post_order(bought, qty="12", client_order_id="too-many")

    assert answer.status_code == 403
    assert answer.json() == {
        "available": "10",
        "code": 40310000,
        "existing_qty": "10",
        "held_for_orders": "0",
        "message": "insufficient qty available for order (requested: 12, available: 10)",
        "related_orders": [],
        "symbol": "AAPL",
    }
    assert list(answer.json()) == list(fixtures.alpaca_error("insufficient_qty_403"))
    assert bought.broker.accepted_count == 1, "only the buy"


def test_shares_held_by_an_open_sell_are_not_available_to_another(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    first = alpaca.submit_order(symbol="AAPL", client_order_id="s-1", qty=7, side="sell")

    answer = post_order(bought, qty="4", client_order_id="s-2")
    [held] = alpaca.positions()

    assert answer.status_code == 403
    assert answer.json()["message"].endswith("(requested: 4, available: 3)")
    assert answer.json()["held_for_orders"] == "7"
    assert answer.json()["related_orders"] == [first.id]
    assert (held.qty, held.qty_available) == (Decimal(10), Decimal(3))
    assert post_order(bought, qty="3", client_order_id="s-3").status_code == 200


def test_a_sell_without_a_position_is_refused_and_never_opens_a_short(sandbox: Sandbox) -> None:
    answer = post_order(sandbox, symbol="TSLA", qty="1", client_order_id="short")

    assert answer.status_code == 403
    assert answer.json()["message"] == (
        "insufficient qty available for order (requested: 1, available: 0)"
    )
    assert sandbox.broker.positions() == []
    assert sandbox.broker.accepted_count == 0


def test_a_fractional_sell_of_a_non_fractionable_asset_gets_alpacas_422(
    sandbox: Sandbox,
) -> None:
    sandbox.broker.adjust_position("KKR", 9)

    fractional = post_order(sandbox, symbol="KKR", qty="1.5", client_order_id="kkr-1")
    whole = post_order(sandbox, symbol="KKR", qty="9", client_order_id="kkr-2")

    assert fractional.status_code == 422
    assert fractional.json() == fixtures.alpaca_error("not_fractionable_422")
    assert whole.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"notional": "100"}, "a sell must give qty (the sandbox takes no notional sells)"),
        ({"qty": "1", "side": "short"}, "side must be buy or sell"),
    ],
)
def test_sells_the_sandbox_does_not_simulate_are_refused_with_a_422(
    bought: Sandbox, body: dict[str, str], message: str
) -> None:
    answer = post_order(bought, client_order_id="odd", **body)

    assert (answer.status_code, answer.json()["message"]) == (422, message)


# --- fills --------------------------------------------------------------------------------------


def test_a_filled_sell_shrinks_the_position_and_pays_the_proceeds_into_cash(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    cash_before = alpaca.account().cash
    bought.broker.set_prices({"AAPL": "220"})
    order = alpaca.submit_order(symbol="AAPL", client_order_id="s-4", qty=4, side="sell")
    filled(alpaca, order.id)

    done = alpaca.get_order(order.id)
    [held] = alpaca.positions()
    account = alpaca.account()

    assert (done.status, done.filled_qty, done.filled_avg_price) == ("filled", 4, Decimal(220))
    assert account.cash == cash_before + Decimal(880)
    assert (held.qty, held.qty_available) == (Decimal(6), Decimal(6))
    assert held.avg_entry_price == AAPL, "a sell leaves the average entry price unchanged"
    assert held.cost_basis == Decimal("1283.58")
    assert held.market_value == Decimal("1320.00")
    assert held.unrealized_pl == Decimal("36.42")
    assert held.current_price == Decimal(220)
    assert account.equity == account.cash + Decimal("1320.00")


def test_selling_the_whole_position_removes_it(bought: Sandbox, alpaca: AlpacaClient) -> None:
    order = alpaca.submit_order(symbol="AAPL", client_order_id="s-all", qty=10, side="sell")
    filled(alpaca, order.id)

    assert alpaca.positions() == []
    assert alpaca.account().cash == Decimal(100_000)


def test_a_partly_filled_sell_moves_that_much_and_holds_the_rest(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    bought.broker.set_script(OrderScript(partial_fill_after_polls=1, fill_after_polls=None))
    order = alpaca.submit_order(symbol="AAPL", client_order_id="s-half", qty=10, side="sell")

    partial = alpaca.get_order(order.id)
    [held] = alpaca.positions()

    assert (partial.status, partial.filled_qty) == ("partially_filled", Decimal(5))
    assert (held.qty, held.qty_available) == (Decimal(5), Decimal(0))
    assert alpaca.account().cash == Decimal(100_000) - 5 * AAPL


@pytest.mark.parametrize("final", ["canceled", "expired", "rejected"])
def test_a_sell_that_ends_unfilled_releases_its_shares(
    bought: Sandbox, alpaca: AlpacaClient, final: str
) -> None:
    bought.broker.set_script(OrderScript(fill_after_polls=1, final_status=final), "AAPL")  # type: ignore[arg-type]
    order = alpaca.submit_order(symbol="AAPL", client_order_id="s-end", qty=10, side="sell")

    ended = alpaca.get_order(order.id)
    [held] = alpaca.positions()

    assert ended.status == final
    assert (held.qty, held.qty_available) == (Decimal(10), Decimal(10))


def test_sell_orders_have_the_shape_of_the_order_fixtures(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    alpaca.submit_order(symbol="AAPL", client_order_id="s-shape", qty="0.5", side="sell")
    sell = bought.broker.orders()[-1]

    assert set(sell) == set(fixtures.alpaca_order("filled"))
    assert (sell["side"], sell["position_intent"], sell["qty"]) == ("sell", "sell_to_close", "0.5")
    assert sell["notional"] is None


def test_preloaded_sells_are_taken_from_the_preloaded_buys() -> None:
    buy = fixtures.alpaca_order("filled_whole_shares")  # 9 KKR
    sell = buy | {"id": "held-sell", "client_order_id": "old-sell", "side": "sell"}
    sell |= {"qty": "4", "filled_qty": "4", "filled_avg_price": "110"}

    with Sandbox(orders=[buy, sell], cash="10000") as sandbox:
        [held] = sandbox.broker.positions()
        cash = sandbox.broker.cash

    assert (held["symbol"], held["qty"], held["avg_entry_price"]) == ("KKR", "5", "104.52")
    assert cash == Decimal(10000) - 9 * Decimal("104.52") + 4 * Decimal(110)


def test_a_preloaded_sell_of_shares_never_bought_is_refused_at_once() -> None:
    sell = fixtures.alpaca_order("filled_whole_shares") | {"side": "sell"}

    with pytest.raises(ValueError, match="cannot take 9 KKR from 0 held"):
        Sandbox(orders=[sell])


# --- by hand ------------------------------------------------------------------------------------


def test_shares_sold_by_hand_leave_the_position_and_pay_the_cash(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    after = bought.broker.adjust_position("aapl", "-3")

    [held] = alpaca.positions()
    assert after is not None
    assert after["qty"] == "7"
    assert (held.qty, held.avg_entry_price) == (Decimal(7), AAPL)
    assert alpaca.account().cash == Decimal(100_000) - 7 * AAPL
    assert bought.broker.accepted_count == 1, "no order: the sale happened outside any"


def test_a_sale_by_hand_makes_a_later_sell_of_the_whole_lot_too_big(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    bought.broker.adjust_position("AAPL", -4)

    answer = post_order(bought, qty="10", client_order_id="lot-exit")

    assert answer.status_code == 403
    assert answer.json()["message"].endswith("(requested: 10, available: 6)")


def test_selling_everything_by_hand_removes_the_position(bought: Sandbox) -> None:
    assert bought.broker.adjust_position("AAPL", "-10") is None
    assert bought.broker.positions() == []


def test_buying_by_hand_adds_at_the_latest_price(sandbox: Sandbox) -> None:
    sandbox.broker.set_prices({"AAPL": "200"})
    sandbox.broker.adjust_position("AAPL", 2)
    sandbox.broker.set_prices({"AAPL": "230"})
    sandbox.broker.adjust_position("AAPL", 2)

    held = position(sandbox)
    assert held is not None
    assert (held["qty"], held["avg_entry_price"], held["cost_basis"]) == ("4", "215", "860")
    assert sandbox.broker.cash == Decimal(100_000) - 860


@pytest.mark.parametrize(
    ("symbol", "delta", "problem"),
    [
        ("AAPL", "-11", "cannot sell 11 AAPL: 10 available"),
        ("KKR", "-1", "cannot sell 1 KKR: 0 available"),
        ("KKR", "0.5", "KKR is not fractionable"),
        ("ZZZZ", "1", "cannot adjust ZZZZ"),
        ("AAPL", "0", "cannot adjust AAPL"),
        ("AAPL", "lots", "cannot adjust AAPL"),
        ("AAPL", "1000", "cost more than the buying power"),
    ],
)
def test_trades_by_hand_alpaca_would_refuse_are_refused(
    bought: Sandbox, symbol: str, delta: str, problem: str
) -> None:
    cash = bought.broker.cash

    with pytest.raises(ValueError, match=problem):
        bought.broker.adjust_position(symbol, delta)

    assert bought.broker.cash == cash
    assert position(bought)["qty"] == "10"  # type: ignore[index]


def test_shares_held_by_an_open_sell_cannot_be_sold_by_hand(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    alpaca.submit_order(symbol="AAPL", client_order_id="s-open", qty=8, side="sell")

    with pytest.raises(ValueError, match="cannot sell 3 AAPL: 2 available"):
        bought.broker.adjust_position("AAPL", -3)


def test_a_reset_forgets_trades_by_hand(bought: Sandbox) -> None:
    bought.alpaca.reset()

    assert bought.broker.positions() == []
    assert bought.broker.cash == Decimal(100_000)


def test_shares_are_sold_by_hand_over_the_control_endpoint(
    bought: Sandbox, alpaca: AlpacaClient
) -> None:
    control = SandboxControl(bought.alpaca.url)

    after = control.adjust_position("AAPL", Decimal(-3))
    listed = control.positions()

    assert after is not None
    assert after["qty"] == listed[0]["qty"] == "7"
    assert control.adjust_position("AAPL", "-7") is None
    assert control.positions() == []
    assert alpaca.account().cash == Decimal(100_000)
    with pytest.raises(SandboxControlError, match=r"400.*cannot sell 1 AAPL: 0 available"):
        control.adjust_position("AAPL", -1)


def test_the_control_endpoint_takes_the_quantity_as_json_text(bought: Sandbox) -> None:
    answer = httpx.post(f"{bought.alpaca.url}/_sandbox/positions/AAPL", json={"qty": "-2.5"})

    assert answer.status_code == 200
    assert answer.json()["position"]["qty"] == "7.5"
    assert answer.json()["cash"] == "98395.53", "100,000 - 2,139.30 + 534.83 (2.5 shares at 213.93)"


def test_the_sandbox_stays_usable_for_a_client_after_a_sale_by_hand(
    bought: Sandbox,
) -> None:
    bought.broker.adjust_position("AAPL", -9)

    with bought.alpaca_client(retry=FAST_RETRY) as alpaca:
        order = alpaca.submit_order(symbol="AAPL", client_order_id="rest", qty=1, side="sell")
        filled(alpaca, order.id)
        positions = alpaca.positions()

    assert positions == []
