"""Orders held by the sandbox broker: how they move along, what they cost and hold back, and how
Alpaca's API shows them (the positions and account they add up to: `sandbox.account`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.timestamps import NEW_YORK

OPEN_STATUSES = frozenset({"accepted", "new", "pending_new", "partially_filled"})
FinalStatus = Literal["filled", "canceled", "expired", "rejected"]
Side = Literal["buy", "sell"]

SHARES = Decimal("0.000000001")
CENTS = Decimal("0.01")


def plain(value: Decimal) -> str:
    """A decimal as Alpaca writes it: no exponent, no trailing zeros."""
    if value.is_zero():
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: Decimal) -> str:
    """An amount rounded half-up to the cent, written like `plain`."""
    return plain(value.quantize(CENTS, rounding=ROUND_HALF_UP))


def order_timestamp(instant: datetime, nanos: int = 0) -> str:
    """Alpaca's order timestamp: UTC, nanosecond precision, `Z`."""
    moment = instant.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}{nanos % 1000:03d}Z"


def asset_id(symbol: str) -> str:
    """The sandbox's fixed asset id of `symbol` (the same in orders, positions and assets)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-asset/{symbol.upper()}"))


def parse_decimal(value: object) -> Decimal | None:
    """A finite decimal from a JSON string or number; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


@dataclass
class OrderScript:
    """How the sandbox moves an accepted order along, counted in polls of it."""

    fill_after_polls: int | None = 2
    partial_fill_after_polls: int | None = None
    partial_fraction: Decimal = Decimal("0.5")
    final_status: FinalStatus = "filled"

    def __post_init__(self) -> None:
        self.partial_fraction = Decimal(str(self.partial_fraction))
        if not Decimal(0) < self.partial_fraction < Decimal(1):
            raise ValueError("partial_fraction must be between 0 and 1")
        if self.final_status not in ("filled", "canceled", "expired", "rejected"):
            raise ValueError(f"unknown final status {self.final_status!r}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what `POST /_sandbox/scripts` takes)."""
        data = asdict(self)
        data["partial_fraction"] = str(self.partial_fraction)
        return data


@dataclass
class SandboxOrder:
    """One order held by the sandbox broker."""

    id: str
    client_order_id: str
    symbol: str
    notional: Decimal | None
    qty: Decimal | None
    price: Decimal
    script: OrderScript
    created_at: datetime
    nanos: int
    status: str = "accepted"
    filled_qty: Decimal = Decimal(0)
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    polls: int = 0
    asset_id: str = field(default="")
    side: Side = "buy"

    @classmethod
    def from_api(
        cls, payload: Mapping[str, Any], *, prices: Mapping[str, Decimal], script: OrderScript
    ) -> SandboxOrder:
        """An order the account already holds, from its Alpaca payload (ValueError if unusable).

        It fills at its `filled_avg_price`, else at the symbol's latest price, and moves along
        `script` from its next poll like any other. A sell gives `qty`.
        """
        parsed = AlpacaOrder.from_api(payload)
        symbol = parsed.symbol.strip().upper()
        side = (parsed.side or "buy").strip().lower()
        if symbol not in prices:
            raise ValueError(f"order {parsed.id}: the sandbox has no price for {symbol}")
        if (parsed.notional is None) == (parsed.qty is None) or parsed.created_at is None:
            raise ValueError(f"order {parsed.id}: needs created_at and one of notional or qty")
        if side not in ("buy", "sell") or (side == "sell" and parsed.qty is None):
            raise ValueError(f"order {parsed.id}: must be a buy, or a sell of qty shares")
        return cls(
            id=parsed.id,
            client_order_id=parsed.client_order_id,
            symbol=symbol,
            notional=parsed.notional,
            qty=parsed.qty,
            price=parsed.filled_avg_price or prices[symbol],
            script=script,
            created_at=parsed.created_at,
            nanos=0,
            status=parsed.status,
            filled_qty=parsed.filled_qty or Decimal(0),
            updated_at=parsed.updated_at,
            filled_at=parsed.filled_at,
            canceled_at=parsed.canceled_at,
            expired_at=parsed.expired_at,
            failed_at=parsed.failed_at,
            asset_id=asset_id(symbol),
            side="sell" if side == "sell" else "buy",
        )

    @property
    def is_open(self) -> bool:
        """True until the order reached a final status."""
        return self.status in OPEN_STATUSES

    @property
    def target_qty(self) -> Decimal:
        """The shares the order buys or sells when completely filled."""
        if self.qty is not None:
            return self.qty
        assert self.notional is not None
        return (self.notional / self.price).quantize(SHARES, rounding=ROUND_DOWN)

    @property
    def cost_basis(self) -> Decimal:
        """What the order may cost: its notional, or qty times the price."""
        return self.notional if self.notional is not None else self.qty_cost(self.target_qty)

    def qty_cost(self, qty: Decimal) -> Decimal:
        """The cost of `qty` shares at this order's fill price."""
        return (qty * self.price).quantize(CENTS, rounding=ROUND_HALF_UP)

    @property
    def reserved(self) -> Decimal:
        """Buying power held by the unfilled part of an open buy."""
        if not self.is_open or self.side == "sell":
            return Decimal(0)
        return max(Decimal(0), self.cost_basis - self.qty_cost(self.filled_qty))

    @property
    def held_qty(self) -> Decimal:
        """Shares held by the unfilled part of an open sell (not available to another sell)."""
        if not self.is_open or self.side == "buy":
            return Decimal(0)
        return max(Decimal(0), self.target_qty - self.filled_qty)

    def to_api(self) -> dict[str, Any]:
        """The order as Alpaca's API returns it (same keys as the order fixtures)."""

        def stamp(moment: datetime | None) -> str | None:
            return None if moment is None else order_timestamp(moment, self.nanos)

        expires = datetime.combine(
            self.created_at.astimezone(NEW_YORK).date(), datetime.min.time(), NEW_YORK
        ) + timedelta(hours=16)
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": stamp(self.created_at),
            "updated_at": stamp(self.updated_at or self.created_at),
            "submitted_at": stamp(self.created_at),
            "filled_at": stamp(self.filled_at),
            "expired_at": stamp(self.expired_at),
            "canceled_at": stamp(self.canceled_at),
            "failed_at": stamp(self.failed_at),
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": self.asset_id,
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": None if self.notional is None else plain(self.notional),
            "qty": None if self.qty is None else plain(self.qty),
            "filled_qty": plain(self.filled_qty),
            "filled_avg_price": None if self.filled_qty.is_zero() else plain(self.price),
            "order_class": "",
            "order_type": "market",
            "type": "market",
            "side": self.side,
            "position_intent": "sell_to_close" if self.side == "sell" else "buy_to_open",
            "time_in_force": "day",
            "limit_price": None,
            "stop_price": None,
            "status": self.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": "access_key",
            "expires_at": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def poll(self, now: datetime) -> Decimal:
        """Count one poll and move an open order along its script; returns the shares it newly
        filled (what they cost or bring in: `qty_cost(filled_qty) - qty_cost(before)`)."""
        self.polls += 1
        before = self.filled_qty
        if not self.is_open:
            return Decimal(0)
        script = self.script
        if script.fill_after_polls is not None and self.polls >= script.fill_after_polls:
            if script.final_status == "filled":
                self.filled_qty = max(self.filled_qty, self.target_qty)
                self.status, self.filled_at = "filled", now
            elif script.final_status == "canceled":
                self.status, self.canceled_at = "canceled", now
            elif script.final_status == "expired":
                self.status, self.expired_at = "expired", now
            else:
                self.status, self.failed_at = "rejected", now
        elif (
            script.partial_fill_after_polls is not None
            and self.polls >= script.partial_fill_after_polls
            and self.filled_qty.is_zero()
        ):
            part = self.target_qty * script.partial_fraction
            whole = self.qty is not None and self.qty == self.qty.to_integral_value()
            part = (
                part.to_integral_value(ROUND_DOWN) if whole else part.quantize(SHARES, ROUND_DOWN)
            )
            if part > 0:
                self.filled_qty = part
                self.status = "partially_filled"
            else:
                self.status = "new"
        elif self.status == "accepted":
            self.status = "new"
        else:
            return Decimal(0)
        self.updated_at = now
        return self.filled_qty - before
