"""Typed Alpaca responses other than orders (orders: `trading_automation.domain.orders`).

Each model parses the payload once, at the boundary: numeric strings (and JSON numbers) become
exact `Decimal`s, timestamps become aware UTC datetimes (nanoseconds cut to microseconds), unknown
fields are kept (`model_extra`) and missing optional fields are None.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime, time
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from trading_automation.domain.payloads import (
    ApiDatetime,
    ApiDecimal,
    MaybeDatetime,
    MaybeDecimal,
)
from trading_automation.domain.timestamps import NEW_YORK

_HHMM = re.compile(r"^(\d{2}):?(\d{2})$")


def _wall_clock(value: object) -> object:
    # Alpaca writes `open`/`close` as "09:30" and `session_open`/`session_close` as "0400".
    if isinstance(value, str):
        match = _HHMM.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
        return None if not value.strip() else value
    return value


WallClock = Annotated[time, BeforeValidator(_wall_clock)]
MaybeWallClock = Annotated[time | None, BeforeValidator(_wall_clock)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Clock(_Payload):
    """`GET /v2/clock`: the broker's current time and the next market open and close."""

    timestamp: ApiDatetime
    is_open: bool
    next_open: ApiDatetime
    next_close: ApiDatetime


class CalendarDay(_Payload):
    """One trading day of `GET /v2/calendar`; `open`/`close` are New York wall-clock times."""

    date: dt.date
    open: WallClock
    close: WallClock
    session_open: MaybeWallClock = None
    session_close: MaybeWallClock = None
    settlement_date: dt.date | None = None

    @property
    def open_at(self) -> datetime:
        """The instant the market opens that day (aware, UTC)."""
        return datetime.combine(self.date, self.open, NEW_YORK).astimezone(UTC)

    @property
    def close_at(self) -> datetime:
        """The instant the market closes that day (aware, UTC); earlier on a half day."""
        return datetime.combine(self.date, self.close, NEW_YORK).astimezone(UTC)

    @property
    def is_early_close(self) -> bool:
        """True on a half day (the market closes before 16:00 New York time)."""
        return self.close < time(16, 0)


class Account(_Payload):
    """`GET /v2/account`: balances as exact decimals."""

    id: str
    status: str | None = None
    currency: str | None = None
    account_number: str | None = None
    cash: MaybeDecimal = None
    buying_power: MaybeDecimal = None
    non_marginable_buying_power: MaybeDecimal = None
    equity: MaybeDecimal = None
    last_equity: MaybeDecimal = None
    portfolio_value: MaybeDecimal = None
    long_market_value: MaybeDecimal = None
    short_market_value: MaybeDecimal = None
    multiplier: MaybeDecimal = None
    pattern_day_trader: bool | None = None
    trading_blocked: bool | None = None
    account_blocked: bool | None = None
    created_at: MaybeDatetime = None


class Position(_Payload):
    """One entry of `GET /v2/positions`."""

    symbol: str
    qty: ApiDecimal
    asset_id: str | None = None
    exchange: str | None = None
    asset_class: str | None = None
    side: str | None = None
    qty_available: MaybeDecimal = None
    avg_entry_price: MaybeDecimal = None
    market_value: MaybeDecimal = None
    cost_basis: MaybeDecimal = None
    unrealized_pl: MaybeDecimal = None
    unrealized_plpc: MaybeDecimal = None
    unrealized_intraday_pl: MaybeDecimal = None
    unrealized_intraday_plpc: MaybeDecimal = None
    current_price: MaybeDecimal = None
    lastday_price: MaybeDecimal = None
    change_today: MaybeDecimal = None


class Asset(_Payload):
    """`GET /v2/assets/{symbol}`: what the broker trades and how (`fractionable` decides whether a
    notional order is taken or refused with a 422)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    id: str
    asset_class: str | None = Field(default=None, alias="class")
    exchange: str | None = None
    symbol: str
    name: str | None = None
    status: str | None = None
    tradable: bool
    fractionable: bool
    marginable: bool | None = None
    shortable: bool | None = None
    easy_to_borrow: bool | None = None
    maintenance_margin_requirement: MaybeDecimal = None
    min_order_size: MaybeDecimal = None
    min_trade_increment: MaybeDecimal = None
    price_increment: MaybeDecimal = None
    attributes: list[str] | None = None


class LatestTrade(_Payload):
    """`GET /v2/stocks/{symbol}/trades/latest` (market-data API), flattened.

    The API nests the trade under `trade` with one-letter keys (`p` price, `s` size, `t` time,
    `x` exchange, `i` id, `c` conditions, `z` tape); they are given readable names here.
    """

    symbol: str
    price: ApiDecimal
    timestamp: MaybeDatetime = None
    size: MaybeDecimal = None
    exchange: str | None = None
    trade_id: int | str | None = None
    conditions: list[str] | None = None
    tape: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        if not isinstance(value, dict) or "trade" not in value:
            return value
        trade = value.get("trade")
        if not isinstance(trade, dict):
            raise ValueError("`trade` is not an object")
        names = {"p": "price", "s": "size", "t": "timestamp", "x": "exchange"}
        names |= {"i": "trade_id", "c": "conditions", "z": "tape"}
        flat = {names.get(key, key): item for key, item in trade.items()}
        outer = {key: item for key, item in value.items() if key != "trade"}
        return outer | flat
