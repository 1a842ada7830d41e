"""The engine against backtrader: the same fixed-dollar, hold-N-sessions strategy on the same
synthetic data gives the same fills and the same equity, to the cent.

The scenario (`tests.backtrader_support`): 30 symbols with a bar on every session of 2024 (the
sandbox's seeded walk at four decimals) and about 490 purchases disclosed by the sandbox's roster,
each becoming public between one session's open and the next (the evening before, over a weekend
or holiday, the morning itself, at 09:30 sharp, or with no upload time at all). How the two sides
correspond:

- **When.** The engine reads the records, published at their upload time, and each reaches the
  first session whose open is at or after it; backtrader is told that session, and buys in
  `next_open` (`cheat_on_open`: orders placed there fill at that bar's open), one in-memory feed
  per symbol.
- **How much.** `default_strategy($1,000)` buys $1,000 of every purchase; backtrader buys the
  same size: the dollars over the slipped open, rounded down to 9 places, as the engine does.
- **Price.** The engine fills at the open x (1 + bps / 10,000) for a buy and x (1 - bps / 10,000)
  for a sale, to 9 places; backtrader's market orders take `slip_perc` = bps / 10,000 with
  `slip_open` (the open slips too) and `slip_out` (never capped at the bar's high or low).
- **Exit.** `ExitPolicy(max_hold_days=5)` sells at the open of the 5th session after the fill's;
  backtrader sells the lot's size in `next_open` 5 bars after the buy (the last lot of a symbol
  sells what is left of the position, so float sizes leave no residue open).
- **Cash.** The engine's cash moves in cents (a sale's proceeds rounded half-even); backtrader's
  is floats, so a commission of each fill's value less that value rounded to the cent (at most
  half a cent either way) makes it move in cents too. Otherwise commission-free.
- **Equity.** At each close, cash plus the quantities at the close: `result.equity` against
  `broker.getvalue()` in `next`.

Capital is ample, so no buy is ever skipped for cash. What is compared: every fill (day, symbol,
side, price and cash within a cent, quantity within 1e-6), the equity at every close and at the end
(within a cent). A holding period off by one session changes every sale and fails the test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.backtrader_support import BtFill, make_scenario, run_backtrader
from trading_automation.backtest.engine import run_backtest
from trading_automation.backtest.result import Fill, Params
from trading_automation.domain.exits import ExitPolicy
from trading_automation.domain.strategy import default_strategy

AMOUNT = Decimal(1000)
HOLD = 5
CAPITAL = Decimal(100_000)
CENT = 0.01


def _ours(fill: Fill) -> tuple[date, str, str, float]:
    return fill.day, fill.symbol, fill.side.value.lower(), round(float(fill.quantity), 6)


def _theirs(fill: BtFill) -> tuple[date, str, str, float]:
    return fill.day, fill.symbol, fill.side, round(fill.quantity, 6)


@pytest.mark.parametrize("slippage_bps", [Decimal(0), Decimal(5)])
def test_the_engine_and_backtrader_fill_and_value_alike(slippage_bps: Decimal) -> None:
    scenario = make_scenario(
        symbols=30, start=date(2024, 1, 2), end=date(2024, 12, 31), per_session=2
    )
    params = Params(scenario.start, scenario.end, capital=CAPITAL, slippage_bps=slippage_bps)

    ours = run_backtest(
        scenario.history(), default_strategy(AMOUNT), ExitPolicy(max_hold_days=HOLD), params
    )
    theirs = run_backtrader(
        scenario, amount=AMOUNT, hold=HOLD, slippage_bps=slippage_bps, capital=CAPITAL
    )

    assert ours.skips == []
    buys = [fill for fill in ours.fills if fill.side.value == "BUY"]
    assert len(buys) == len(scenario.purchases) > 400
    assert len(ours.fills) - len(buys) > 400
    assert len(theirs.fills) == len(ours.fills)
    for mine, other in zip(
        sorted(ours.fills, key=_ours), sorted(theirs.fills, key=_theirs), strict=True
    ):
        assert (mine.day, mine.symbol, mine.side.value.lower()) == (
            other.day,
            other.symbol,
            other.side,
        )
        assert float(mine.quantity) == pytest.approx(other.quantity, abs=1e-6), mine
        assert float(mine.price) == pytest.approx(other.price, abs=CENT), mine
        assert float(mine.amount) == pytest.approx(other.amount, abs=CENT), mine
    assert [day.day for day in ours.equity] == [day for day, _value in theirs.equity]
    for mine_day, (day, value) in zip(ours.equity, theirs.equity, strict=True):
        assert float(mine_day.equity) == pytest.approx(value, abs=CENT), day
    assert float(ours.final_equity) == pytest.approx(theirs.final_equity, abs=CENT)
    assert ours.final_equity != CAPITAL
