"""What the Alpaca client sends: order bodies and query parameters, checked and written exactly
before anything goes on the wire."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.errors import InvalidValueError

MAX_CLIENT_ORDER_ID_LENGTH = 128
MAX_LIST_LIMIT = 500

OrderStatusFilter = Literal["open", "closed", "all"]
Direction = Literal["asc", "desc"]
Side = Literal["buy", "sell"]


def order_payload(
    symbol: str,
    client_order_id: str,
    notional: Decimal | int | str | None,
    qty: Decimal | int | str | None,
    side: Side = "buy",
) -> dict[str, str]:
    """The JSON body of a market DAY buy of `notional` dollars or `qty` shares, or a sell of `qty`
    shares, checked first."""
    if side not in ("buy", "sell"):
        raise InvalidValueError("side", f"expected buy or sell, got {side!r}")
    if side == "sell" and notional is not None:
        raise InvalidValueError("notional", "a sell is for qty shares, not a notional amount")
    if (notional is None) == (qty is None):
        raise InvalidValueError("notional/qty", "give exactly one of notional or qty")
    cid = required(client_order_id, "client_order_id")
    if len(cid) > MAX_CLIENT_ORDER_ID_LENGTH:
        raise InvalidValueError(
            "client_order_id", f"at most {MAX_CLIENT_ORDER_ID_LENGTH} characters, got {len(cid)}"
        )
    payload = {
        "symbol": symbol_param(symbol),
        "side": side,
        "type": "market",
        "time_in_force": "day",
        "client_order_id": cid,
    }
    if notional is not None:
        amount = fit_decimal(
            notional,
            field="notional",
            precision=18,
            scale=2,
            minimum=Decimal(0),
            minimum_exclusive=True,
        )
        payload["notional"] = plain(amount)
    else:
        shares = fit_decimal(
            qty, field="qty", precision=27, scale=9, minimum=Decimal(0), minimum_exclusive=True
        )
        payload["qty"] = plain(shares)
    return payload


def order_list_params(
    *,
    status: OrderStatusFilter,
    after: datetime | None,
    until: datetime | None,
    limit: int | None,
    direction: Direction | None,
    symbols: Iterable[str] | None,
    side: Side | None,
    nested: bool | None,
) -> dict[str, str]:
    """The query of `GET /v2/orders`, each argument checked (see `AlpacaClient.list_orders`)."""
    if status not in ("open", "closed", "all"):
        raise InvalidValueError("status", f"expected open, closed or all, got {status!r}")
    params: dict[str, str] = {"status": status}
    if after is not None:
        params["after"] = iso_utc(after, "after")
    if until is not None:
        params["until"] = iso_utc(until, "until")
    if limit is not None:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidValueError("limit", f"must be 1 to {MAX_LIST_LIMIT}, got {limit}")
        params["limit"] = str(limit)
    if direction is not None:
        if direction not in ("asc", "desc"):
            raise InvalidValueError("direction", f"expected asc or desc, got {direction!r}")
        params["direction"] = direction
    if symbols is not None:
        names = [symbol_param(name) for name in symbols]
        if names:
            params["symbols"] = ",".join(names)
    if side is not None:
        if side not in ("buy", "sell"):
            raise InvalidValueError("side", f"expected buy or sell, got {side!r}")
        params["side"] = side
    if nested is not None:
        params["nested"] = "true" if nested else "false"
    return params


def plain(value: Decimal) -> str:
    """A decimal as exact text on the wire: "1000", not "1000.00" or "1E+3"."""
    return format(value.normalize(), "f")


def required(value: str, field: str) -> str:
    """`value` trimmed; `InvalidValueError` naming `field` when it is empty."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidValueError(field, "must not be empty")
    return text


def symbol_param(value: str) -> str:
    """A symbol as Alpaca takes it: trimmed, upper case."""
    return required(value, "symbol").upper()


def iso_utc(value: datetime, field: str) -> str:
    """An aware instant as ISO 8601 UTC text with `Z`."""
    return require_aware_utc(value, field=field).isoformat().replace("+00:00", "Z")
