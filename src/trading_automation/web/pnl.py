"""Unrealized profit and loss of filled trades, exact: Decimal arithmetic with enough digits.

A trade's cost is filled_qty x filled_avg_price and its value filled_qty x the current price of its
symbol (Alpaca's position `current_price`); P&L = value - cost, P&L % = P&L / cost. Sums are taken
over the exact products; rounding to the cent happens only when a figure is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

# Quantities and prices hold up to 18 digits each: their products and sums need more than the
# default 28 significant digits to stay exact.
_EXACT = Context(prec=80)
CENT = Decimal("0.01")
PERCENT_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    """`value` rounded to the cent (half up), as shown and as sent in JSON."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """`part / whole` in percent, two decimal places; None when `whole` is zero."""
    if whole.is_zero():
        return None
    ratio = _EXACT.divide(_EXACT.multiply(part, _HUNDRED), whole)
    return ratio.quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Pnl:
    """Exact cost and current value of one or more fills."""

    cost: Decimal
    value: Decimal
    trades: int = 1

    @property
    def pnl(self) -> Decimal:
        """Unrealized profit (negative: loss), exact."""
        return _EXACT.subtract(self.value, self.cost)

    @property
    def pnl_pct(self) -> Decimal | None:
        """Unrealized P&L in percent of the cost."""
        return percent(self.pnl, self.cost)

    def __add__(self, other: Pnl) -> Pnl:
        return Pnl(
            cost=_EXACT.add(self.cost, other.cost),
            value=_EXACT.add(self.value, other.value),
            trades=self.trades + other.trades,
        )


def fill_pnl(
    filled_qty: Decimal | None, filled_avg_price: Decimal | None, current_price: Decimal | None
) -> Pnl | None:
    """The P&L of one trade's fills; None without a fill or without a current price."""
    if filled_qty is None or filled_qty <= 0 or filled_avg_price is None or current_price is None:
        return None
    return Pnl(
        cost=_EXACT.multiply(filled_qty, filled_avg_price),
        value=_EXACT.multiply(filled_qty, current_price),
    )


def total(items: Iterable[Pnl]) -> Pnl | None:
    """The sum of several P&Ls; None when there are none."""
    result: Pnl | None = None
    for item in items:
        result = item if result is None else result + item
    return result


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of decimals."""
    result = Decimal(0)
    for value in values:
        result = _EXACT.add(result, value)
    return result
