"""Column types that behave the same on PostgreSQL and SQLite.

- `ExactDecimal`: NUMERIC(p, s) on PostgreSQL; on SQLite a 64-bit integer holding the value scaled
  by 10**s, so storage, comparison, ordering and SUM() stay exact (SQLite has no decimal type and
  would otherwise fall back to binary floats). Values that do not fit are refused, never rounded.
- `UTCDateTime`: TIMESTAMPTZ on PostgreSQL; on SQLite a fixed-width UTC text. Naive datetimes are
  refused; values always come back aware, in UTC.
- `JSONDocument`: JSONB on PostgreSQL, JSON text on SQLite; Python None is SQL NULL.
- `RawJSONDocument`: a `JSONDocument` for records exactly as an API sent them: written in storage
  form (`domain.jsonvalues.storage_text`: the record, or the envelope of a record JSONB cannot hold
  as it is) and read back as the record (`decode_stored`), so what is read is what was sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.jsonvalues import StoredJson, decode_stored, storage_text
from trading_automation.domain.timestamps import require_aware_utc

# 10**18 - 1 is the widest value a signed 64-bit integer holds with every digit usable.
MAX_SQLITE_PRECISION = 18


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal column with a fixed precision and scale on every backend."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        if not 0 <= scale <= precision <= MAX_SQLITE_PRECISION:
            raise ValueError(
                f"ExactDecimal({precision}, {scale}): need 0 <= scale <= precision <= 18"
            )
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = fit_decimal(value, field="decimal", precision=self.precision, scale=self.scale)
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))

    def __repr__(self) -> str:
        return f"ExactDecimal(precision={self.precision}, scale={self.scale})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored and returned in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = require_aware_utc(value)
        if dialect.name == "sqlite":
            return aware.replace(tzinfo=None)
        return aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"


JSONDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class RawJSONDocument(TypeDecorator[Any]):
    """A JSON column holding records exactly as received (see the module docstring)."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # None is the JSON null a record may be, not a missing value: the column is NOT NULL.
        if isinstance(value, StoredJson):
            return value
        return StoredJson(storage_text(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return decode_stored(value)

    def __repr__(self) -> str:
        return "RawJSONDocument()"
