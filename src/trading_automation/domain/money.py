"""Money and quantities: exact sums, rounded half-up to the cent only when shown.

Every figure the system adds up (repository totals, P&L, the run summary) is summed exactly with
`exact_sum`/`EXACT`, and rounded once, by `cents`, where it is shown. Formatting decides the sign
after rounding, so a value that rounds to zero is shown as `$0.00`, never `$-0.00` or `+$0.00`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal

# Quantities and prices hold up to 18 digits each: their products and sums need more than the
# default 28 significant digits to stay exact.
EXACT = Context(prec=80)
CENT = Decimal("0.01")
_ZERO_CENTS = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """`value` rounded half-up to the cent; a value that rounds to zero is +0.00."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)
    return _ZERO_CENTS if rounded.is_zero() else rounded


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of decimals."""
    result = Decimal(0)
    for value in values:
        result = EXACT.add(result, value)
    return result


def exact_product(left: Decimal, right: Decimal) -> Decimal:
    """The exact product of two decimals (a quantity times a price)."""
    return EXACT.multiply(left, right)


def sign_after_rounding(value: Decimal) -> int:
    """-1, 0 or 1: the sign of `value` as shown, rounded to the cent."""
    shown = cents(value)
    if shown.is_zero():
        return 0
    return 1 if shown > 0 else -1


def format_usd(value: Decimal, *, signed: bool = False) -> str:
    """`$1,000.00`, `-$0.50`; with `signed`, gains get a `+` (`+$2.10`). Zero is `$0.00`."""
    shown = cents(value)
    if shown < 0:
        return f"-${-shown:,.2f}"
    prefix = "+" if signed and shown > 0 else ""
    return f"{prefix}${shown:,.2f}"


def format_price(value: Decimal) -> str:
    """A share price with every digit it has, at least cents: `$104.52`, `$0.0525`."""
    if value == value.quantize(CENT, context=EXACT):
        return format_usd(value)
    sign = "-" if value < 0 else ""
    return f"{sign}${format_quantity(abs(value))}"


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters, ending in "…" when it was cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def format_quantity(value: Decimal) -> str:
    """A quantity with every digit it has and no trailing zeros: `9`, `0.5`, `-0.5`, `1,234.5`."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    negative = text.startswith("-")
    whole, dot, fraction = text.lstrip("-").partition(".")
    if not whole.isdigit():  # pragma: no cover - format(…, "f") always gives digits
        return text
    shown = f"{int(whole):,}{dot}{fraction}"
    return f"-{shown}" if negative and shown.strip("0.,") else shown
