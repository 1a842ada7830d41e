"""Exact decimal values: parse, validate and fit them to a column without ever rounding."""

from __future__ import annotations

import decimal
from decimal import Decimal

from trading_automation.errors import InvalidValueError

# Enough digits that quantize() never fails for values that fit the widest column.
_CONTEXT = decimal.Context(prec=80, traps=[decimal.InvalidOperation])


def to_decimal(value: object, *, field: str) -> Decimal:
    """Parse `value` (Decimal, int or numeric string) into a finite Decimal.

    Floats are refused: a binary float already lost the exact value the caller meant.
    """
    if isinstance(value, bool):
        raise InvalidValueError(field, "expected a number, got a boolean")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidValueError(field, "expected a number, got an empty string")
        try:
            parsed = Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidValueError(field, f"not a number: {value!r}") from None
    elif isinstance(value, float):
        raise InvalidValueError(
            field, "binary floats are not exact; pass a Decimal, an int or a numeric string"
        )
    else:
        raise InvalidValueError(field, f"expected a number, got {type(value).__name__}")
    if parsed.is_nan():
        raise InvalidValueError(field, "NaN is not a number that can be stored")
    if parsed.is_infinite():
        raise InvalidValueError(field, "infinity is not a number that can be stored")
    return parsed


def fit_decimal(
    value: object,
    *,
    field: str,
    precision: int,
    scale: int,
    minimum: Decimal | None = None,
    minimum_exclusive: bool = False,
) -> Decimal:
    """Return `value` as a Decimal with exactly `scale` fractional digits, refusing any loss.

    Refuses values with more significant fractional digits than `scale`, more integer digits than
    `precision - scale`, and values below `minimum` (or equal to it when `minimum_exclusive`).
    """
    parsed = to_decimal(value, field=field)
    quantum = Decimal(1).scaleb(-scale)
    quantized = parsed.quantize(quantum, context=_CONTEXT)
    if quantized != parsed:
        raise InvalidValueError(
            field, f"{parsed} has more than {scale} decimal places; refusing to round it"
        )
    integer_digits = precision - scale
    if abs(quantized) >= Decimal(10) ** integer_digits:
        raise InvalidValueError(
            field, f"{parsed} does not fit: at most {integer_digits} digits before the point"
        )
    if minimum is not None:
        if minimum_exclusive and quantized <= minimum:
            raise InvalidValueError(field, f"must be greater than {minimum}, got {parsed}")
        if not minimum_exclusive and quantized < minimum:
            raise InvalidValueError(field, f"must be at least {minimum}, got {parsed}")
    # A negative zero would be stored as zero; normalise it here so both backends agree.
    return quantized.copy_abs() if quantized.is_zero() else quantized
