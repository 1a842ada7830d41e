"""Unrealized profit and loss of filled trades, exact: Decimal arithmetic with enough digits.

A trade's cost is filled_qty x filled_avg_price and its value filled_qty x the current price of its
symbol (Alpaca's position `current_price`); P&L = value - cost, P&L % = P&L / cost. Sums are taken
over the exact products (`domain.money`); rounding to the cent (`domain.money.cents`, half-up)
happens only when a figure is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from trading_automation.domain.money import EXACT, exact_product

PERCENT_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)
_ZERO_PERCENT = Decimal("0.00")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """`part / whole` in percent, rounded half-up to two places; None when `whole` is zero."""
    if whole.is_zero():
        return None
    ratio = EXACT.divide(EXACT.multiply(part, _HUNDRED), whole)
    shown = ratio.quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP, context=EXACT)
    return _ZERO_PERCENT if shown.is_zero() else shown  # never -0.00


@dataclass(frozen=True)
class Pnl:
    """Exact cost and current value of one or more fills."""

    cost: Decimal
    value: Decimal
    trades: int = 1

    @property
    def pnl(self) -> Decimal:
        """Unrealized profit (negative: loss), exact."""
        return EXACT.subtract(self.value, self.cost)

    @property
    def pnl_pct(self) -> Decimal | None:
        """Unrealized P&L in percent of the cost."""
        return percent(self.pnl, self.cost)

    def __add__(self, other: Pnl) -> Pnl:
        return Pnl(
            cost=EXACT.add(self.cost, other.cost),
            value=EXACT.add(self.value, other.value),
            trades=self.trades + other.trades,
        )


def fill_pnl(
    filled_qty: Decimal | None, filled_avg_price: Decimal | None, current_price: Decimal | None
) -> Pnl | None:
    """The P&L of one trade's fills; None without a fill or without a current price."""
    if filled_qty is None or filled_qty <= 0 or filled_avg_price is None or current_price is None:
        return None
    return Pnl(
        cost=exact_product(filled_qty, filled_avg_price),
        value=exact_product(filled_qty, current_price),
    )


def total(items: Iterable[Pnl]) -> Pnl | None:
    """The sum of several P&Ls; None when there are none."""
    result: Pnl | None = None
    for item in items:
        result = item if result is None else result + item
    return result
