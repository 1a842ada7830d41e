"""The strategy: whom to follow, what and when to buy, how much, and the portfolio's limits.

One `Strategy` value holds it all, validated by pydantic: every table refuses keys it does not
know, and each value says what it allows. `trading_automation.strategy_file` reads it from the
TOML file named by `STRATEGY_FILE`; without one, `Strategy()` with `sizing.usd` set to
`TRADE_NOTIONAL_USD` is what the system always did: the same notional for every BUY filing, no
filters, no limits. `trading_automation.domain.decide` applies it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trading_automation.domain.enums import Party
from trading_automation.domain.filings import normalize_party
from trading_automation.domain.members import is_bioguide_id, parse_name

_CENT = Decimal("0.01")
Dollars = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Percent = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]


class Chamber(StrEnum):
    """The chamber of Congress a filing comes from."""

    HOUSE = "house"
    SENATE = "senate"


_CHAMBERS = {
    "house": Chamber.HOUSE,
    "representatives": Chamber.HOUSE,
    "house of representatives": Chamber.HOUSE,
    "senate": Chamber.SENATE,
}
_PARTY_NAMES = {
    Party.DEMOCRAT: "democrat",
    Party.REPUBLICAN: "republican",
    Party.INDEPENDENT: "independent",
}


def normalize_chamber(value: object) -> Chamber | None:
    """Quiver `Chamber` ("Representatives", "Senate") → the chamber; None when not given."""
    if not isinstance(value, str):
        return None
    return _CHAMBERS.get(" ".join(value.split()).casefold())


def party_word(party: Party) -> str:
    """A party as the strategy file writes it (`democrat`)."""
    return _PARTY_NAMES.get(party, party.value.lower())


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Members(_Table):
    """Whom to follow: members by name or BioGuide ID, chambers, parties (empty: everyone)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    chambers: tuple[Chamber, ...] = ()
    parties: tuple[Party, ...] = ()

    @field_validator("include", "exclude")
    @classmethod
    def _names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not is_bioguide_id(value) and parse_name(value) is None:
                raise ValueError(
                    f"{value!r} is neither a member's name nor a BioGuide ID (like P000197)"
                )
        return tuple(value.strip() for value in values)

    @field_validator("chambers", mode="before")
    @classmethod
    def _chambers(cls, values: object) -> object:
        if not isinstance(values, list | tuple):
            return values
        chambers = []
        for value in values:
            chamber = normalize_chamber(value)
            if chamber is None:
                raise ValueError(f"{value!r} is not a chamber; expected 'house' or 'senate'")
            chambers.append(chamber)
        return tuple(chambers)

    @field_validator("parties", mode="before")
    @classmethod
    def _parties(cls, values: object) -> object:
        if not isinstance(values, list | tuple):
            return values
        parties = []
        for value in values:
            party = normalize_party(value) if isinstance(value, str) else Party.UNKNOWN
            if party not in _PARTY_NAMES:
                raise ValueError(
                    f"{value!r} is not a party; expected 'democrat', 'republican' or "
                    "'independent' (or D, R, I)"
                )
            parties.append(party)
        return tuple(parties)


class Filings(_Table):
    """What and when: the disclosed size, the kinds of security, tickers left out, how late."""

    min_trade_size_usd: Dollars | None = None
    ticker_types: tuple[str, ...] = ()
    exclude_tickers: tuple[str, ...] = ()
    max_report_lag_days: int | None = Field(default=None, ge=0, le=10_000)
    max_filing_age_days: int | None = Field(default=None, ge=0, le=10_000)

    @field_validator("ticker_types", "exclude_tickers")
    @classmethod
    def _upper(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(value.strip().upper() for value in values)
        if any(not value for value in cleaned):
            raise ValueError("an empty text is not a ticker or a ticker type")
        return cleaned


class Bracket(_Table):
    """A disclosed-size bracket of `scaled` sizing: from this lower bound on, this multiplier."""

    from_usd: Dollars
    multiplier: Decimal = Field(gt=0, le=1000, max_digits=12, decimal_places=4)


class Sizing(_Table):
    """How much each order buys, with a minimum and a maximum per order (exact dollars)."""

    method: Literal["fixed", "equity_pct", "scaled"] = "fixed"
    usd: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)] | None = None
    equity_pct: Percent | None = Field(default=None, le=100)
    brackets: tuple[Bracket, ...] = ()
    min_usd: Dollars = Decimal(1)
    max_usd: Dollars | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Sizing:
        if self.method == "equity_pct" and self.equity_pct is None:
            raise ValueError("equity_pct: required when method is 'equity_pct' (percent, 0-100)")
        if self.method == "scaled" and not self.brackets:
            raise ValueError(
                "brackets: required when method is 'scaled' (a list of {from_usd, multiplier})"
            )
        lows = [bracket.from_usd for bracket in self.brackets]
        if lows != sorted(set(lows)):
            raise ValueError("brackets: from_usd must increase from one bracket to the next")
        if self.max_usd is not None and self.max_usd < self.min_usd:
            raise ValueError(f"max_usd: must not be below min_usd ({self.min_usd})")
        return self

    @property
    def smallest_order(self) -> Decimal:
        """The smallest order sent: `min_usd`, and never less than a cent."""
        return max(self.min_usd, _CENT)


class Limits(_Table):
    """The portfolio's limits, checked before every buy (unset: no limit)."""

    max_open_positions: int | None = Field(default=None, ge=1, le=100_000)
    max_symbol_pct: Percent | None = Field(default=None, le=100)
    max_gross_exposure_pct: Percent | None = Field(default=None, le=1000)
    cash_floor_usd: Dollars | None = None


class Exits(_Table):
    """Exit settings; each one set here wins over its environment variable."""

    partial_sale: Literal["all", "half", "none"] | None = None
    max_hold_days: int | None = Field(default=None, ge=1, le=10_000)
    stop_loss_pct: Percent | None = Field(default=None, lt=100)
    take_profit_pct: Percent | None = Field(default=None, le=100_000)


class Strategy(_Table):
    """The whole strategy (see the module docstring)."""

    members: Members = Members()
    filings: Filings = Filings()
    sizing: Sizing = Sizing()
    limits: Limits = Limits()
    exits: Exits = Exits()

    @property
    def needs_account(self) -> bool:
        """True when a decision reads the account: equity-based sizing, or any limit."""
        limits = self.limits
        return self.sizing.method == "equity_pct" or any(
            value is not None
            for value in (
                limits.max_open_positions,
                limits.max_symbol_pct,
                limits.max_gross_exposure_pct,
                limits.cash_floor_usd,
            )
        )

    @property
    def sha256(self) -> str:
        """The hash of the settings, defaults filled in (JSON with sorted keys): the same for the
        same strategy however its file was written; what a backtest run is stored with."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def with_notional(self, notional: Decimal) -> Strategy:
        """This strategy with `sizing.usd` filled in (TRADE_NOTIONAL_USD) when the file left it."""
        if self.sizing.usd is not None:
            return self
        return self.model_copy(update={"sizing": self.sizing.model_copy(update={"usd": notional})})


def default_strategy(notional: Decimal) -> Strategy:
    """The strategy without a file: `notional` dollars for every BUY filing, nothing else."""
    return Strategy().with_notional(notional)


@dataclass(frozen=True)
class Decision:
    """Buy `amount` dollars, or skip by `rule`; `reason` says why in words either way."""

    amount: Decimal | None
    rule: str | None
    reason: str

    @property
    def buys(self) -> bool:
        """True when the filing is bought."""
        return self.amount is not None

    @classmethod
    def skip(cls, rule: str, reason: str) -> Decision:
        """A skip by `rule`."""
        return cls(None, rule, reason)


# The rules a filing can be skipped by, in the order they are checked (their names are the keys
# of the strategy file; `amendment` is the filing's identity, not a setting).
RULES = (
    "amendment",
    "members.exclude",
    "members.include",
    "members.chambers",
    "members.parties",
    "filings.exclude_tickers",
    "filings.ticker_types",
    "filings.min_trade_size_usd",
    "filings.max_report_lag_days",
    "filings.max_filing_age_days",
    "sizing.brackets",
    "sizing.min_usd",
    "limits.max_open_positions",
    "limits.max_symbol_pct",
    "limits.max_gross_exposure_pct",
    "limits.cash_floor_usd",
)
