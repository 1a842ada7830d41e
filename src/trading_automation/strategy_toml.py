"""The strategy in effect, written as a strategy file: every default filled in, each key's origin
said in a comment. What `render` writes is itself a valid strategy file."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from trading_automation.domain.strategy import Bracket, Strategy, party_word

if TYPE_CHECKING:
    from trading_automation.config import Settings
    from trading_automation.strategy_file import LoadedStrategy


def render(loaded: LoadedStrategy, settings: Settings) -> str:
    """The effective strategy of `loaded` (see the module docstring)."""
    from trading_automation.worker.exits import exit_policy

    strategy = loaded.strategy
    lines = [f"# {loaded.label}: valid"]
    lines += _members(strategy)
    lines += _filings(strategy)
    lines += _sizing(strategy, loaded.usd_from_settings)
    lines += _limits(strategy)
    policy = exit_policy(settings, strategy)
    exits = strategy.exits
    lines += ["", "[exits]"]
    rows = (
        ("partial_sale", policy.partial_sale.value, "EXIT_ON_PARTIAL_SALE"),
        ("max_hold_days", policy.max_hold_days, "MAX_HOLD_DAYS"),
        ("stop_loss_pct", policy.stop_loss_pct, "STOP_LOSS_PCT"),
        ("take_profit_pct", policy.take_profit_pct, "TAKE_PROFIT_PCT"),
    )
    for key, value, variable in rows:
        origin = "from the file" if getattr(exits, key) is not None else f"from {variable}"
        if value is None:
            lines.append(f"# {key}: not set ({origin}: off)")
        else:
            lines.append(f"{key} = {_value(value)}  # {origin}")
    return "\n".join(lines)


def _members(strategy: Strategy) -> list[str]:
    members = strategy.members
    return [
        "",
        "[members]",
        f"include = {_list(members.include)}{'' if members.include else '  # everyone'}",
        f"exclude = {_list(members.exclude)}",
        f"chambers = {_list([c.value for c in members.chambers])}"
        + ("" if members.chambers else "  # both"),
        f"parties = {_list([party_word(p) for p in members.parties])}"
        + ("" if members.parties else "  # every party"),
    ]


def _filings(strategy: Strategy) -> list[str]:
    rules = strategy.filings
    lines = ["", "[filings]"]
    lines.append(_optional("min_trade_size_usd", rules.min_trade_size_usd, "any size"))
    lines.append(
        f"ticker_types = {_list(rules.ticker_types)}"
        + ("" if rules.ticker_types else "  # every type")
    )
    lines.append(f"exclude_tickers = {_list(rules.exclude_tickers)}")
    lines.append(_optional("max_report_lag_days", rules.max_report_lag_days, "any lag"))
    lines.append(_optional("max_filing_age_days", rules.max_filing_age_days, "any age"))
    return lines


def _sizing(strategy: Strategy, usd_from_settings: bool) -> list[str]:
    sizing = strategy.sizing
    lines = ["", "[sizing]", f"method = {_value(sizing.method)}"]
    origin = "  # TRADE_NOTIONAL_USD" if usd_from_settings else ""
    lines.append(f"usd = {_value(sizing.usd)}{origin}")
    lines.append(_optional("equity_pct", sizing.equity_pct, "only for method equity_pct"))
    if sizing.brackets:
        lines.append("brackets = [")
        lines += [f"  {_bracket(bracket)}," for bracket in sizing.brackets]
        lines.append("]")
    else:
        lines.append("brackets = []")
    lines.append(f"min_usd = {_value(sizing.min_usd)}")
    lines.append(_optional("max_usd", sizing.max_usd, "no maximum"))
    return lines


def _limits(strategy: Strategy) -> list[str]:
    limits = strategy.limits
    return [
        "",
        "[limits]",
        _optional("max_open_positions", limits.max_open_positions, "no limit"),
        _optional("max_symbol_pct", limits.max_symbol_pct, "no limit"),
        _optional("max_gross_exposure_pct", limits.max_gross_exposure_pct, "no limit"),
        _optional("cash_floor_usd", limits.cash_floor_usd, "no floor"),
    ]


def _bracket(bracket: Bracket) -> str:
    return f"{{ from_usd = {_value(bracket.from_usd)}, multiplier = {_value(bracket.multiplier)} }}"


def _optional(key: str, value: object, unset: str) -> str:
    return f"# {key}: not set ({unset})" if value is None else f"{key} = {_value(value)}"


def _list(values: object) -> str:
    assert isinstance(values, list | tuple)
    return "[" + ", ".join(_value(value) for value in values) + "]"


def _value(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def describe(strategy: Strategy) -> list[str]:
    """The strategy in a few lines of words (the dashboard's card)."""
    from trading_automation.domain.money import format_usd

    members, rules, sizing, limits = (
        strategy.members,
        strategy.filings,
        strategy.sizing,
        strategy.limits,
    )
    whom = _said(
        (True, f"only {', '.join(members.include)}" if members.include else "every member"),
        (members.exclude, f"never {', '.join(members.exclude)}"),
        (members.chambers, " and ".join(chamber.value for chamber in members.chambers)),
        (members.parties, " or ".join(party_word(party) for party in members.parties)),
    )
    what = _said(
        (
            rules.min_trade_size_usd is not None,
            f"disclosed size from {format_usd(rules.min_trade_size_usd or Decimal(0))}",
        ),
        (rules.ticker_types, f"TickerType {', '.join(rules.ticker_types)}"),
        (rules.exclude_tickers, f"never {', '.join(rules.exclude_tickers)}"),
        (
            rules.max_report_lag_days is not None,
            f"filed within {rules.max_report_lag_days} days of the trade",
        ),
        (rules.max_filing_age_days is not None, f"at most {rules.max_filing_age_days} days old"),
    )
    usd = format_usd(sizing.usd or Decimal(0))
    how = {
        "fixed": f"{usd} per order",
        "equity_pct": f"{sizing.equity_pct}% of equity per order",
        "scaled": f"{usd} x the disclosed size's multiplier ({len(sizing.brackets)} brackets)",
    }[sizing.method]
    bounds = f"from {format_usd(sizing.smallest_order)}"
    if sizing.max_usd is not None:
        bounds += f" to {format_usd(sizing.max_usd)}"
    caps = _said(
        (
            limits.max_open_positions is not None,
            f"at most {limits.max_open_positions} positions",
        ),
        (limits.max_symbol_pct is not None, f"{limits.max_symbol_pct}% of equity per symbol"),
        (
            limits.max_gross_exposure_pct is not None,
            f"{limits.max_gross_exposure_pct}% of equity in all",
        ),
        (
            limits.cash_floor_usd is not None,
            f"{format_usd(limits.cash_floor_usd or Decimal(0))} of cash never spent",
        ),
    )
    return [
        f"Whom: {'; '.join(whom)}",
        f"What and when: {'; '.join(what) if what else 'every BUY filing'}",
        f"How much: {how}, {bounds}",
        f"Limits: {'; '.join(caps) if caps else 'none'}",
    ]


def _said(*parts: tuple[object, str]) -> list[str]:
    """The texts whose condition holds."""
    return [text for condition, text in parts if condition]
