"""The backtest's metrics against values computed by hand on short series."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.backtest_result_support import close_day, fill, make_result, part, position
from trading_automation.backtest.labels import METRIC_KEYS
from trading_automation.backtest.metrics import (
    benchmark_metrics,
    benchmark_values,
    daily_risk_free,
    strategy_metrics,
)
from trading_automation.domain.enums import OrderSide
from trading_automation.errors import InvalidValueError

ROOT_YEAR = math.sqrt(252)


def test_a_short_series_gives_the_figures_computed_by_hand() -> None:
    # V = 100, 110, 99, 121; r = 0.1, -0.1, 2/9 (121/99 - 1); cash 10% of each close.
    result = make_result(
        [110, 99, 121],
        cash=["11", "9.9", "12.1"],
        fills=[fill(0, OrderSide.BUY, 90), fill(2, OrderSide.SELL, 50)],
    )

    figures = strategy_metrics(result)

    assert list(figures) == list(METRIC_KEYS)
    # 121 / 100 - 1
    assert figures["total_return"] == pytest.approx(0.21)
    # 1.21 ** (252 / 3) - 1 = 1.1 ** 168 - 1 ≈ 8,994,376.4
    assert figures["cagr"] == pytest.approx(8_994_376.4, rel=1e-8)
    # mean r = 2/27; deviations 7/270, -47/270, 40/270; sample variance = 3858/72900/2 =
    # 0.0264609; stdev 0.1626681; * sqrt(252) = 2.5822758
    assert figures["volatility"] == pytest.approx(2.5822758, rel=1e-7)
    # (2/27) / 0.1626681 * sqrt(252) = 0.4553689 * 15.8745079 = 7.2287658
    assert figures["sharpe"] == pytest.approx(7.2287658, rel=1e-7)
    # downside = sqrt(0.1 ** 2 / 3) = 0.0577350; (2/27) / 0.0577350 * sqrt(252) = 20.3670031
    assert figures["sortino"] == pytest.approx(20.3670031, rel=1e-7)
    # from 110 down to 99: 11 / 110; peak on close 1, back above it on close 3
    assert figures["max_drawdown"] == pytest.approx(0.1)
    assert figures["max_drawdown_days"] == 2
    # (90 + 50) / 2 = 70 traded each way; / mean equity 110; / (3/252) years = 53.4545
    assert figures["turnover"] == pytest.approx(70 / 110 * 84)
    assert figures["exposure"] == pytest.approx(0.9)
    assert figures["trades"] == 2
    assert figures["win_rate"] is None
    assert figures["avg_holding_days"] is None
    assert figures["alpha"] is None  # no benchmark close
    assert figures["beta"] is None


def test_the_risk_free_rate_lowers_sharpe_by_its_daily_rate() -> None:
    result = make_result([110, 99, 121], risk_free_rate="0.05")

    figures = strategy_metrics(result)

    # (1.05) ** (1/252) - 1 = 0.000193630
    rf_daily = daily_risk_free(Decimal("0.05"))
    assert rf_daily == pytest.approx(0.000193630, rel=1e-5)
    assert (1 + rf_daily) ** 252 == pytest.approx(1.05)
    # the same stdev (a constant shift), a mean lower by rf_daily
    assert figures["sharpe"] == pytest.approx((2 / 27 - rf_daily) / 0.1626681 * ROOT_YEAR, 1e-6)


@pytest.mark.parametrize("rate", ["-1", "-2.5", "NaN"])
def test_a_risk_free_rate_of_minus_100_percent_or_less_is_refused(rate: str) -> None:
    with pytest.raises(InvalidValueError, match=r"^risk_free_rate: must be more than -1"):
        strategy_metrics(make_result([110], risk_free_rate=rate))


def test_without_closes_only_the_figures_that_need_none_are_given() -> None:
    result = make_result([], fills=[])

    figures = strategy_metrics(result)

    assert figures == {
        "total_return": 0.0,
        "cagr": None,
        "volatility": None,
        "sharpe": None,
        "sortino": None,
        "max_drawdown": 0.0,
        "max_drawdown_days": 0,
        "win_rate": None,
        "avg_holding_days": None,
        "turnover": None,
        "exposure": None,
        "trades": 0,
        "alpha": None,
        "beta": None,
    }
    assert benchmark_metrics(result) == dict.fromkeys(METRIC_KEYS)


# -- drawdown --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("closes", "depth", "days"),
    [
        # 100 → 120 (peak, close 1) → 90 (-25%) → 100 → 130 (recovered on close 4) → 125
        ([120, 90, 100, 130, 125], 0.25, 3),
        # the same fall, never recovered: from close 1 to the last, close 5
        ([120, 90, 100, 110, 115], 0.25, 4),
        # the capital itself is the peak: 100 → 90 (close 1) → 100 (back at it on close 2)
        ([90, 100], 0.1, 2),
        # a shallow fall first (10%), the deepest later: 110 (close 3) → 55, never recovered
        ([90, 100, 110, 55, 60], 0.5, 2),
        # two equal falls: the first counts (peak on close 0, back at it on close 2)
        ([50, 100, 100, 50], 0.5, 2),
        # a plateau at the peak: the episode starts at its last day (close 2)
        ([110, 110, 99, 110], 0.1, 2),
        # never below the peak
        ([100, 100, 105], 0.0, 0),
    ],
)
def test_the_deepest_fall_and_the_length_of_its_episode(
    closes: list[int], depth: float, days: int
) -> None:
    figures = strategy_metrics(make_result(closes))

    assert figures["max_drawdown"] == pytest.approx(depth)
    assert figures["max_drawdown_days"] == days


# -- Sortino ---------------------------------------------------------------------------------


def test_sortino_is_none_without_a_return_below_the_risk_free_rate() -> None:
    figures = strategy_metrics(make_result([110, 121, 121]))

    assert figures["sortino"] is None
    # returns 0.1, 0.1, 0: a spread, so Sharpe exists
    assert figures["sharpe"] is not None


def test_sortino_counts_flat_days_below_the_risk_free_rate_as_downside() -> None:
    # r = 0, 0, 0; x = -rf_d each: mean -rf_d, downside sqrt(rf_d ** 2) = rf_d → -sqrt(252)
    figures = strategy_metrics(make_result([100, 100, 100], risk_free_rate="0.05"))

    assert figures["sortino"] == pytest.approx(-ROOT_YEAR)
    assert figures["sharpe"] is None  # no spread
    assert figures["volatility"] == 0.0


# -- alpha and beta --------------------------------------------------------------------------

# SPY 100, 110, 99, 108.9: r_b = 0.1, -0.1, 0.1 from the second close (bought at the first).
# The strategy: 1000, 1200, 960, 1152: r = 0, 0.2, -0.2, 0.2, twice the benchmark's.
TWICE = ["1000", "1200", "960", "1152"]
SPY = ["100", "110", "99", "108.9"]


def test_twice_the_benchmarks_returns_gives_beta_2_and_alpha_0() -> None:
    figures = strategy_metrics(make_result(TWICE, capital=1000, benchmark=SPY))

    assert figures["beta"] == pytest.approx(2.0)
    assert figures["alpha"] == pytest.approx(0.0, abs=1e-12)


def test_with_a_risk_free_rate_twice_the_returns_earns_it_as_alpha() -> None:
    # x = 2 r_b - rf_d = 2 (r_b - rf_d) + rf_d: beta 2, alpha = rf_d * 252
    result = make_result(TWICE, capital=1000, benchmark=SPY, risk_free_rate="0.05")

    figures = strategy_metrics(result)

    assert figures["beta"] == pytest.approx(2.0)
    assert figures["alpha"] == pytest.approx(daily_risk_free(Decimal("0.05")) * 252)


def test_the_benchmark_is_bought_with_the_capital_and_held() -> None:
    result = make_result(TWICE, capital=1000, benchmark=SPY)

    figures = benchmark_metrics(result)

    # 1000 in SPY at 100: 1000, 1100, 990, 1089
    assert benchmark_values(result) == [Decimal(1000), Decimal(1100), Decimal(990), Decimal(1089)]
    assert figures["total_return"] == pytest.approx(0.089)
    assert figures["max_drawdown"] == pytest.approx(0.1)  # 1100 → 990
    assert figures["max_drawdown_days"] == 2  # never back at 1100: close 2 to close 4
    assert figures["trades"] == 1
    assert figures["exposure"] == 1.0
    assert figures["alpha"] == 0.0
    assert figures["beta"] == 1.0
    assert figures["win_rate"] is None
    assert figures["avg_holding_days"] is None
    assert figures["turnover"] is None


def test_a_benchmark_without_early_closes_is_bought_late_and_carried_over_gaps() -> None:
    # SPY: none, 50, none (carried), 55; bought at 50 on close 1 with the capital, 100
    result = make_result([100, 100, 101, 111], benchmark=[None, 50, None, 55])

    figures = benchmark_metrics(result)
    strategy = strategy_metrics(result)

    assert benchmark_values(result) == [None, Decimal(100), Decimal(100), Decimal(110)]
    assert figures["total_return"] == pytest.approx(0.1)
    assert figures["exposure"] == pytest.approx(0.75)  # held on 3 of the 4 closes
    # pairs on closes 2 and 3: (0.01, 0), (110/101 - 1, 0.1): beta = Δx / Δy
    assert strategy["beta"] == pytest.approx((111 / 101 - 1 - 0.01) / 0.1)


def test_without_a_benchmark_close_there_is_no_benchmark_and_no_alpha() -> None:
    result = make_result([110, 99, 121])

    assert benchmark_metrics(result) == dict.fromkeys(METRIC_KEYS)
    assert strategy_metrics(result)["alpha"] is None


def test_a_flat_benchmark_leaves_alpha_and_beta_undefined() -> None:
    result = make_result([100, 110, 99], benchmark=[10, 10, 10])

    assert strategy_metrics(result)["beta"] is None
    assert benchmark_metrics(result)["beta"] is None
    assert benchmark_metrics(result)["sharpe"] is None


# -- lots ------------------------------------------------------------------------------------


def test_win_rate_and_holding_count_only_lots_closed_in_full() -> None:
    result = make_result(
        [100, 101],
        closed=[
            # lot 1: +10 then -4 = +6, a win; its last part held 9 days
            part(1, 10, held_days=5),
            part(1, -4, held_days=9),
            # lot 2: -3, a loss, held 4
            part(2, -3, held_days=4),
            # lot 3: partly sold at +100 but still open: left out
            part(3, 100, held_days=3),
            # lot 4: +5 and -5 = 0, not a win; the part listed first closed last (8 days)
            part(4, 5, held_days=8, closed=close_day(8)),
            part(4, -5, held_days=6, closed=close_day(6)),
        ],
        open_lots=[position(3, 1)],
    )

    figures = strategy_metrics(result)

    assert figures["win_rate"] == pytest.approx(1 / 3)  # lot 1 of lots 1, 2 and 4
    assert figures["avg_holding_days"] == pytest.approx((9 + 4 + 8) / 3)


def test_no_lot_closed_in_full_gives_no_win_rate() -> None:
    result = make_result([100], closed=[part(1, 5)], open_lots=[position(1, 2)])

    figures = strategy_metrics(result)

    assert figures["win_rate"] is None
    assert figures["avg_holding_days"] is None


# -- properties ------------------------------------------------------------------------------

_values = st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=30)


@settings(deadline=None)
@given(
    closes=_values,
    capital=st.integers(min_value=1, max_value=10**6),
    spy=_values,
    scale=st.integers(min_value=2, max_value=1000),
)
def test_drawdown_is_a_fraction_and_scaling_every_value_changes_no_ratio(
    closes: list[int], capital: int, spy: list[int], scale: int
) -> None:
    benchmark = (spy * len(closes))[: len(closes)]
    cash = [value // 3 for value in closes]
    traded = [fill(0, OrderSide.BUY, capital), fill(0, OrderSide.SELL, closes[0])]
    result = make_result(closes, capital=capital, benchmark=benchmark, cash=cash, fills=traded)
    scaled = make_result(
        [value * scale for value in closes],
        capital=capital * scale,
        benchmark=benchmark,
        cash=[held * scale for held in cash],
        fills=[fill(0, OrderSide.BUY, capital * scale), fill(0, OrderSide.SELL, closes[0] * scale)],
    )

    figures = strategy_metrics(result)

    depth = figures["max_drawdown"]
    assert depth is not None
    assert 0 <= depth < 1
    assert 0 <= int(figures["max_drawdown_days"] or 0) <= len(closes)
    assert figures["exposure"] is not None
    assert 0 <= figures["exposure"] <= 1
    pairs = (
        (figures, strategy_metrics(scaled)),
        (benchmark_metrics(result), benchmark_metrics(scaled)),
    )
    for mine, theirs in pairs:
        for key in METRIC_KEYS:
            if mine[key] is None:
                assert theirs[key] is None, key
            else:
                assert theirs[key] == pytest.approx(mine[key], rel=1e-9, abs=1e-12), key
