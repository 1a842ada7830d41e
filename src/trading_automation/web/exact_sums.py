"""Exact SQL sums of quantities and of quantity x price, on both backends.

PostgreSQL's NUMERIC arithmetic is exact as it is. SQLite stores a decimal as a 64-bit integer
scaled by 10**scale (`db.types.ExactDecimal`), so qty x price is scaled by 10**18 and overflows 64
bits for ordinary trades (10 shares at $100 is 10**21), and a sum of many quantities can too;
SQLite's SUM would then fail, and TOTAL would round through a float. There, an aggregate function
registered on the connection adds the stored integers as Python integers, which have no size
limit, and returns both exact sums as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Numeric, String, case, func, type_coerce
from sqlalchemy.orm import InstrumentedAttribute

from trading_automation.db.base import PRICE, QUANTITY
from trading_automation.db.database import UnitOfWork

_SQLITE_SUMS = "ta_exact_sums"

# A column or an expression over columns.
Column = ColumnElement[Any] | InstrumentedAttribute[Any]


class ExactSums:
    """SUM(qty) and SUM(qty x price) over rows where both are set, exact on the uow's backend.

    `qty` must be a quantity column (or a difference of two) and `price` a price column: the
    SQLite sums are read back at their scales.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        connection = uow.session.connection()
        self.sqlite = connection.dialect.name == "sqlite"
        if self.sqlite:
            driver: Any = connection.connection.driver_connection
            driver.create_aggregate(_SQLITE_SUMS, 2, _ExactSqliteSums)
        # How many columns `columns()` selects: `read` takes that many values.
        self.width = 1 if self.sqlite else 2

    def columns(self, qty: Column, price: Column) -> list[Any]:
        """The two sums, as the columns to select (one column on SQLite)."""
        if self.sqlite:
            both = getattr(func, _SQLITE_SUMS)
            return [both(type_coerce(qty, Integer), type_coerce(price, Integer), type_=String)]
        # A row where either is NULL adds nothing to either sum, as on SQLite.
        exact_qty, exact_price = type_coerce(qty, Numeric()), type_coerce(price, Numeric())
        return [
            func.sum(case((price.is_not(None), exact_qty)), type_=Numeric(asdecimal=True)),
            func.sum(exact_qty * exact_price, type_=Numeric(asdecimal=True)),
        ]

    def read(self, values: Sequence[Any]) -> tuple[Decimal, Decimal]:
        """(sum of qty, sum of qty x price) from the selected `columns()` (zeros over no rows)."""
        if self.sqlite:
            if values[0] is None:
                return Decimal(0), Decimal(0)
            qty, cost = str(values[0]).split()
            # From text: exact whatever the digits (Decimal.scaleb would round to 28 of them).
            return (
                Decimal(f"{qty}E-{QUANTITY.scale}"),
                Decimal(f"{cost}E-{QUANTITY.scale + PRICE.scale}"),
            )
        qty, cost = values
        return (
            Decimal(qty) if qty is not None else Decimal(0),
            Decimal(cost) if cost is not None else Decimal(0),
        )


class _ExactSqliteSums:
    """SQLite aggregate: the sums of qty and of qty x price as Python ints, as `"qty cost"`."""

    def __init__(self) -> None:
        self.qty = 0
        self.cost = 0
        self.rows = 0

    def step(self, qty: int | None, price: int | None) -> None:
        if qty is not None and price is not None:
            self.qty += qty
            self.cost += qty * price
            self.rows += 1

    def finalize(self) -> str | None:
        return f"{self.qty} {self.cost}" if self.rows else None
