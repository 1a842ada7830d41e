"""Parsing Alpaca order payloads and mapping broker statuses to trade statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.orders import AlpacaOrder, map_order_status

BASE = {"id": "o-1", "client_order_id": "c-1", "symbol": "AAPL", "status": "new"}


def test_numeric_strings_become_exact_decimals_and_timestamps_aware() -> None:
    order = AlpacaOrder.from_api(
        BASE
        | {
            "filled_qty": "4.180203894",
            "filled_avg_price": "239.225",
            "notional": "1000",
            "updated_at": "2024-06-20T13:30:01.123456789Z",
            "filled_at": "2024-06-20T09:30:02-04:00",
        }
    )

    assert order.filled_qty == Decimal("4.180203894")
    assert order.filled_avg_price == Decimal("239.225")
    assert order.notional == Decimal("1000")
    assert order.updated_at == datetime(2024, 6, 20, 13, 30, 1, 123456, tzinfo=UTC)
    assert order.filled_at == datetime(2024, 6, 20, 13, 30, 2, tzinfo=UTC)
    assert order.filled_at is not None
    assert order.filled_at.tzinfo is UTC  # converted once, at the boundary


def test_missing_and_empty_optional_fields_are_none_and_extras_are_kept() -> None:
    order = AlpacaOrder.from_api(
        BASE | {"qty": None, "filled_at": "", "legs": None, "extended_hours": False}
    )

    assert order.qty is None
    assert order.filled_at is None
    assert order.filled_avg_price is None
    assert order.model_extra == {"legs": None, "extended_hours": False}
    assert order.raw == BASE | {"qty": None, "filled_at": "", "legs": None, "extended_hours": False}


@pytest.mark.parametrize("bad", [{"qty": "NaN"}, {"filled_qty": "lots"}, {"id": None}])
def test_unparseable_payloads_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AlpacaOrder.from_api(BASE | bad)


@pytest.mark.parametrize(
    ("alpaca", "filled", "expected"),
    [
        ("new", None, TradeStatus.ACCEPTED),
        ("accepted", None, TradeStatus.ACCEPTED),
        ("pending_new", None, TradeStatus.ACCEPTED),
        ("partially_filled", Decimal(1), TradeStatus.PARTIALLY_FILLED),
        ("filled", Decimal(2), TradeStatus.FILLED),
        ("canceled", None, TradeStatus.CANCELED),
        ("replaced", None, TradeStatus.CANCELED),
        ("expired", None, TradeStatus.EXPIRED),
        ("rejected", None, TradeStatus.REJECTED),
        ("done_for_day", Decimal(0), TradeStatus.ACCEPTED),
        ("done_for_day", Decimal("0.5"), TradeStatus.PARTIALLY_FILLED),
        ("pending_cancel", None, TradeStatus.ACCEPTED),
        ("calculated", Decimal(3), TradeStatus.PARTIALLY_FILLED),
        ("some_future_status", None, TradeStatus.ACCEPTED),
        ("FILLED", Decimal(2), TradeStatus.FILLED),
    ],
)
def test_broker_statuses_map_to_trade_statuses(
    alpaca: str, filled: Decimal | None, expected: TradeStatus
) -> None:
    assert map_order_status(alpaca, filled) is expected


def test_last_change_falls_back_to_the_newest_event_time() -> None:
    order = AlpacaOrder.from_api(
        BASE | {"created_at": "2024-06-20T13:30:00Z", "filled_at": "2024-06-20T13:31:00Z"}
    )

    assert order.last_change == datetime(2024, 6, 20, 13, 31, tzinfo=UTC)
