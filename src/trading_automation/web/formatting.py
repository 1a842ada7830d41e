"""How figures read on the pages: the templates' filters.

Money and quantities go through `domain.money`, so every page rounds the same way (half-up to the
cent, only when shown) and decides a sign, and the colour that goes with it, after rounding: a
figure shown as `$0.00` or `0.00%` is neither a gain nor a loss.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from trading_automation.domain.enums import CloseCause, Party
from trading_automation.domain.money import (
    EXACT,
    format_quantity,
    format_usd,
    sign_after_rounding,
)
from trading_automation.domain.timestamps import NEW_YORK

MISSING = "—"
_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")
_MINUTE = 60
_HOUR = 3600


def usd(value: Decimal | None, missing: str = MISSING) -> str:
    """`$1,000.00`, `-$0.50`."""
    return missing if value is None else format_usd(value)


def signed_usd(value: Decimal | None, missing: str = MISSING) -> str:
    """`+$2.10`, `-$0.50`, `$0.00`: a gain gets a `+`, a figure that rounds to zero no sign."""
    return missing if value is None else format_usd(value, signed=True)


def price(value: Decimal | None, missing: str = MISSING) -> str:
    """A share price with every digit it has (at least cents): prices may go below a cent."""
    if value is None:
        return missing
    if value == value.quantize(_CENT, context=EXACT):
        return format_usd(value)
    return f"${format_quantity(value)}"


def number(value: Decimal | None, missing: str = MISSING) -> str:
    """A quantity with every digit it has: `9`, `-0.5`, `1,234.5`."""
    return missing if value is None else format_quantity(value)


def pct(value: Decimal | None, missing: str = MISSING) -> str:
    """`+1.25%`, `-0.40%`, `0.00%`: rounded half-up to two places, signed after rounding."""
    if value is None:
        return missing
    shown = value.quantize(_CENT, rounding=ROUND_HALF_UP, context=EXACT)
    if shown.is_zero():
        return "0.00%"
    return f"{'+' if shown > 0 else ''}{shown:,.2f}%"


def tone(value: Decimal | None) -> str:
    """`gain`, `loss` or `flat`: the colour of a figure as shown (rounded to two places)."""
    if value is None:
        return "flat"
    return {1: "gain", -1: "loss", 0: "flat"}[sign_after_rounding(value)]


def duration(seconds: Decimal | None, missing: str = MISSING) -> str:
    """`28 ms`, `1.4 s`, `2 min 5 s`, `1 h 2 min`: rounded half-up to the unit shown."""
    if seconds is None:
        return missing
    if seconds < 0:
        return f"-{duration(-seconds)}"
    milliseconds = (seconds * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT)
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    tenths = seconds.quantize(_TENTH, rounding=ROUND_HALF_UP, context=EXACT)
    if tenths < _MINUTE:
        return f"{tenths} s"
    whole = int(seconds.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT))
    if whole < _HOUR:
        minutes, rest = divmod(whole, _MINUTE)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(
        int((seconds / _MINUTE).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT)), 60
    )
    return f"{hours} h {rest} min"


def et(value: datetime | None, missing: str = MISSING) -> str:
    """An instant in New York time, to the second."""
    if value is None:
        return missing
    return value.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S ET")


def et_minute(value: datetime) -> str:
    """An instant in New York time, to the minute."""
    return value.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


_PARTY_SHORT = {Party.DEMOCRAT: "Dem", Party.REPUBLICAN: "Rep", Party.INDEPENDENT: "Ind"}


def party(value: Party | None) -> str:
    """`Dem`, `Rep`, `Ind`, or the party's name."""
    if value is None:
        return MISSING
    return _PARTY_SHORT.get(value, value.value.capitalize())


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 lot`, `2 lots`, `0 lots`."""
    return f"{count} {singular if count == 1 else many or singular + 's'}"


def member_url(name: str) -> str:
    """The path of a member's page, the name percent-encoded (spaces, accents, slashes)."""
    return "/members/" + quote(name, safe="")


_EXIT_CAUSES = {
    CloseCause.MIRRORED_SALE: "mirrored sale: the member sold",
    CloseCause.HOLDING_LIMIT: "holding limit reached",
    CloseCause.STOP_LOSS: "stop loss",
    CloseCause.TAKE_PROFIT: "take profit",
    CloseCause.OUTSIDE: "sold outside the system",
}


def exit_cause(value: CloseCause | None) -> str:
    """Why a lot was closed, in words."""
    return MISSING if value is None else _EXIT_CAUSES.get(value, value.value.lower())


FILTERS = {
    "usd": usd,
    "price": price,
    "signed_usd": signed_usd,
    "pct": pct,
    "number": number,
    "duration": duration,
    "et": et,
    "et_minute": et_minute,
    "party": party,
    "tone": tone,
    "member_url": member_url,
    "plural": plural,
    "exit_cause": exit_cause,
}
