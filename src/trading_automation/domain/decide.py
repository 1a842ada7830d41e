"""The decision: buy how much of a filing, or skip it and why. A pure function of values.

`decide(filing, strategy, account, today=...)` reads a filing (`FilingFacts`), the strategy and,
when the strategy needs it, a snapshot of the account (`AccountSnapshot`: equity, cash, positions,
the buys already placed or planned). The live run, the dry run and the backtest call it alike;
nothing here touches a database or the network.

The rules are checked in the order of `strategy.RULES`: the filing's identity (an amendment of a
transaction already decided is never bought again), whom (members, chambers, parties), what
(tickers, ticker types, disclosed size), when (report lag, filing age), how much (sizing, with a
minimum and maximum per order) and the limits. A limit that leaves less room than the order
reduces it to the room left, to the cent; when what is left is below `sizing.min_usd`, the filing
is skipped by that limit. Every skip names its rule and says, in words, the values compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from trading_automation.domain.enums import Party
from trading_automation.domain.filings import NormalizedFiling
from trading_automation.domain.limits import AccountSnapshot, apply_limits
from trading_automation.domain.members import is_bioguide_id, parse_name, same_member
from trading_automation.domain.money import CENT, EXACT, format_usd
from trading_automation.domain.strategy import (
    Chamber,
    Decision,
    Members,
    Sizing,
    Strategy,
    normalize_chamber,
    party_word,
)

__all__ = ["AccountSnapshot", "Decision", "FilingFacts", "decide", "disclosed_size", "screen"]

_HUNDRED = Decimal(100)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class FilingFacts:
    """What the decision reads of a filing: its normalised fields and the raw ones the strategy
    uses. `amends` is the filing date of the earlier filing of the same transaction (member,
    ticker, trade date, transaction) when this one is an amendment or a re-upload of it."""

    source_hash: str
    symbol: str
    member_name: str
    filing_date: date
    trade_date: date | None = None
    bioguide_id: str | None = None
    chamber: Chamber | None = None
    party: Party | None = None
    ticker_type: str | None = None
    trade_size_usd: Decimal | None = None
    amends: date | None = None

    @classmethod
    def from_filing(cls, filing: NormalizedFiling, *, amends: date | None = None) -> FilingFacts:
        """The facts of a well-formed filing."""
        assert filing.source_hash
        assert filing.ticker
        assert filing.member_name
        assert filing.filing_date
        raw: Mapping[str, Any] = filing.raw if isinstance(filing.raw, Mapping) else {}
        bioguide = raw.get("BioGuideID")
        ticker_type = raw.get("TickerType")
        return cls(
            source_hash=filing.source_hash,
            symbol=filing.ticker,
            member_name=filing.member_name,
            filing_date=filing.filing_date,
            trade_date=filing.trade_date,
            bioguide_id=bioguide.strip().upper() if isinstance(bioguide, str) else None,
            chamber=normalize_chamber(raw.get("Chamber")),
            party=filing.party,
            ticker_type=(
                ticker_type.strip().upper()
                if isinstance(ticker_type, str) and ticker_type.strip()
                else None
            ),
            trade_size_usd=disclosed_size(raw.get("Trade_Size_USD")),
            amends=amends,
        )


def disclosed_size(value: object) -> Decimal | None:
    """The lower bound of Quiver's `Trade_Size_USD`: "1001 - 15000", "$1,001 - $15,000",
    "15001.0", 15001, "Over $50,000,000" (None when it holds no number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        found = _NUMBER.search(value)
        if found is None:
            return None
        try:
            number = Decimal(found.group().replace(",", ""))
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() and number >= 0 else None


def decide(
    filing: FilingFacts,
    strategy: Strategy,
    account: AccountSnapshot | None = None,
    *,
    today: date,
) -> Decision:
    """Buy how much of `filing`, or skip it and why (see the module docstring).

    `account` is required when the strategy needs it (`strategy.needs_account`); `today` is the
    New York day of the decision (for `max_filing_age_days`).
    """
    skip = (
        _identity(filing)
        or _whom(filing, strategy.members)
        or _what_and_when(filing, strategy, today)
    )
    if skip is not None:
        return skip
    sized = _size(filing, strategy.sizing, account)
    if not sized.buys or not strategy.needs_account:
        return sized
    if account is None:
        raise ValueError("this strategy's limits need the account snapshot")
    assert sized.amount is not None
    return apply_limits(filing.symbol, sized.amount, sized.reason, strategy, account)


def screen(filing: FilingFacts, strategy: Strategy, *, today: date) -> Decision | None:
    """The skip of a filing's rules alone (identity, whom, what, when), before any sizing or
    limit; None when the filing passes them."""
    return (
        _identity(filing)
        or _whom(filing, strategy.members)
        or _what_and_when(filing, strategy, today)
    )


def _identity(filing: FilingFacts) -> Decision | None:
    if filing.amends is None:
        return None
    return Decision.skip(
        "amendment",
        f"amends the filing of {filing.amends} (same member, ticker, trade date and "
        "transaction), which was decided then",
    )


def member_matches(filing: FilingFacts, entries: tuple[str, ...]) -> str | None:
    """The entry of a member list that names the filing's member (by BioGuide ID or name)."""
    parsed = parse_name(filing.member_name)
    for entry in entries:
        if is_bioguide_id(entry):
            if filing.bioguide_id == entry.upper():
                return entry
            continue
        wanted = parse_name(entry)
        if parsed is not None and wanted is not None and same_member(parsed, wanted):
            return entry
    return None


def _whom(filing: FilingFacts, members: Members) -> Decision | None:
    who = filing.member_name
    if members.exclude:
        entry = member_matches(filing, members.exclude)
        if entry is not None:
            return Decision.skip("members.exclude", f"{who} is excluded (members.exclude: {entry})")
    if members.include and member_matches(filing, members.include) is None:
        return Decision.skip("members.include", f"{who} is not in members.include")
    if members.chambers and filing.chamber not in members.chambers:
        allowed = " or ".join(chamber.value for chamber in members.chambers)
        seen = filing.chamber.value if filing.chamber else "not disclosed"
        return Decision.skip("members.chambers", f"chamber {seen}; members.chambers is {allowed}")
    if members.parties and filing.party not in members.parties:
        allowed = " or ".join(party_word(party) for party in members.parties)
        seen = party_word(filing.party) if filing.party else "not disclosed"
        if filing.party in (None, Party.UNKNOWN):
            seen = "not disclosed"
        return Decision.skip("members.parties", f"party {seen}; members.parties is {allowed}")
    return None


def _what_and_when(filing: FilingFacts, strategy: Strategy, today: date) -> Decision | None:
    rules = strategy.filings
    if filing.symbol in rules.exclude_tickers:
        return Decision.skip(
            "filings.exclude_tickers", f"{filing.symbol} is in filings.exclude_tickers"
        )
    if rules.ticker_types and filing.ticker_type not in rules.ticker_types:
        allowed = ", ".join(rules.ticker_types)
        seen = filing.ticker_type or "not disclosed"
        return Decision.skip(
            "filings.ticker_types", f"TickerType {seen}; filings.ticker_types is {allowed}"
        )
    minimum = rules.min_trade_size_usd
    if minimum is not None and (filing.trade_size_usd is None or filing.trade_size_usd < minimum):
        seen = (
            f"disclosed size {format_usd(filing.trade_size_usd)} is below"
            if filing.trade_size_usd is not None
            else "size not disclosed;"
        )
        return Decision.skip(
            "filings.min_trade_size_usd",
            f"{seen} filings.min_trade_size_usd {format_usd(minimum)}",
        )
    lag_limit = rules.max_report_lag_days
    if lag_limit is not None:
        if filing.trade_date is None:
            return Decision.skip(
                "filings.max_report_lag_days",
                f"trade date not disclosed, so the lag is unknown; max_report_lag_days is "
                f"{lag_limit}",
            )
        lag = (filing.filing_date - filing.trade_date).days
        if lag > lag_limit:
            return Decision.skip(
                "filings.max_report_lag_days",
                f"filed {_days(lag)} after the trade; max_report_lag_days is {lag_limit}",
            )
    age_limit = rules.max_filing_age_days
    if age_limit is not None:
        age = (today - filing.filing_date).days
        if age > age_limit:
            return Decision.skip(
                "filings.max_filing_age_days",
                f"filed {_days(age)} before {today}; max_filing_age_days is {age_limit}",
            )
    return None


def _size(filing: FilingFacts, sizing: Sizing, account: AccountSnapshot | None) -> Decision:
    base = sizing.usd if sizing.usd is not None else Decimal(0)
    if sizing.method == "equity_pct":
        if account is None:
            raise ValueError("equity_pct sizing needs the account snapshot")
        assert sizing.equity_pct is not None
        amount = EXACT.multiply(account.equity, EXACT.divide(sizing.equity_pct, _HUNDRED))
        how = f"{sizing.equity_pct}% of equity {format_usd(account.equity)}"
    elif sizing.method == "scaled":
        size = filing.trade_size_usd
        brackets = [b for b in sizing.brackets if size is not None and b.from_usd <= size]
        if size is None or not brackets:
            seen = "not disclosed" if size is None else f"{format_usd(size)}, below every bracket"
            return Decision.skip(
                "sizing.brackets", f"disclosed size {seen}; scaled sizing needs its bracket"
            )
        bracket = brackets[-1]
        amount = EXACT.multiply(base, bracket.multiplier)
        how = (
            f"{format_usd(base)} x {bracket.multiplier} for a disclosed size from "
            f"{format_usd(bracket.from_usd)}"
        )
    else:
        amount = base
        how = f"fixed {format_usd(base)}"
    amount = amount.quantize(CENT, rounding=ROUND_FLOOR, context=EXACT)
    if sizing.max_usd is not None and amount > sizing.max_usd:
        amount = sizing.max_usd.quantize(CENT, context=EXACT)
        how += f", at most sizing.max_usd {format_usd(sizing.max_usd)}"
    if amount < sizing.smallest_order:
        return Decision.skip(
            "sizing.min_usd",
            f"the order would be {format_usd(amount)} ({how}), below sizing.min_usd "
            f"{format_usd(sizing.smallest_order)}",
        )
    return Decision(amount, None, how)


def _days(count: int) -> str:
    return f"{count} day" if abs(count) == 1 else f"{count} days"
