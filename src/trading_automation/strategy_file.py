"""The strategy file (`STRATEGY_FILE`, TOML): read, validate, and fill in what it leaves out.

`load_strategy(settings)` is the one way in. Without `STRATEGY_FILE` it gives the strategy the
system always had (`TRADE_NOTIONAL_USD` for every BUY filing, no filters, no limits, the exit
settings of the environment). With one, it reads the file (decimals exactly: TOML floats are read
as decimals, never binary floats) and raises `ConfigurationError` naming every bad key, what it
allows, and for a key it does not know, the closest key it does.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from trading_automation.domain.members import MemberName, is_bioguide_id, parse_name, same_member
from trading_automation.domain.strategy import Strategy, default_strategy
from trading_automation.errors import ConfigurationError

if TYPE_CHECKING:
    from trading_automation.config import Settings

# Each exit key of the file and the environment variable it wins over.
EXIT_VARIABLES = {
    "partial_sale": "exit_on_partial_sale",
    "max_hold_days": "max_hold_days",
    "stop_loss_pct": "stop_loss_pct",
    "take_profit_pct": "take_profit_pct",
}


@dataclass(frozen=True)
class LoadedStrategy:
    """The strategy in effect: from `path` (None: no file), whose SHA-256 is `sha256`; `warnings`
    are said once at start-up (an exit setting of the file overriding the environment's)."""

    strategy: Strategy
    path: Path | None = None
    sha256: str | None = None
    warnings: tuple[str, ...] = field(default=())
    # True when `sizing.usd` is TRADE_NOTIONAL_USD because the file left it out.
    usd_from_settings: bool = True

    @property
    def label(self) -> str:
        """How a person reads which strategy this is."""
        if self.path is None or self.sha256 is None:
            return "no strategy file (TRADE_NOTIONAL_USD for every BUY filing)"
        return f"{self.path} (sha256 {self.sha256[:12]})"


def load_strategy(settings: Settings, path: str | Path | None = None) -> LoadedStrategy:
    """The strategy in effect for `settings` (`path` instead of STRATEGY_FILE when given)."""
    chosen = path if path is not None else settings.strategy_file
    if chosen is None:
        return LoadedStrategy(default_strategy(settings.trade_notional_usd))
    file = Path(chosen)
    try:
        data = file.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        where = "STRATEGY_FILE: " if path is None else ""
        raise ConfigurationError([f"{where}{file} cannot be read ({reason})"]) from None
    written = parse_strategy(data, source=str(file))
    strategy = written.with_notional(settings.trade_notional_usd)
    warnings = tuple(_overridden(strategy, settings, file))
    digest = hashlib.sha256(data).hexdigest()
    return LoadedStrategy(strategy, file, digest, warnings, written.sizing.usd is None)


def parse_strategy(data: bytes | str, *, source: str = "strategy") -> Strategy:
    """A strategy from TOML text; `ConfigurationError` lists every problem (`source: key: ...`)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ConfigurationError([f"{source}: not UTF-8 text"]) from None
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError([f"{source}: not valid TOML: {error}"]) from None
    try:
        return Strategy.model_validate(document)
    except ValidationError as error:
        problems = [f"{source}: {describe(dict(item))}" for item in error.errors(include_url=False)]
        raise ConfigurationError(problems) from None


def describe(error: dict[str, Any]) -> str:
    """One pydantic error as `key: what is wrong and what is allowed`."""
    location = [str(part) for part in error.get("loc", ())]
    key = _dotted(location)
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        return f"{key}: not a key of the strategy file; {_suggest(location)}"
    # A check across a table's keys names the key itself ("usd: must be more than 0").
    head, sep, rest = message.partition(": ")
    if sep and " " not in head and error.get("type") == "value_error":
        return f"{_dotted([*location, head])}: {rest}"
    if error.get("type") == "missing":
        return f"{key}: required"
    for wordy, plain in _PLAIN:
        message = message.replace(wordy, plain)
    shown = error.get("input")
    if "input" in error and not isinstance(shown, dict | list):
        message += f" (got {shown})" if isinstance(shown, Decimal) else f" (got {shown!r})"
    return f"{key or 'strategy'}: {message}"


# Names people reach for that the file spells otherwise.
_ALIASES = {
    "notional": "usd",
    "notional_usd": "usd",
    "trade_notional_usd": "usd",
    "amount": "usd",
    "dollars": "usd",
    "percent": "equity_pct",
    "min": "min_usd",
    "max": "max_usd",
    "members": "include",
    "names": "include",
    "tickers": "exclude_tickers",
    "party": "parties",
    "chamber": "chambers",
}
_PLAIN = (
    ("Decimal input should have no more than", "must have at most"),
    ("Decimal input should be", "must be"),
    ("Input should be", "must be"),
)


def _dotted(location: list[str]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def known_keys(model: type[BaseModel] = Strategy, prefix: str = "") -> Iterator[str]:
    """Every key of the strategy file, dotted (`sizing.usd`), tables included."""
    for name, info in model.model_fields.items():
        yield prefix + name
        nested = _nested_model(info.annotation)
        if nested is not None:
            yield from known_keys(nested, f"{prefix}{name}.")


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def _suggest(location: list[str]) -> str:
    """The closest known key to an unknown one: the same name in another table, else the
    closest name in the same table."""
    name = location[-1]
    table = ".".join(part for part in location[:-1] if not part.isdigit())
    keys = list(known_keys())
    siblings = [
        key.rsplit(".", 1)[-1]
        for key in keys
        if (key.rsplit(".", 1)[0] if "." in key else "") == table
    ]
    alias = _ALIASES.get(name.casefold())
    close = [alias] if alias in siblings else difflib.get_close_matches(name, siblings, 1, 0.6)
    if close:
        return f"did you mean {_dotted([*location[:-1], close[0]])}?"
    same_name = [key for key in keys if key.rsplit(".", 1)[-1] == name]
    if same_name:
        return f"did you mean {same_name[0]}?"
    known = ", ".join(sorted(siblings))
    return f"the keys here are {known}" if known else "see strategy.example.toml"


def _overridden(strategy: Strategy, settings: Settings, file: Path) -> Iterator[str]:
    """A line per exit setting the file sets while the environment sets it too."""
    exits = strategy.exits
    for key, variable in EXIT_VARIABLES.items():
        value = getattr(exits, key)
        if value is None or variable not in settings.model_fields_set:
            continue
        env_value = getattr(settings, variable)
        yield (
            f"{file} sets exits.{key} = {value}; {variable.upper()}={env_value} from the "
            "environment is ignored (the strategy file wins)"
        )


def member_warnings(strategy: Strategy, stored_names: Iterable[str]) -> list[str]:
    """A line for each member name of the strategy that matches no stored filing, with the
    closest names seen (BioGuide IDs are not checked: the feed keeps them only in the record)."""
    names = sorted(set(stored_names))
    parsed = [(name, parse_name(name)) for name in names]
    lines = []
    for key in ("include", "exclude"):
        for entry in getattr(strategy.members, key):
            wanted = parse_name(entry)
            if is_bioguide_id(entry) or wanted is None:
                continue
            if any(found is not None and same_member(wanted, found) for _, found in parsed):
                continue
            close = _closest(entry, wanted, parsed)
            hint = f"closest names seen: {', '.join(close)}" if close else "no filing stored yet"
            lines.append(f"members.{key}: {entry!r} matches no stored filing; {hint}")
    return lines


def _closest(
    entry: str, wanted: MemberName, names: list[tuple[str, MemberName | None]]
) -> list[str]:
    """Up to three stored names nearest `entry`: same surname first, then by spelling."""
    same_surname = [name for name, found in names if found and found.surname == wanted.surname]
    by_spelling = difflib.get_close_matches(entry, [name for name, _ in names], n=3, cutoff=0.5)
    return list(dict.fromkeys([*same_surname, *by_spelling]))[:3]
