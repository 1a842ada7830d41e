"""The trade state rules on their own: plain values, no database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import order_payload
from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.trade_rules import (
    IGNORED_STALE,
    IGNORED_TERMINAL,
    IGNORED_UNCHANGED,
    check_owner,
    may_finish_locally,
    order_change,
)
from trading_automation.errors import InvalidValueError

CID = "ta-" + "a" * 64
T0 = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


@dataclass
class Values:
    """A trade's values, as the rules read them."""

    client_order_id: str = CID
    alpaca_order_id: str | None = None
    status: TradeStatus = TradeStatus.NEW
    status_reason: str | None = None
    notional_submitted: Decimal | None = None
    qty_submitted: Decimal | None = None
    filled_qty: Decimal | None = None
    filled_avg_price: Decimal | None = None
    submitted_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None
    raw_order_json: dict[str, Any] | None = field(default=None)
    updated_at: datetime = T0


def _order(status: str, minute: int, filled: str = "0", **fields: Any) -> AlpacaOrder:
    moment = (T0 + timedelta(minutes=minute)).isoformat()
    return AlpacaOrder.from_api(
        order_payload(
            CID,
            id="order-1",
            status=status,
            filled_qty=filled,
            filled_avg_price="100.5" if filled != "0" else None,
            updated_at=moment,
            **fields,
        )
    )


def _apply(values: Values, order: AlpacaOrder) -> Values:
    change = order_change(values, order, NOW)
    if isinstance(change, str):
        return values
    return Values(**{**values.__dict__, **change})


def test_a_terminal_trade_never_changes() -> None:
    for status in (TradeStatus.FILLED, TradeStatus.FAILED, TradeStatus.SKIPPED):
        assert order_change(Values(status=status), _order("new", 1), NOW) == IGNORED_TERMINAL


def test_an_older_order_than_the_one_applied_is_ignored() -> None:
    newer = _apply(Values(), _order("partially_filled", 5, "2"))

    assert order_change(newer, _order("new", 1), NOW) == IGNORED_STALE


def test_the_same_order_twice_changes_nothing() -> None:
    order = _order("new", 1)

    assert order_change(_apply(Values(), order), order, NOW) == IGNORED_UNCHANGED


def test_a_filled_quantity_never_decreases_and_a_status_never_moves_back() -> None:
    partly = _apply(Values(), _order("partially_filled", 2, "3"))

    later = _apply(partly, _order("new", 3, "1"))

    assert later.filled_qty == Decimal(3)
    assert later.status is TradeStatus.PARTIALLY_FILLED
    assert later.updated_at == NOW


def test_a_bound_trade_refuses_another_order_and_an_order_of_another_trade() -> None:
    bound = Values(alpaca_order_id="order-9")

    with pytest.raises(InvalidValueError, match="bound to order order-9"):
        order_change(bound, _order("new", 1), NOW)
    with pytest.raises(InvalidValueError, match="belongs to"):
        check_owner(Values(client_order_id="ta-" + "b" * 64), _order("new", 1))


def test_only_an_open_unbound_trade_may_be_finished_locally() -> None:
    assert may_finish_locally(Values())
    assert not may_finish_locally(Values(alpaca_order_id="order-1"))
    assert not may_finish_locally(Values(status=TradeStatus.SKIPPED))


UPDATES = [
    ("accepted", 1, "0"),
    ("new", 2, "0"),
    ("partially_filled", 3, "2"),
    ("partially_filled", 4, "5"),
    ("filled", 5, "10"),
]


@given(st.permutations(range(len(UPDATES))))
def test_updates_in_any_order_end_in_the_same_state(order: list[int]) -> None:
    in_order = Values()
    for status, minute, filled in UPDATES:
        in_order = _apply(in_order, _order(status, minute, filled))
    shuffled = Values()
    for index in order:
        status, minute, filled = UPDATES[index]
        shuffled = _apply(shuffled, _order(status, minute, filled))

    assert (shuffled.status, shuffled.filled_qty) == (in_order.status, in_order.filled_qty)
    assert in_order.status is TradeStatus.FILLED


def test_each_pair_of_updates_commutes_on_status_and_fill() -> None:
    for first, second in itertools.permutations(UPDATES, 2):
        one = _apply(_apply(Values(), _order(*first)), _order(*second))
        two = _apply(_apply(Values(), _order(*second)), _order(*first))
        assert (one.status, one.filled_qty) == (two.status, two.filled_qty)
