"""Exit decisions on their own: plain values, no database, no broker."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trading_automation.domain.enums import CloseCause
from trading_automation.domain.exits import (
    ExitPolicy,
    OpenLot,
    PartialSale,
    SaleSignal,
    decide_exits,
    member_key,
    trading_days_held,
)

TODAY = date(2024, 6, 21)
PELOSI = member_key("Nancy Pelosi")
KHANNA = member_key(" Ro  KHANNA ")


def _lot(
    *,
    member: str = PELOSI,
    symbol: str = "AAPL",
    qty: str = "4.5",
    purchased: date = date(2024, 6, 14),
    filled: date = date(2024, 6, 20),
    price: str = "200",
    whole: bool = False,
) -> OpenLot:
    return OpenLot(
        id=uuid.uuid4(),
        key=uuid.uuid4().hex,
        symbol=symbol,
        member=member,
        purchased_on=purchased,
        filled_on=filled,
        open_qty=Decimal(qty),
        fill_price=Decimal(price),
        whole_shares=whole,
    )


def _sale(
    member: str = PELOSI,
    symbol: str = "AAPL",
    sold: date = date(2024, 6, 20),
    partial: bool = False,
) -> SaleSignal:
    return SaleSignal(
        key=uuid.uuid4().hex, member=member, symbol=symbol, sold_on=sold, partial=partial
    )


def test_member_names_compare_without_case_or_spacing() -> None:
    assert member_key("Ro Khanna") == KHANNA


def test_a_sale_closes_the_members_lots_in_that_ticker_and_no_one_elses() -> None:
    hers, his, other_ticker = _lot(), _lot(member=KHANNA), _lot(symbol="MSFT")

    plan = decide_exits([hers, his, other_ticker], [_sale()], ExitPolicy(), today=TODAY)

    assert [(d.lot_id, d.cause, d.quantity) for d in plan.decisions] == [
        (hers.id, CloseCause.MIRRORED_SALE, Decimal("4.5"))
    ]


def test_a_sale_dated_before_the_purchase_does_not_close_the_lot() -> None:
    lot = _lot(purchased=date(2024, 6, 13))

    plan = decide_exits([lot], [_sale(sold=date(2024, 6, 10))], ExitPolicy(), today=TODAY)

    assert plan.decisions == []


def test_a_sale_of_something_never_held_is_counted_and_nothing_more() -> None:
    sale = _sale(member=KHANNA, symbol="TSLA")

    plan = decide_exits([_lot()], [sale], ExitPolicy(), today=TODAY)

    assert plan.decisions == []
    assert plan.sales_without_lot == [sale]


def test_a_partial_sale_closes_all_half_or_none_as_configured() -> None:
    old = _lot(qty="9", purchased=date(2024, 6, 1), whole=True)
    new = _lot(qty="3", purchased=date(2024, 6, 5), whole=True)
    sale = _sale(partial=True)

    def sold(partial: PartialSale) -> list[tuple[uuid.UUID, Decimal]]:
        plan = decide_exits([new, old], [sale], ExitPolicy(partial_sale=partial), today=TODAY)
        return [(d.lot_id, d.quantity) for d in plan.decisions]

    assert sorted(sold(PartialSale.ALL)) == sorted([(old.id, Decimal(9)), (new.id, Decimal(3))])
    # Half of 12 shares, oldest lot first, in whole shares: all 6 from the older lot.
    assert sold(PartialSale.HALF) == [(old.id, Decimal(6))]
    assert sold(PartialSale.NONE) == []


def test_half_of_a_fractional_lot_keeps_nine_places() -> None:
    lot = _lot(qty="5.123456789")

    [decision] = decide_exits(
        [lot], [_sale(partial=True)], ExitPolicy(partial_sale=PartialSale.HALF), today=TODAY
    ).decisions

    assert decision.quantity == Decimal("2.561728394")


def test_a_sale_already_carried_out_on_a_lot_is_not_applied_again() -> None:
    lot = _lot()
    sale = _sale(partial=True)

    plan = decide_exits(
        [lot],
        [sale],
        ExitPolicy(partial_sale=PartialSale.HALF),
        today=TODAY,
        applied={lot.id: frozenset({sale.key})},
    )

    assert plan.decisions == []


def test_stops_close_the_whole_lot_at_the_thresholds() -> None:
    lot = _lot(price="200")
    policy = ExitPolicy(stop_loss_pct=Decimal(10), take_profit_pct=Decimal(25))

    def cause(price: str) -> CloseCause | None:
        plan = decide_exits([lot], [], policy, today=TODAY, prices={"AAPL": Decimal(price)})
        return plan.decisions[0].cause if plan.decisions else None

    assert cause("180") is CloseCause.STOP_LOSS
    assert cause("180.01") is None
    assert cause("249.99") is None
    assert cause("250") is CloseCause.TAKE_PROFIT


def test_the_holding_limit_counts_trading_days_after_the_fill() -> None:
    days = [date(2024, 6, 20) + timedelta(days=n) for n in range(10)]
    sessions = [day for day in days if day.weekday() < 5]
    lot = _lot(filled=date(2024, 6, 20))
    policy = ExitPolicy(max_hold_days=3)

    assert trading_days_held(date(2024, 6, 20), date(2024, 6, 25), sessions) == 3
    assert (
        decide_exits([lot], [], policy, today=date(2024, 6, 24), trading_days=sessions).decisions
        == []
    )
    [decision] = decide_exits(
        [lot], [], policy, today=date(2024, 6, 25), trading_days=sessions
    ).decisions
    assert decision.cause is CloseCause.HOLDING_LIMIT


def test_a_whole_lot_cause_wins_over_a_partial_sale() -> None:
    lot = _lot(qty="10", price="200")

    [decision] = decide_exits(
        [lot],
        [_sale(partial=True)],
        ExitPolicy(partial_sale=PartialSale.HALF, stop_loss_pct=Decimal(5)),
        today=TODAY,
        prices={"AAPL": Decimal(150)},
    ).decisions

    assert (decision.cause, decision.quantity) == (CloseCause.STOP_LOSS, Decimal(10))


quantities = st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(1000), places=9)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([PELOSI, KHANNA]),
            st.sampled_from(["AAPL", "MSFT"]),
            quantities,
            st.booleans(),
        ),
        max_size=8,
    ),
    st.lists(
        st.tuples(
            st.sampled_from([PELOSI, KHANNA]),
            st.sampled_from(["AAPL", "MSFT", "TSLA"]),
            st.booleans(),
        ),
        max_size=5,
    ),
    st.sampled_from(list(PartialSale)),
)
def test_no_exit_sells_more_than_a_lot_holds_or_another_members_lot(
    lots_spec: list[tuple[str, str, Decimal, bool]],
    sales_spec: list[tuple[str, str, bool]],
    partial: PartialSale,
) -> None:
    # A lot bought in whole shares holds whole shares.
    lots = [
        _lot(member=member, symbol=symbol, qty=str(qty // 1 + 1 if whole else qty), whole=whole)
        for member, symbol, qty, whole in lots_spec
    ]
    sales = [_sale(member=member, symbol=symbol, partial=p) for member, symbol, p in sales_spec]

    plan = decide_exits(lots, sales, ExitPolicy(partial_sale=partial), today=TODAY)

    by_id = {lot.id: lot for lot in lots}
    sellers = {(sale.member, sale.symbol) for sale in sales}
    assert len({d.lot_id for d in plan.decisions}) == len(plan.decisions)
    for decision in plan.decisions:
        lot = by_id[decision.lot_id]
        assert Decimal(0) < decision.quantity <= lot.open_qty
        assert (lot.member, lot.symbol) in sellers
        if lot.whole_shares:
            assert decision.quantity == decision.quantity.to_integral_value()
