"""Daily price bars: the row the `price_bar` table holds, and the one mapping to it.

Prices keep up to 9 decimal places (the column's scale). Alpaca writes bar prices as JSON numbers;
an adjusted price can carry binary floating-point noise past that (`12.345000000000001`), which
is rounded half-even to 9 places here, once. Volume is whole shares (an adjusted volume with a
fraction is rounded the same way). These are market data, never amounts the system moves.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, NamedTuple

from trading_automation.domain.decimals import to_decimal
from trading_automation.domain.timestamps import NEW_YORK, require_aware_utc
from trading_automation.domain.trade_rules import PRICE_DIGITS
from trading_automation.errors import InvalidValueError

Adjustment = Literal["raw", "split", "dividend", "all"]
ADJUSTMENTS: tuple[Adjustment, ...] = ("raw", "split", "dividend", "all")
PRICE_SCALE = PRICE_DIGITS[1]
_PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_SCALE)
_PRICE_LIMIT = Decimal(10) ** (PRICE_DIGITS[0] - PRICE_DIGITS[1])
_VOLUME_LIMIT = 2**63


class PriceBarRow(NamedTuple):
    """One stored daily bar: the values of a `price_bar` row but `fetched_at`."""

    symbol: str
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    adjustment: str

    def same_values(self, other: PriceBarRow) -> bool:
        """True when both rows say the same of the day (prices, volume and adjustment)."""
        return self[2:] == other[2:]


def bar_day(timestamp: datetime) -> date:
    """The trading day of a daily bar: Alpaca stamps it at midnight New York time, in UTC."""
    return require_aware_utc(timestamp, field="bar.t").astimezone(NEW_YORK).date()


def bar_price(value: object, field: str) -> Decimal:
    """A bar price as stored: exact, at most 9 decimal places (see the module docstring)."""
    price = to_decimal(value, field=field).quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
    if price < 0 or price >= _PRICE_LIMIT:
        raise InvalidValueError(field, f"{value} is not a price a bar can have")
    return price.copy_abs() if price.is_zero() else price


def bar_volume(value: object, field: str = "volume") -> int:
    """A bar's volume as stored: whole shares, not negative."""
    volume = int(to_decimal(value, field=field).to_integral_value(rounding=ROUND_HALF_EVEN))
    if not 0 <= volume < _VOLUME_LIMIT:
        raise InvalidValueError(field, f"{value} is not a volume a bar can have")
    return volume


def price_bar_row(
    symbol: str,
    *,
    timestamp: datetime,
    open: object,
    high: object,
    low: object,
    close: object,
    volume: object,
    adjustment: str,
) -> PriceBarRow:
    """The row of one daily bar (the one mapping from Alpaca's bar to `price_bar`)."""
    if adjustment not in ADJUSTMENTS:
        raise InvalidValueError("adjustment", f"expected one of {', '.join(ADJUSTMENTS)}")
    where = f"{symbol} bar"
    return PriceBarRow(
        symbol=symbol,
        day=bar_day(timestamp),
        open=bar_price(open, f"{where} open"),
        high=bar_price(high, f"{where} high"),
        low=bar_price(low, f"{where} low"),
        close=bar_price(close, f"{where} close"),
        volume=bar_volume(volume, f"{where} volume"),
        adjustment=adjustment,
    )
