"""Golden scenarios of the backtest, each worked out by hand, with the exact equity at each close.

Capital is $10,000 and every purchase $1,000 (the default strategy) unless a test says otherwise;
SPY bars mark the sessions. Prices are the stored, split-adjusted bars.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.backtest_support import bars, flat, history, new_york, record
from trading_automation.backtest.engine import DELISTED_AFTER, run_backtest
from trading_automation.backtest.result import BacktestResult, Params
from trading_automation.domain.enums import CloseCause, OrderSide
from trading_automation.domain.exits import ExitPolicy, PartialSale
from trading_automation.domain.strategy import default_strategy

MARCH = [date(2024, 3, day) for day in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15)]
THOUSAND = default_strategy(Decimal(1000))
D = Decimal


def replay(
    records: list[dict[str, object]],
    price_rows: list[tuple[str, date, Decimal, Decimal]],
    *,
    days: list[date] = MARCH,
    policy: ExitPolicy | None = None,
    slippage: str = "0",
    capital: str = "10000",
) -> BacktestResult:
    found = history(days[0], days[-1], records, [*price_rows, *flat("SPY", days, "500")])
    params = Params(days[0], days[-1], capital=D(capital), slippage_bps=D(slippage))
    return run_backtest(found, THOUSAND, policy or ExitPolicy(), params)


def equity(result: BacktestResult) -> list[Decimal]:
    return [day.equity for day in result.equity]


def purchase(name: str = "Jane Doe", ticker: str = "AAPL", **fields: object) -> dict[str, object]:
    """Bought Feb 20, filed and uploaded Friday Mar 1 at 15:00 New York: reaches Monday's open."""
    return record(
        name,
        ticker,
        "Purchase",
        traded=fields.pop("traded", date(2024, 2, 20)),  # type: ignore[arg-type]
        filed=fields.pop("filed", date(2024, 3, 1)),  # type: ignore[arg-type]
        uploaded=fields.pop("uploaded", new_york(date(2024, 3, 1), 15)),  # type: ignore[arg-type]
        **fields,
    )


def test_a_buy_and_the_members_sale_with_slippage() -> None:
    # Monday's open 100 plus 5 bps: 100.05; $1,000 buys 1000 / 100.05 = 9.995002498 (9 places,
    # rounded down). Monday's close 101: 9.995002498 x 101 = 1009.495252298 -> 1009.50;
    # Tuesday's close 104: 1039.480259792 -> 1039.48. The sale, uploaded Tuesday 13:00, reaches
    # Wednesday's open 105 less 5 bps = 104.9475: 9.995002498 x 104.9475 = 1048.9505246... ->
    # $1,048.95, so cash is 9,000 + 1,048.95 from then on.
    sale = record(
        "Jane Doe",
        "AAPL",
        "Sale",
        traded=date(2024, 3, 4),
        filed=date(2024, 3, 5),
        uploaded=new_york(date(2024, 3, 5), 13),
    )
    rows = bars(
        "AAPL",
        [(MARCH[0], "100", "101"), (MARCH[1], "102", "104"), (MARCH[2], "105", "103")],
    )
    result = replay([purchase(), sale], rows, days=MARCH[:5], slippage="5")

    assert equity(result) == [
        D("10009.50"),
        D("10039.48"),
        D("10048.95"),
        D("10048.95"),
        D("10048.95"),
    ]
    buy, sell = result.fills
    assert (buy.day, buy.price, buy.quantity, buy.amount) == (
        MARCH[0],
        D("100.05"),
        D("9.995002498"),
        D("1000"),
    )
    assert (sell.day, sell.side, sell.price, sell.amount, sell.cause) == (
        MARCH[2],
        OrderSide.SELL,
        D("104.9475"),
        D("1048.95"),
        CloseCause.MIRRORED_SALE,
    )
    (closed,) = result.closed
    assert (closed.pnl, closed.held_days) == (D("48.95"), 2)
    assert result.open_lots == []


def test_a_stop_loss_sells_at_the_first_open_at_or_below_the_stop() -> None:
    # 10 shares at 100; the stop is 90. Tuesday opens at 95 (above it) and closes at 92:
    # 9,000 + 920. Wednesday opens at 89: sold for 890, and cash is 9,890 from then on.
    rows = bars(
        "AAPL",
        [(MARCH[0], "100", "100"), (MARCH[1], "95", "92"), (MARCH[2], "89", "120")],
    )
    result = replay([purchase()], rows, days=MARCH[:4], policy=ExitPolicy(stop_loss_pct=D(10)))

    assert equity(result) == [D("10000.00"), D("9920.00"), D("9890.00"), D("9890.00")]
    (closed,) = result.closed
    assert (closed.cause, closed.closed, closed.proceeds, closed.pnl) == (
        CloseCause.STOP_LOSS,
        MARCH[2],
        D("890.00"),
        D("-110.00"),
    )


def test_a_holding_limit_sells_after_that_many_sessions() -> None:
    # Bought Monday (10 at 100); held 1 session on Tuesday, 2 on Wednesday: sold at Wednesday's
    # open 110 for 1,100. Closes: Monday 100 -> 10,000; Tuesday 105 -> 10,050; then 10,100.
    rows = bars(
        "AAPL",
        [(MARCH[0], "100", "100"), (MARCH[1], "101", "105"), (MARCH[2], "110", "90")],
    )
    result = replay([purchase()], rows, days=MARCH[:4], policy=ExitPolicy(max_hold_days=2))

    assert equity(result) == [D("10000.00"), D("10050.00"), D("10100.00"), D("10100.00")]
    (closed,) = result.closed
    assert (closed.cause, closed.closed, closed.held_days, closed.pnl) == (
        CloseCause.HOLDING_LIMIT,
        MARCH[2],
        2,
        D("100.00"),
    )


def test_a_symbol_delisted_mid_hold_is_closed_at_its_last_close() -> None:
    # 10 XYZ at 100 on Monday; Tuesday closes at 80 and is its last bar: every later close values
    # it at 80 (9,800). After DELISTED_AFTER (5) sessions without a bar, on Tuesday Mar 12, the
    # lot is closed at 80 for 800: equity stays 9,800, now all cash.
    assert DELISTED_AFTER == 5
    rows = bars("XYZ", [(MARCH[0], "100", "100"), (MARCH[1], "100", "80")])
    result = replay([purchase(ticker="XYZ")], rows)

    assert equity(result) == [D("10000.00")] + [D("9800.00")] * 9
    (closed,) = result.closed
    assert (closed.cause, closed.closed, closed.proceeds) == (
        CloseCause.OUTSIDE,
        date(2024, 3, 12),
        D("800.00"),
    )
    assert closed.reason.startswith("delisted: no bar since 2024-03-05")
    assert result.equity[-1].market_value == 0
    assert result.equity[-1].cash == D("9800.00")


def test_a_split_inside_a_holding_changes_nothing_in_the_adjusted_bars() -> None:
    # A 2-for-1 split on Wednesday. Raw prices: Mon 100/102, Tue 102/104, then Wed 53/54, Thu
    # 54/55 after it; the stored bars (adjustment=all) halve the days before it. $1,000 buys 20
    # adjusted shares at 50, which are the 10 raw shares (20 after the split) a holder has:
    # Mon 20 x 51 = 10 x 102 = 1,020; Tue 1,040; Wed 20 x 54 = 1,080. The 10% stop never sees
    # the split as a fall; the 3-session holding limit sells at Thursday's open 54: 1,080.
    rows = bars(
        "AAPL",
        [
            (MARCH[0], "50", "51"),
            (MARCH[1], "51", "52"),
            (MARCH[2], "53", "54"),
            (MARCH[3], "54", "55"),
        ],
    )
    policy = ExitPolicy(max_hold_days=3, stop_loss_pct=D(10))
    result = replay([purchase()], rows, days=MARCH[:4], policy=policy)

    assert equity(result) == [D("10020.00"), D("10040.00"), D("10080.00"), D("10080.00")]
    (closed,) = result.closed
    assert (closed.cause, closed.quantity, closed.proceeds) == (
        CloseCause.HOLDING_LIMIT,
        D("20"),
        D("1080.00"),
    )


def test_a_filing_published_on_a_holiday_or_after_an_open_waits_for_the_next_open() -> None:
    # Sessions Jul 1, 2, 3 and 5 (Jul 4 is a holiday: no bars). One filing is uploaded Jul 3 at
    # 09:00 (before the open): bought Jul 3 at 10, 100 shares. One is uploaded Jul 3 at 10:00
    # (after the open) and one on Jul 4: both bought Jul 5 at 12, 1000 / 12 = 83.333333333 each.
    # Jul 3 closes at 11: 9,000 + 1,100. Jul 5 closes at 13: 7,000 + 1,300 + 2 x 1,083.333333329
    # = 7,000 + 3,466.666666658 -> 10,466.67.
    july = [date(2024, 7, day) for day in (1, 2, 3, 5)]
    filed = date(2024, 7, 2)

    def upload(name: str, traded: date, day: date, hour: int) -> dict[str, object]:
        return record(
            name, "ABC", "Purchase", traded=traded, filed=filed, uploaded=new_york(day, hour)
        )

    records = [
        upload("Ann Early", date(2024, 6, 3), date(2024, 7, 3), 9),
        upload("Bob Late", date(2024, 6, 4), date(2024, 7, 3), 10),
        upload("Cy Holiday", date(2024, 6, 5), date(2024, 7, 4), 12),
    ]
    rows = bars(
        "ABC",
        [
            (july[0], "10", "10"),
            (july[1], "10", "10"),
            (july[2], "10", "11"),
            (july[3], "12", "13"),
        ],
    )
    result = replay(records, rows, days=july)

    assert [(fill.day, fill.who.member, fill.quantity) for fill in result.fills] == [
        (july[2], "Ann Early", D("100")),
        (july[3], "Bob Late", D("83.333333333")),
        (july[3], "Cy Holiday", D("83.333333333")),
    ]
    assert equity(result) == [D("10000"), D("10000"), D("10100.00"), D("10466.67")]


def test_a_sale_closes_only_that_members_lots_and_not_those_bought_after_it() -> None:
    # Jane's sale, traded Feb 25, closes her lot bought Feb 20 (oldest first) but not her lot
    # bought Feb 28 (the sale came first); John's lot in the same ticker is never touched.
    sale = record(
        "Jane Doe",
        "AAPL",
        "Sale",
        traded=date(2024, 2, 25),
        filed=date(2024, 3, 5),
        uploaded=new_york(date(2024, 3, 5), 13),
    )
    later = purchase(traded=date(2024, 2, 28), filed=date(2024, 2, 29))
    other = purchase(name="John Roe")
    rows = flat("AAPL", MARCH[:4])
    result = replay([purchase(), later, other, sale], rows, days=MARCH[:4])

    (closed,) = result.closed
    assert (closed.who.member, closed.closed) == ("Jane Doe", MARCH[2])
    assert sorted(lot.who.member for lot in result.open_lots) == ["Jane Doe", "John Roe"]


@pytest.mark.parametrize(
    ("partial", "sold"), [(PartialSale.ALL, D(10)), (PartialSale.HALF, D(5)), (PartialSale.NONE, 0)]
)
def test_a_partial_sale_follows_the_policy(partial: PartialSale, sold: Decimal) -> None:
    sale = record(
        "Jane Doe",
        "AAPL",
        "Sale (Partial)",
        traded=date(2024, 3, 4),
        filed=date(2024, 3, 5),
        uploaded=new_york(date(2024, 3, 5), 13),
    )
    rows = flat("AAPL", MARCH[:4])
    result = replay([purchase(), sale], rows, days=MARCH[:4], policy=ExitPolicy(partial))

    assert sum((part.quantity for part in result.closed), D(0)) == sold
    assert equity(result)[-1] == D("10000.00")  # flat prices: selling changes nothing


def test_skips_name_their_rule_amendments_missing_bars_and_cash() -> None:
    # An amendment (same member, ticker, trade date and transaction, filed again) is not bought
    # twice; a symbol without a bar that day is not filled; $1,000 more than the cash is refused.
    amended = purchase(filed=date(2024, 3, 4), uploaded=new_york(date(2024, 3, 4), 15))
    no_bar = purchase(name="John Roe", ticker="NOBAR")
    rows = flat("AAPL", MARCH[:3])
    result = replay([purchase(), amended, no_bar], rows, days=MARCH[:3], capital="1500")

    assert [(skip.day, skip.symbol, skip.rule) for skip in result.skips] == [
        (MARCH[0], "NOBAR", "no_bar"),
        (MARCH[1], "AAPL", "amendment"),
    ]
    tight = replay([purchase(), purchase(name="John Roe")], rows, days=MARCH[:3], capital="1500")
    assert [skip.rule for skip in tight.skips] == ["cash"]
    assert "the cash $500.00" in tight.skips[0].reason
    assert len(tight.fills) == 1


def test_a_sale_of_nothing_held_is_counted_and_nothing_more() -> None:
    sale = record(
        "Jane Doe",
        "MSFT",
        "Sale",
        traded=date(2024, 3, 1),
        filed=date(2024, 3, 4),
        uploaded=new_york(date(2024, 3, 4), 13),
    )
    result = replay([sale], flat("MSFT", MARCH[:3]), days=MARCH[:3])

    assert result.sales_without_lot == 1
    assert result.fills == []
    assert equity(result) == [D("10000")] * 3
