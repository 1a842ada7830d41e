"""The rules a trade's state obeys, as pure functions (no database, no HTTP).

- A terminal trade (FILLED, CANCELED, EXPIRED, REJECTED, FAILED, SKIPPED) never changes again.
- An order older than the one already applied (by its last change) is ignored: updates arriving
  in any order end in the same state.
- A trade's status never moves back (`STATUS_RANK`), and its filled quantity never decreases.
- A trade's broker order id never changes once set, and an order belongs to exactly one trade
  (by client order id).

`order_change` applies them: from a trade's current values and an Alpaca order it gives the
trade's new values, or why the order changes nothing. The trade repository writes the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.jsonvalues import without_unstorable
from trading_automation.domain.orders import STATUS_RANK, AlpacaOrder
from trading_automation.errors import InvalidValueError

# (precision, scale) of the trade's money and quantity columns.
NOTIONAL_DIGITS = (18, 2)
QUANTITY_DIGITS = (18, 9)
PRICE_DIGITS = (18, 9)

# The values an order from the broker may change, written together.
APPLIED_FIELDS = (
    "alpaca_order_id",
    "status",
    "status_reason",
    "notional_submitted",
    "qty_submitted",
    "filled_qty",
    "filled_avg_price",
    "submitted_at",
    "filled_at",
    "canceled_at",
    "failed_at",
    "raw_order_json",
    "updated_at",
)
# Why an order changes nothing.
IGNORED_TERMINAL = "terminal"
IGNORED_STALE = "stale"
IGNORED_UNCHANGED = "unchanged"


class TradeValues(Protocol):
    """What the rules read of a trade (a `Trade` row satisfies it)."""

    client_order_id: str
    alpaca_order_id: str | None
    status: TradeStatus
    status_reason: str | None
    notional_submitted: Decimal | None
    qty_submitted: Decimal | None
    filled_qty: Decimal | None
    filled_avg_price: Decimal | None
    submitted_at: datetime | None
    filled_at: datetime | None
    canceled_at: datetime | None
    failed_at: datetime | None
    raw_order_json: dict[str, Any] | None
    updated_at: datetime


def parse_order(order: AlpacaOrder | Mapping[str, Any]) -> AlpacaOrder:
    """An order object, or its payload parsed; `InvalidValueError` names what is wrong."""
    if isinstance(order, AlpacaOrder):
        return order
    try:
        return AlpacaOrder.from_api(order)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or "order"
        raise InvalidValueError(field, str(first.get("msg", "invalid value"))) from None


def check_owner(trade: TradeValues, order: AlpacaOrder) -> None:
    """Refuse an order placed with another trade's client order id."""
    if order.client_order_id != trade.client_order_id:
        raise InvalidValueError(
            "client_order_id",
            f"order {order.id} belongs to {order.client_order_id!r}, "
            f"not to trade {trade.client_order_id!r}",
        )


def order_change(trade: TradeValues, order: AlpacaOrder, now: datetime) -> dict[str, Any] | str:
    """The trade's new values (`APPLIED_FIELDS`) for this order; or why it is ignored.

    Raises when the order is not the trade's: a trade's broker order id never changes once set.
    """
    if trade.alpaca_order_id is not None and trade.alpaca_order_id != order.id:
        raise InvalidValueError(
            "id", f"trade is bound to order {trade.alpaca_order_id}, got order {order.id}"
        )
    if trade.status.is_terminal:
        return IGNORED_TERMINAL
    applied = last_applied_change(trade)
    incoming = order.last_change
    if applied is not None and incoming is not None and incoming < applied:
        return IGNORED_STALE
    if trade.alpaca_order_id == order.id and trade.raw_order_json == order.raw:
        return IGNORED_UNCHANGED

    filled_qty = _fitted(order.filled_qty, QUANTITY_DIGITS, "filled_qty")
    filled_price = _fitted(order.filled_avg_price, PRICE_DIGITS, "filled_avg_price")
    notional = _fitted(order.notional, NOTIONAL_DIGITS, "notional")
    qty = _fitted(order.qty, QUANTITY_DIGITS, "qty")
    status = order.trade_status
    if STATUS_RANK[status] < STATUS_RANK[trade.status]:
        status = trade.status
    change: dict[str, Any] = {name: getattr(trade, name) for name in APPLIED_FIELDS}
    if filled_qty is not None and (trade.filled_qty is None or filled_qty >= trade.filled_qty):
        change["filled_qty"] = filled_qty
        if filled_price is not None:
            change["filled_avg_price"] = filled_price
    change["alpaca_order_id"] = order.id
    change["status"] = status
    if notional is not None:
        change["notional_submitted"] = notional
    if qty is not None and notional is None:
        change["qty_submitted"] = qty
    change["submitted_at"] = order.submitted_at or order.created_at or trade.submitted_at
    change["filled_at"] = order.filled_at or trade.filled_at
    change["canceled_at"] = order.canceled_at or trade.canceled_at
    change["failed_at"] = order.failed_at or trade.failed_at
    if status in {TradeStatus.CANCELED, TradeStatus.EXPIRED, TradeStatus.REJECTED}:
        change["status_reason"] = without_unstorable(f"Alpaca reported the order {order.status}")
    change["raw_order_json"] = order.raw
    change["updated_at"] = now
    return change


def last_applied_change(trade: TradeValues) -> datetime | None:
    """When the broker last changed the order the trade holds (None before any)."""
    if not trade.raw_order_json:
        return None
    try:
        return AlpacaOrder.from_api(trade.raw_order_json).last_change
    except ValidationError:
        return None


def may_finish_locally(trade: TradeValues) -> bool:
    """Whether the system may mark a trade FAILED or SKIPPED itself: only while it is open and
    no broker order is bound to it (then its outcome comes from the broker)."""
    return not trade.status.is_terminal and trade.alpaca_order_id is None


def _fitted(value: object, digits: tuple[int, int], field: str) -> Decimal | None:
    if value is None:
        return None
    precision, scale = digits
    return fit_decimal(value, field=field, precision=precision, scale=scale, minimum=Decimal(0))
