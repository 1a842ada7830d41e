"""The backtest's P&L per member, party, chamber and exit cause: exact sums, distinct lots."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.backtest_result_support import ALICE, BOB, CAROL, make_result, part, position
from trading_automation.backtest.attribution import TABLES, attribution
from trading_automation.backtest.result import BacktestResult
from trading_automation.domain.enums import CloseCause


def _result() -> BacktestResult:
    return make_result(
        [100],
        closed=[
            # Alice (DEMOCRAT, House): lot 1 closed in two parts, lot 2 partly closed
            part(1, "12.50", who=ALICE, cause=CloseCause.MIRRORED_SALE),
            part(1, "-2.25", who=ALICE, cause=CloseCause.STOP_LOSS),
            part(2, "3.10", who=ALICE, cause=CloseCause.MIRRORED_SALE),
            # Bob (REPUBLICAN, Senate): a loss at the holding limit
            part(3, "-7.00", who=BOB, cause=CloseCause.HOLDING_LIMIT),
            # Carol (DEMOCRAT, Senate)
            part(4, "1.00", who=CAROL, cause=CloseCause.TAKE_PROFIT),
        ],
        open_lots=[
            position(2, "-1.35", who=ALICE),
            position(5, "4.00", who=BOB),
        ],
    )


def test_each_table_sums_realized_and_unrealized_per_name() -> None:
    tables = attribution(_result())

    assert list(tables) == list(TABLES)
    assert tables["member"] == [
        # 12.50 - 2.25 + 3.10 = 13.35 realized; -1.35 open; lots 1 and 2
        {
            "name": "Alice Adams",
            "realized": "13.35",
            "unrealized": "-1.35",
            "pnl": "12.00",
            "lots": 2,
        },
        {"name": "Carol Clark", "realized": "1.00", "unrealized": "0.00", "pnl": "1.00", "lots": 1},
        # -7.00 realized, +4.00 open
        {"name": "Bob Brown", "realized": "-7.00", "unrealized": "4.00", "pnl": "-3.00", "lots": 2},
    ]
    assert tables["party"] == [
        {"name": "DEMOCRAT", "realized": "14.35", "unrealized": "-1.35", "pnl": "13.00", "lots": 3},
        {
            "name": "REPUBLICAN",
            "realized": "-7.00",
            "unrealized": "4.00",
            "pnl": "-3.00",
            "lots": 2,
        },
    ]
    assert tables["chamber"] == [
        {"name": "House", "realized": "13.35", "unrealized": "-1.35", "pnl": "12.00", "lots": 2},
        {"name": "Senate", "realized": "-6.00", "unrealized": "4.00", "pnl": "-2.00", "lots": 3},
    ]


def test_exit_causes_carry_realized_pnl_and_one_row_the_open_lots() -> None:
    tables = attribution(_result())

    assert tables["exit_cause"] == [
        # lots 1 and 2 both had a part mirrored: 12.50 + 3.10
        {
            "name": "MIRRORED_SALE",
            "realized": "15.60",
            "unrealized": "0.00",
            "pnl": "15.60",
            "lots": 2,
        },
        {"name": "open", "realized": "0.00", "unrealized": "2.65", "pnl": "2.65", "lots": 2},
        {"name": "TAKE_PROFIT", "realized": "1.00", "unrealized": "0.00", "pnl": "1.00", "lots": 1},
        # lot 1 counts here too: its other part was stopped out
        {"name": "STOP_LOSS", "realized": "-2.25", "unrealized": "0.00", "pnl": "-2.25", "lots": 1},
        {
            "name": "HOLDING_LIMIT",
            "realized": "-7.00",
            "unrealized": "0.00",
            "pnl": "-7.00",
            "lots": 1,
        },
    ]


def test_every_table_adds_up_to_the_runs_total_exactly() -> None:
    result = _result()
    total = sum((p.pnl for p in result.closed), Decimal(0)) + sum(
        (p.pnl for p in result.open_lots), Decimal(0)
    )

    tables = attribution(result)

    assert total == Decimal("10.00")
    for name in TABLES:
        assert sum(Decimal(str(row["pnl"])) for row in tables[name]) == total, name


def test_equal_pnl_is_ordered_by_name_and_sub_cent_parts_are_summed_before_rounding() -> None:
    result = make_result(
        [100],
        closed=[part(1, "0.004", who=BOB), part(2, "0.004", who=BOB), part(3, "0.008", who=ALICE)],
    )

    rows = attribution(result)["member"]

    # 0.004 + 0.004 = 0.008 → 0.01, not 0.00 + 0.00
    assert [(row["name"], row["pnl"]) for row in rows] == [
        ("Alice Adams", "0.01"),
        ("Bob Brown", "0.01"),
    ]


def test_a_run_without_lots_has_empty_tables() -> None:
    assert attribution(make_result([100])) == {name: [] for name in TABLES}


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=6),
            st.sampled_from(list(CloseCause)),
            st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
        ),
        max_size=20,
    ),
    st.lists(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False), max_size=4),
)
def test_in_cents_every_table_sums_to_the_total(
    parts: list[tuple[int, CloseCause, Decimal]], held: list[Decimal]
) -> None:
    # one member per lot, as a lot mirrors one filing
    who_of = {1: ALICE, 2: BOB, 3: CAROL, 4: ALICE, 5: BOB, 6: CAROL}
    result = make_result(
        [100],
        closed=[part(lot, pnl, who=who_of[lot], cause=cause) for lot, cause, pnl in parts],
        open_lots=[position(10 + index, pnl, who=BOB) for index, pnl in enumerate(held)],
    )
    total = sum((pnl for *_rest, pnl in parts), Decimal(0)) + sum(held, Decimal(0))

    tables = attribution(result)

    for name in TABLES:
        assert sum((Decimal(str(row["pnl"])) for row in tables[name]), Decimal(0)) == total
        pnls = [Decimal(str(row["pnl"])) for row in tables[name]]
        assert pnls == sorted(pnls, reverse=True)
