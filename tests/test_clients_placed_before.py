"""A submission tells an order it placed from one an earlier run had placed already."""

from __future__ import annotations

from decimal import Decimal

from trading_automation.clients import AlpacaClient
from trading_automation.sandbox import Fault, Sandbox


def test_an_order_refused_as_a_repeat_was_placed_before(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    first = alpaca.submit_order(symbol="AAPL", client_order_id="cid-repeat", notional=Decimal(10))

    again = alpaca.submit_order(symbol="AAPL", client_order_id="cid-repeat", notional=Decimal(10))

    assert not first.placed_before
    assert again.placed_before
    assert again.id == first.id
    assert sandbox.broker.orders_for("cid-repeat") == 1


def test_an_order_found_after_an_unknown_outcome_was_placed_by_this_call(
    sandbox: Sandbox, alpaca: AlpacaClient
) -> None:
    sandbox.alpaca.faults.add(Fault.drop_after_accept())

    order = alpaca.submit_order(symbol="AAPL", client_order_id="cid-dropped", notional=Decimal(10))

    assert not order.placed_before
    assert sandbox.broker.orders_for("cid-dropped") == 1
