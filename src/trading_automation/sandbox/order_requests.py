"""What the sandbox accepts of Alpaca's order requests: the checks of a `POST /v2/orders` body,
refused with Alpaca's errors, and the filters of `GET /v2/orders` (the server-side mirror of
`trading_automation.clients.alpaca_params`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from trading_automation import fixtures
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox.orders import SandboxOrder, parse_decimal, plain
from trading_automation.sandbox.server import Reply

MAX_CLIENT_ORDER_ID = 128
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def error(status: int, message: str, code: int = 40010001, **extra: Any) -> Reply:
    """An Alpaca error answer: `code` and `message`, after any `extra` fields."""
    return Reply(status, {**extra, "code": code, "message": message})


def parse_instant(text: str) -> datetime | None:
    """An instant from ISO text (a bare date is its New York midnight); None when unreadable."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), NEW_YORK)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def order_refusal(
    body: Mapping[str, Any],
    cid: str,
    *,
    prices: Collection[str],
    non_fractionable: Collection[str],
    client_order_ids: Collection[str],
) -> Reply | None:
    """Alpaca's 422 for an order body the sandbox refuses whatever the account holds; else None
    (a sell beyond the position is `insufficient_qty`'s 403, decided by the broker)."""
    symbol = str(body.get("symbol") or "").strip().upper()
    notional, qty = body.get("notional"), body.get("qty")
    side = str(body.get("side", "")).lower()
    if not symbol:
        return error(422, "symbol is required")
    if side not in ("buy", "sell"):
        return error(422, "side must be buy or sell")
    if str(body.get("type", "")).lower() != "market":
        return error(422, "type must be market (the sandbox only takes market orders)")
    if str(body.get("time_in_force", "")).lower() != "day":
        return error(422, "time_in_force must be day (the sandbox only takes day orders)")
    if (notional is None) == (qty is None):
        return error(422, "exactly one of qty or notional is required")
    if side == "sell" and notional is not None:
        return error(422, "a sell must give qty (the sandbox takes no notional sells)")
    amount = parse_decimal(notional if notional is not None else qty)
    if amount is None or amount <= 0:
        return error(422, f"invalid {'notional' if notional is not None else 'qty'}")
    if notional is not None and amount < 1:
        return error(422, "cost basis must be >= 1")
    if symbol not in prices:
        return error(422, f'could not find asset "{symbol}"')
    fractional = notional is not None or amount != amount.to_integral_value()
    if fractional and symbol in non_fractionable:
        return Reply(422, fixtures.alpaca_error("not_fractionable_422"))
    if len(cid) > MAX_CLIENT_ORDER_ID:
        return error(422, f"client_order_id must be at most {MAX_CLIENT_ORDER_ID} characters")
    if cid and cid in client_order_ids:
        return Reply(422, fixtures.alpaca_error("client_order_id_not_unique_422"))
    return None


def insufficient_qty(
    symbol: str, requested: Decimal, existing: Decimal, holding_orders: Mapping[str, Decimal]
) -> Reply:
    """Alpaca's 403 for a sell of more than the position's `existing` shares less those open sell
    orders (`holding_orders`: order id to shares held) hold."""
    held = sum(holding_orders.values(), start=Decimal(0))
    available = max(Decimal(0), existing - held)
    body = fixtures.alpaca_error("insufficient_qty_403")
    body.update(
        {
            "available": plain(available),
            "existing_qty": plain(existing),
            "held_for_orders": plain(held),
            "message": f"insufficient qty available for order (requested: {plain(requested)}, "
            f"available: {plain(available)})",
            "related_orders": sorted(holding_orders),
            "symbol": symbol,
        }
    )
    return Reply(403, body)


@dataclass(frozen=True)
class OrderQuery:
    """The filters of one `GET /v2/orders`."""

    status: str
    direction: str
    limit: int
    after: datetime | None
    until: datetime | None
    symbols: frozenset[str]
    side: str | None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> OrderQuery | Reply:
        """The filters `query` asks for, or Alpaca's 422 naming the first bad one."""
        status = query.get("status", "open")
        if status not in ("open", "closed", "all"):
            return error(422, f"invalid status {status!r}; use open, closed or all")
        direction = query.get("direction", "desc")
        if direction not in ("asc", "desc"):
            return error(422, f"invalid direction {direction!r}; use asc or desc")
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return error(422, "limit must be an integer")
        if not 1 <= limit <= MAX_LIMIT:
            return error(422, f"limit must be between 1 and {MAX_LIMIT}")
        bounds: dict[str, datetime | None] = {}
        for name in ("after", "until"):
            text = query.get(name)
            bounds[name] = parse_instant(text) if text else None
            if text and bounds[name] is None:
                return error(422, f"invalid {name} timestamp {text!r}")
        symbols = frozenset(
            s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()
        )
        side = query.get("side") or None
        if side not in (None, "buy", "sell"):
            return error(422, f"invalid side {side!r}; use buy or sell")
        return cls(
            status=status,
            direction=direction,
            limit=limit,
            after=bounds["after"],
            until=bounds["until"],
            symbols=symbols,
            side=side,
        )

    def matches(self, order: SandboxOrder) -> bool:
        """True when `order` passes every filter."""
        return (
            (self.status == "all" or (self.status == "open") == order.is_open)
            and (not self.symbols or order.symbol in self.symbols)
            and self.side in (None, order.side)
            and (self.after is None or order.created_at > self.after)
            and (self.until is None or order.created_at < self.until)
        )

    def select(self, orders: Iterable[SandboxOrder]) -> list[SandboxOrder]:
        """The orders that match, in the asked direction, at most `limit` of them."""
        chosen = [order for order in orders if self.matches(order)]
        chosen.sort(key=lambda o: (o.created_at, o.nanos), reverse=self.direction == "desc")
        return chosen[: self.limit]
