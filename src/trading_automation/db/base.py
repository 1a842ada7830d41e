"""What every table shares: the declarative base and its constraint naming, column sizes, enum
types, and the validators that check decimals and datetimes when the ORM assigns them.

Table, column and constraint names are the contract with migrations and with operators reading the
database; every constraint is named (see `NAMING_CONVENTION`) so errors can report it.
"""

from __future__ import annotations

from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import Column, Enum, MetaData, event, inspect
from sqlalchemy.orm import DeclarativeBase

from trading_automation.db.types import ExactDecimal, UTCDateTime
from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.domain.trade_rules import NOTIONAL_DIGITS, PRICE_DIGITS, QUANTITY_DIGITS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column sizes. Precision stays within 18 digits so SQLite can hold every value exactly.
NOTIONAL = ExactDecimal(*NOTIONAL_DIGITS)
QUANTITY = ExactDecimal(*QUANTITY_DIGITS)
PRICE = ExactDecimal(*PRICE_DIGITS)
CLIENT_ORDER_ID_MAX_LENGTH = 128


def enum_type(enum_class: type[PyEnum], name: str) -> Enum:
    """A real ENUM type on PostgreSQL, a VARCHAR with a named CHECK on SQLite."""
    return Enum(
        enum_class,
        name=name,
        native_enum=True,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    """Declarative base sharing one metadata with explicit constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _decimal_validator(field: str, column_type: ExactDecimal) -> Any:
    def validate(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        if value is None:
            return None
        return fit_decimal(
            value, field=field, precision=column_type.precision, scale=column_type.scale
        )

    return validate


def _datetime_validator(field: str) -> Any:
    def validate(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        return None if value is None else require_aware_utc(value, field=field)

    return validate


def install_validators(*models: type[Base]) -> None:
    """Check decimals and datetimes when they are assigned, naming the column at fault.

    The column types check again when binding, which also covers Core statements; this layer
    makes the ORM report `trade.filled_qty` instead of a bare value, at the line that set it.
    """
    for model in models:
        for attribute in inspect(model).column_attrs:
            column = attribute.columns[0]
            assert isinstance(column, Column)
            field = f"{model.__tablename__}.{column.name}"
            if isinstance(column.type, ExactDecimal):
                validator = _decimal_validator(field, column.type)
            elif isinstance(column.type, UTCDateTime):
                validator = _datetime_validator(field)
            else:
                continue
            event.listen(getattr(model, attribute.key), "set", validator, retval=True)
