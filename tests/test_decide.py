"""The decision, rule by rule, on plain values: what it buys, what it skips and what it says."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import quiver_record
from trading_automation.domain.decide import (
    AccountSnapshot,
    FilingFacts,
    decide,
    disclosed_size,
    screen,
)
from trading_automation.domain.enums import Party
from trading_automation.domain.filings import normalize_record
from trading_automation.domain.strategy import Chamber, Strategy, default_strategy

TODAY = date(2024, 6, 20)
FILING = FilingFacts(
    source_hash="a" * 64,
    symbol="AAPL",
    member_name="Nancy Pelosi",
    filing_date=date(2024, 6, 18),
    trade_date=date(2024, 6, 10),
    bioguide_id="P000197",
    chamber=Chamber.HOUSE,
    party=Party.DEMOCRAT,
    ticker_type="ST",
    trade_size_usd=Decimal(15001),
)
RICH = AccountSnapshot(equity=Decimal(100_000), cash=Decimal(50_000))


def _strategy(**tables: Any) -> Strategy:
    return Strategy.model_validate(tables).with_notional(Decimal(1000))


def test_without_a_strategy_file_every_buy_filing_gets_the_notional() -> None:
    decision = decide(FILING, default_strategy(Decimal("1000.50")), today=TODAY)

    assert decision.amount == Decimal("1000.50")
    assert decision.rule is None


def test_the_facts_of_a_quiver_record_are_read_from_its_raw_fields() -> None:
    filing = normalize_record(
        quiver_record(
            Trade_Size_USD="$50,001 - $100,000",
            TickerType=" st ",
            Chamber="Senate",
            BioGuideID="t000278",
            Party="R",
        )
    )

    facts = FilingFacts.from_filing(filing, amends=date(2024, 6, 1))

    assert facts.trade_size_usd == Decimal(50001)
    assert facts.ticker_type == "ST"
    assert facts.chamber is Chamber.SENATE
    assert facts.bioguide_id == "T000278"
    assert facts.party is Party.REPUBLICAN
    assert facts.amends == date(2024, 6, 1)


@pytest.mark.parametrize(
    ("raw", "lower"),
    [
        ("1001 - 15000", Decimal(1001)),
        ("$1,001 - $15,000", Decimal(1001)),
        ("15001.0", Decimal("15001.0")),
        (15001, Decimal(15001)),
        (1001.0, Decimal("1001.0")),
        ("Over $50,000,000", Decimal(50_000_000)),
        ("", None),
        ("undisclosed", None),
        (None, None),
        (True, None),
    ],
)
def test_the_disclosed_size_is_the_lower_bound_of_the_range(raw: object, lower: object) -> None:
    assert disclosed_size(raw) == lower


@pytest.mark.parametrize(
    ("tables", "filing", "rule", "said"),
    [
        (
            {},
            replace(FILING, amends=date(2024, 5, 30)),
            "amendment",
            "amends the filing of 2024-05-30",
        ),
        (
            {"members": {"exclude": ["nancy pelosi"]}},
            FILING,
            "members.exclude",
            "Nancy Pelosi is excluded (members.exclude: nancy pelosi)",
        ),
        (
            {"members": {"include": ["Tommy Tuberville"]}},
            FILING,
            "members.include",
            "Nancy Pelosi is not in members.include",
        ),
        (
            {"members": {"chambers": ["senate"]}},
            FILING,
            "members.chambers",
            "chamber house; members.chambers is senate",
        ),
        (
            {"members": {"parties": ["R", "independent"]}},
            FILING,
            "members.parties",
            "party democrat; members.parties is republican or independent",
        ),
        (
            {"members": {"parties": ["D"]}},
            replace(FILING, party=Party.UNKNOWN),
            "members.parties",
            "party not disclosed; members.parties is democrat",
        ),
        (
            {"filings": {"exclude_tickers": ["aapl"]}},
            FILING,
            "filings.exclude_tickers",
            "AAPL is in filings.exclude_tickers",
        ),
        (
            {"filings": {"ticker_types": ["OP"]}},
            FILING,
            "filings.ticker_types",
            "TickerType ST; filings.ticker_types is OP",
        ),
        (
            {"filings": {"min_trade_size_usd": 50001}},
            FILING,
            "filings.min_trade_size_usd",
            "disclosed size $15,001.00 is below filings.min_trade_size_usd $50,001.00",
        ),
        (
            {"filings": {"min_trade_size_usd": 1}},
            replace(FILING, trade_size_usd=None),
            "filings.min_trade_size_usd",
            "size not disclosed; filings.min_trade_size_usd $1.00",
        ),
        (
            {"filings": {"max_report_lag_days": 45}},
            replace(FILING, trade_date=date(2024, 4, 27)),
            "filings.max_report_lag_days",
            "filed 52 days after the trade; max_report_lag_days is 45",
        ),
        (
            {"filings": {"max_filing_age_days": 1}},
            FILING,
            "filings.max_filing_age_days",
            "filed 2 days before 2024-06-20; max_filing_age_days is 1",
        ),
        (
            {"sizing": {"method": "scaled", "brackets": [{"from_usd": 50001, "multiplier": 2}]}},
            FILING,
            "sizing.brackets",
            "disclosed size $15,001.00, below every bracket; scaled sizing needs its bracket",
        ),
        (
            {"sizing": {"usd": "0.50"}},
            FILING,
            "sizing.min_usd",
            "the order would be $0.50 (fixed $0.50), below sizing.min_usd $1.00",
        ),
    ],
)
def test_each_rule_skips_by_its_name_saying_the_values_compared(
    tables: dict[str, Any], filing: FilingFacts, rule: str, said: str
) -> None:
    decision = decide(filing, _strategy(**tables), RICH, today=TODAY)

    assert decision.amount is None
    assert decision.rule == rule
    assert said in decision.reason


def test_a_member_is_named_by_bioguide_id_or_any_spelling_of_the_name() -> None:
    tuberville = replace(FILING, member_name="Thomas H. Tuberville", bioguide_id="T000278")

    by_id = _strategy(members={"include": ["T000278"]})
    by_nickname = _strategy(members={"include": ["Tommy Tuberville"]})

    assert decide(tuberville, by_id, today=TODAY).buys
    assert decide(tuberville, by_nickname, today=TODAY).buys
    assert not decide(FILING, by_id, today=TODAY).buys


def test_an_excluded_member_is_skipped_even_when_included() -> None:
    both = _strategy(members={"include": ["Nancy Pelosi"], "exclude": ["P000197"]})

    assert decide(FILING, both, today=TODAY).rule == "members.exclude"


def test_the_filters_alone_are_screened_before_any_sizing() -> None:
    strategy = _strategy(members={"include": ["Ro Khanna"]}, sizing={"usd": "0.10"})

    assert screen(FILING, strategy, today=TODAY) is not None
    assert screen(replace(FILING, member_name="Ro Khanna"), strategy, today=TODAY) is None


def test_scaled_sizing_multiplies_by_the_bracket_of_the_disclosed_size() -> None:
    strategy = _strategy(
        sizing={
            "method": "scaled",
            "usd": 1000,
            "brackets": [
                {"from_usd": 1001, "multiplier": 1},
                {"from_usd": 15001, "multiplier": "1.5"},
                {"from_usd": 50001, "multiplier": 2},
            ],
            "max_usd": 1800,
        }
    )

    small = decide(replace(FILING, trade_size_usd=Decimal(1001)), strategy, today=TODAY)
    middle = decide(FILING, strategy, today=TODAY)
    large = decide(replace(FILING, trade_size_usd=Decimal(50001)), strategy, today=TODAY)

    assert (small.amount, middle.amount, large.amount) == (
        Decimal("1000.00"),
        Decimal("1500.00"),
        Decimal("1800"),
    )
    assert "at most sizing.max_usd $1,800.00" in large.reason


def test_equity_sizing_rounds_down_to_the_cent() -> None:
    strategy = _strategy(sizing={"method": "equity_pct", "equity_pct": "1.5"})
    account = replace(RICH, equity=Decimal("12345.67"))

    decision = decide(FILING, strategy, account, today=TODAY)

    # 1.5% of $12,345.67 is $185.18505: never rounded up.
    assert decision.amount == Decimal("185.18")
    assert decision.reason == "1.5% of equity $12,345.67"


def test_a_limit_reduces_the_order_to_the_room_it_leaves() -> None:
    strategy = _strategy(limits={"max_symbol_pct": 5})
    account = AccountSnapshot(
        equity=Decimal(100_000), cash=Decimal(50_000), positions={"AAPL": Decimal("4250.25")}
    )

    decision = decide(FILING, strategy, account, today=TODAY)

    assert decision.amount == Decimal("749.75")
    assert "reduced to $749.75 by limits.max_symbol_pct" in decision.reason


@pytest.mark.parametrize(
    ("limits", "account", "rule", "said"),
    [
        (
            {"max_open_positions": 2},
            AccountSnapshot(
                Decimal(100_000), Decimal(50_000), {"MSFT": Decimal(1)}, {"NVDA": Decimal(5)}
            ),
            "limits.max_open_positions",
            "2 positions held or being bought; limits.max_open_positions is 2",
        ),
        (
            {"max_symbol_pct": 1},
            AccountSnapshot(Decimal(100_000), Decimal(50_000), {}, {"AAPL": Decimal(999)}),
            "limits.max_symbol_pct",
            "AAPL holds and is being bought for $999.00; limits.max_symbol_pct 1% of equity "
            "$100,000.00 is $1,000.00: $1.00 left",
        ),
        (
            {"max_gross_exposure_pct": 50},
            AccountSnapshot(Decimal(10_000), Decimal(50_000), {"MSFT": Decimal(-5000)}),
            "limits.max_gross_exposure_pct",
            "held and being bought $5,000.00; limits.max_gross_exposure_pct 50% of equity "
            "$10,000.00 is $5,000.00: $0.00 left",
        ),
        (
            {"cash_floor_usd": 2000},
            AccountSnapshot(Decimal(100_000), Decimal(2500), {}, {"MSFT": Decimal(600)}),
            "limits.cash_floor_usd",
            "cash $2,500.00 less $600.00 being bought; limits.cash_floor_usd keeps $2,000.00: "
            "$0.00 left",
        ),
    ],
)
def test_a_limit_that_leaves_less_than_the_minimum_order_skips_by_its_name(
    limits: dict[str, Any], account: AccountSnapshot, rule: str, said: str
) -> None:
    strategy = _strategy(limits=limits, sizing={"min_usd": 10})

    decision = decide(FILING, strategy, account, today=TODAY)

    assert decision.rule == rule
    assert decision.reason == said


def test_buying_more_of_a_held_symbol_is_not_a_new_position() -> None:
    strategy = _strategy(limits={"max_open_positions": 1})
    account = replace(RICH, positions={"AAPL": Decimal(100)})

    assert decide(FILING, strategy, account, today=TODAY).buys


def test_a_strategy_with_limits_refuses_to_decide_without_the_account() -> None:
    with pytest.raises(ValueError, match="account"):
        decide(FILING, _strategy(limits={"cash_floor_usd": 1}), None, today=TODAY)
