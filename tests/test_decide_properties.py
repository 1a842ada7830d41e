"""Property tests of the decision: for any account and any sequence of filings, the limits are
never exceeded, every size is exact to the cent and within the minimum and maximum, and every
skip names a rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trading_automation.domain.decide import AccountSnapshot, FilingFacts, decide
from trading_automation.domain.enums import Party
from trading_automation.domain.money import CENT
from trading_automation.domain.strategy import RULES, Chamber, Strategy

TODAY = date(2024, 6, 20)
SYMBOLS = ["AAPL", "MSFT", "NVDA", "KKR", "AMZN", "TSLA"]
MEMBERS = ["Nancy Pelosi", "Tommy Tuberville", "Ro Khanna", "Zoë Lofgren", "Dan Crenshaw"]

money = st.decimals(min_value=0, max_value=50_000, places=2, allow_nan=False)
percent = st.decimals(min_value="0.001", max_value=100, places=3, allow_nan=False)
# Mostly accounts that can buy; now and then one with nothing (or less than nothing) in it.
balance = st.one_of(
    st.decimals(min_value=1000, max_value=500_000, places=2),
    st.decimals(min_value=-1000, max_value=1000, places=2),
)

filings = st.builds(
    FilingFacts,
    source_hash=st.just("a" * 64),
    symbol=st.sampled_from(SYMBOLS),
    member_name=st.sampled_from(MEMBERS),
    filing_date=st.integers(0, 20).map(lambda days: TODAY - timedelta(days=days)),
    trade_date=st.one_of(
        st.none(), st.integers(0, 90).map(lambda days: TODAY - timedelta(days=days))
    ),
    chamber=st.one_of(st.none(), st.sampled_from(Chamber)),
    party=st.one_of(st.none(), st.sampled_from(Party)),
    ticker_type=st.sampled_from([None, "ST", "OP"]),
    trade_size_usd=st.one_of(
        st.none(), st.sampled_from([1001, 15001, 50001, 1000001]).map(Decimal)
    ),
    amends=st.sampled_from([None] * 9 + [TODAY - timedelta(days=30)]),
)


@st.composite
def strategies(draw: st.DrawFn, *, filters: bool = True) -> Strategy:
    """Any valid strategy with limits (so decisions read the account); without `filters`, one
    that lets every filing through to the sizing and the limits."""
    minimum = draw(st.decimals(min_value="0.01", max_value=50, places=2))
    tables: dict[str, Any] = {}
    if filters:
        tables["members"] = {
            "include": draw(st.lists(st.sampled_from(MEMBERS), max_size=3)),
            "parties": draw(st.lists(st.sampled_from(["D", "R"]), max_size=1)),
        }
        tables["filings"] = {
            "max_report_lag_days": draw(st.one_of(st.none(), st.integers(0, 60))),
            "max_filing_age_days": draw(st.one_of(st.none(), st.integers(0, 10))),
            "min_trade_size_usd": draw(st.one_of(st.none(), st.sampled_from([1001, 15001]))),
        }
    tables |= {
        "sizing": draw(
            st.sampled_from(
                [
                    {
                        "method": "fixed",
                        "usd": draw(st.decimals(min_value=1, max_value=9000, places=2)),
                    },
                    {"method": "equity_pct", "equity_pct": draw(percent)},
                    {
                        "method": "scaled",
                        "usd": draw(st.decimals(min_value=1, max_value=3000, places=2)),
                        "brackets": [
                            {"from_usd": 1001, "multiplier": "0.5"},
                            {"from_usd": 15001, "multiplier": "1.75"},
                            {"from_usd": 50001, "multiplier": 3},
                        ],
                    },
                ]
            )
        )
        | {"min_usd": minimum, "max_usd": draw(st.one_of(st.none(), st.just(minimum * 20)))},
        "limits": {
            "max_open_positions": draw(st.one_of(st.none(), st.integers(1, 5))),
            "max_symbol_pct": draw(st.one_of(st.none(), percent)),
            "max_gross_exposure_pct": draw(st.one_of(st.none(), percent)),
            "cash_floor_usd": draw(st.one_of(st.none(), money)),
        },
    }
    return Strategy.model_validate(tables).with_notional(Decimal(1000))


accounts = st.builds(
    AccountSnapshot,
    equity=balance,
    cash=balance,
    positions=st.dictionaries(st.sampled_from(SYMBOLS), money, max_size=4),
    pending=st.dictionaries(st.sampled_from(SYMBOLS), money, max_size=2),
)


def _within_limits(strategy: Strategy, before: AccountSnapshot, after: AccountSnapshot) -> None:
    """What a buy leaves never breaks a limit the account kept before it."""
    limits = strategy.limits
    hundred = Decimal(100)
    if limits.max_open_positions is not None:
        assert len(after.open_symbols) <= max(limits.max_open_positions, len(before.open_symbols))
    if limits.max_symbol_pct is not None:
        cap = after.equity * limits.max_symbol_pct / hundred
        for symbol in SYMBOLS:
            if after.exposure(symbol) > before.exposure(symbol):
                assert after.exposure(symbol) <= cap
    if limits.max_gross_exposure_pct is not None:
        assert after.gross <= after.equity * limits.max_gross_exposure_pct / hundred
    if limits.cash_floor_usd is not None:
        assert after.cash - after.pending_total >= limits.cash_floor_usd


@settings(max_examples=400, deadline=None)
@given(
    strategy=strategies(filters=False),
    account=accounts,
    sequence=st.lists(filings.map(lambda filing: replace(filing, amends=None)), max_size=12),
)
def test_no_sequence_of_filings_exceeds_a_limit_and_every_size_is_exact(
    strategy: Strategy, account: AccountSnapshot, sequence: list[FilingFacts]
) -> None:
    sizing = strategy.sizing
    for filing in sequence:
        decision = decide(filing, strategy, account, today=TODAY)
        if decision.amount is None:
            assert decision.rule in RULES
            assert decision.reason
            continue
        assert decision.rule is None
        assert decision.amount == decision.amount.quantize(CENT)
        assert decision.amount >= sizing.smallest_order
        if sizing.max_usd is not None:
            assert decision.amount <= sizing.max_usd
        after = account.with_buy(filing.symbol, decision.amount)
        _within_limits(strategy, account, after)
        account = after


@settings(max_examples=300, deadline=None)
@given(strategy=strategies(), account=accounts, sequence=st.lists(filings, max_size=8))
def test_every_filing_is_bought_within_the_sizing_or_skipped_by_a_named_rule(
    strategy: Strategy, account: AccountSnapshot, sequence: list[FilingFacts]
) -> None:
    for filing in sequence:
        decision = decide(filing, strategy, account, today=TODAY)
        if decision.amount is None:
            assert decision.rule in RULES
            assert decision.reason
        else:
            assert decision.amount >= strategy.sizing.smallest_order
            account = account.with_buy(filing.symbol, decision.amount)


@settings(max_examples=200, deadline=None)
@given(strategy=strategies(), account=accounts, filing=filings)
def test_the_decision_depends_on_nothing_but_its_inputs(
    strategy: Strategy, account: AccountSnapshot, filing: FilingFacts
) -> None:
    first = decide(filing, strategy, account, today=TODAY)
    again = decide(replace(filing), strategy, replace(account), today=TODAY)

    assert first == again


@settings(max_examples=200, deadline=None)
@given(strategy=strategies(), account=accounts, filing=filings)
def test_an_amendment_is_never_bought(
    strategy: Strategy, account: AccountSnapshot, filing: FilingFacts
) -> None:
    amended = replace(filing, amends=TODAY - timedelta(days=3))

    assert decide(amended, strategy, account, today=TODAY).rule == "amendment"
