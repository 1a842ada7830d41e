"""Click parameter types shared by the commands."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    _DateBase = click.ParamType[date]
else:  # Click before 8.2 has no generic ParamType
    _DateBase = click.ParamType

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class DateParamType(_DateBase):
    """A calendar date written YYYY-MM-DD, converted to `datetime.date`."""

    name = "date"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        match = _ISO_DATE.fullmatch(text)
        if match is None:
            self.fail(f"{text!r} is not a date: expected YYYY-MM-DD, e.g. 2024-06-20", param, ctx)
        year, month, day = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError as error:
            # `date` says why: "day is out of range for month", "month must be in 1..12".
            self.fail(f"{text} is not a date: {error}", param, ctx)

    def __repr__(self) -> str:
        return "DATE"


DATE = DateParamType()
