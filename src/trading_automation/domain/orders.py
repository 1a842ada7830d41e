"""Alpaca order objects, parsed once at the boundary, and their mapping to trade statuses.

`AlpacaOrder.from_api(raw)` is the one parser of an order payload: the HTTP client returns it, the
trade repository applies it, and the fixtures go through it too.

Broker status → trade status (SPEC §2):

| Alpaca status | trade status |
| --- | --- |
| `new`, `accepted`, `pending_new`, `accepted_for_bidding` | ACCEPTED |
| `partially_filled` | PARTIALLY_FILLED |
| `filled` | FILLED |
| `canceled` | CANCELED |
| `replaced` | CANCELED (this system never replaces orders; the original is finished) |
| `expired` | EXPIRED |
| `rejected` | REJECTED |
| any other (`done_for_day`, `calculated`, `stopped`, `suspended`, `pending_cancel`, …) | open (1) |

(1) still open: PARTIALLY_FILLED when shares were filled, else ACCEPTED. This also covers
`pending_replace` and any status Alpaca adds later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.payloads import MaybeDatetime, MaybeDecimal

_EXACT_STATUSES: dict[str, TradeStatus] = {
    "new": TradeStatus.ACCEPTED,
    "accepted": TradeStatus.ACCEPTED,
    "pending_new": TradeStatus.ACCEPTED,
    "accepted_for_bidding": TradeStatus.ACCEPTED,
    "partially_filled": TradeStatus.PARTIALLY_FILLED,
    "filled": TradeStatus.FILLED,
    "canceled": TradeStatus.CANCELED,
    "replaced": TradeStatus.CANCELED,
    "expired": TradeStatus.EXPIRED,
    "rejected": TradeStatus.REJECTED,
}

# Order of progress: an update never moves a trade to a lower rank.
STATUS_RANK: dict[TradeStatus, int] = {
    TradeStatus.NEW: 0,
    TradeStatus.ACCEPTED: 1,
    TradeStatus.PARTIALLY_FILLED: 2,
    TradeStatus.FILLED: 3,
    TradeStatus.CANCELED: 3,
    TradeStatus.EXPIRED: 3,
    TradeStatus.REJECTED: 3,
    TradeStatus.FAILED: 3,
    TradeStatus.SKIPPED: 3,
}


def map_order_status(alpaca_status: str, filled_qty: Decimal | None = None) -> TradeStatus:
    """The trade status for an Alpaca order status (see the module's table)."""
    status = _EXACT_STATUSES.get(alpaca_status.strip().lower())
    if status is not None:
        return status
    return TradeStatus.PARTIALLY_FILLED if filled_qty else TradeStatus.ACCEPTED


class AlpacaOrder(BaseModel):
    """An order as Alpaca returns it: numbers as exact decimals, timestamps aware.

    Unknown fields are kept (`model_extra`), missing optional ones are None, and the payload as
    received is available as `raw`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    client_order_id: str
    status: str
    symbol: str
    side: str | None = None
    type: str | None = None
    time_in_force: str | None = None
    notional: MaybeDecimal = None
    qty: MaybeDecimal = None
    filled_qty: MaybeDecimal = None
    filled_avg_price: MaybeDecimal = None
    created_at: MaybeDatetime = None
    updated_at: MaybeDatetime = None
    submitted_at: MaybeDatetime = None
    filled_at: MaybeDatetime = None
    canceled_at: MaybeDatetime = None
    expired_at: MaybeDatetime = None
    failed_at: MaybeDatetime = None

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _placed_before: bool = PrivateAttr(default=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> AlpacaOrder:
        """Parse an order payload, keeping a copy of it as received."""
        order = cls.model_validate(dict(raw))
        order._raw = dict(raw)
        return order

    @property
    def placed_before(self) -> bool:
        """True when a submission found this order already placed (under its client order id)
        by an earlier run, rather than placing it."""
        return self._placed_before

    def marked_placed_before(self) -> AlpacaOrder:
        """This order, marked as found already placed (see `placed_before`)."""
        self._placed_before = True
        return self

    @property
    def raw(self) -> dict[str, Any]:
        """The payload exactly as received (a copy)."""
        return dict(self._raw) if self._raw else self.model_dump(mode="json", exclude_none=True)

    @property
    def trade_status(self) -> TradeStatus:
        """This order's status in the trade vocabulary."""
        return map_order_status(self.status, self.filled_qty)

    @property
    def last_change(self) -> datetime | None:
        """When the broker last changed the order (`updated_at`, else the newest event time)."""
        if self.updated_at is not None:
            return self.updated_at
        times = [
            moment
            for moment in (
                self.failed_at,
                self.expired_at,
                self.canceled_at,
                self.filled_at,
                self.submitted_at,
                self.created_at,
            )
            if moment is not None
        ]
        return max(times) if times else None
