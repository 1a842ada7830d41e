"""The lot ledger on both backends: sells' fills close their lot, closes never exceed a lot, and
concurrent writers cannot break that."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.factories import at, order_payload, source_hash
from trading_automation.db import (
    CheckConstraintViolationError,
    CloseCause,
    Database,
    LotClose,
    Trade,
    TradeStatus,
)
from trading_automation.db.repositories.lots import exit_key

T0 = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
DAY = date(2024, 6, 21)


def _lot(database: Database, qty: str = "10", price: str = "100", symbol: str = "AAPL") -> Trade:
    with database.transaction() as uow:
        trade = uow.trades.record_intent(
            source_hash=source_hash(f"lot {symbol} {qty} {price} {T0}"), symbol=symbol, now=T0
        ).trade
        uow.trades.apply_order(
            trade,
            order_payload(
                trade.client_order_id,
                id=f"buy-{trade.id}",
                symbol=symbol,
                status="filled",
                filled_qty=qty,
                filled_avg_price=price,
                updated_at=at(1),
                filled_at=at(1),
            ),
            now=T0,
        )
    return trade


def _sell(
    database: Database, lot: Trade, qty: str, cause: CloseCause = CloseCause.STOP_LOSS
) -> Trade:
    with database.transaction() as uow:
        return uow.lots.record_exit(
            lot, cause=cause, ref="", trading_date=DAY, quantity=Decimal(qty), now=T0
        ).trade


def _fill(
    database: Database,
    sell: Trade,
    filled: str,
    price: str,
    *,
    minute: int,
    status: str = "partially_filled",
) -> None:
    with database.transaction() as uow:
        current = uow.trades.get(sell.id)
        assert current is not None
        uow.trades.apply_orders(
            [
                (
                    current,
                    order_payload(
                        sell.client_order_id,
                        id=f"sell-{sell.id}",
                        side="sell",
                        notional=None,
                        qty=str(sell.qty_submitted),
                        status=status,
                        filled_qty=filled,
                        filled_avg_price=price,
                        updated_at=at(minute),
                        filled_at=at(minute) if status == "filled" else None,
                    ),
                )
            ],
            now=T0 + timedelta(minutes=minute),
        )


def _state(
    database: Database, lot: Trade
) -> tuple[Decimal, list[tuple[Decimal, Decimal | None, CloseCause]]]:
    with database.transaction(readonly=True) as uow:
        row = uow.trades.get(lot.id)
        assert row is not None
        closes = [(c.quantity, c.price, c.cause) for c in uow.lots.closes([lot.id])]
    return row.closed_qty, closes


def test_a_sells_fills_close_its_lot_as_they_come(database: Database) -> None:
    lot = _lot(database)
    sell = _sell(database, lot, "10")

    _fill(database, sell, "4", "110", minute=2)
    partly = _state(database, lot)
    _fill(database, sell, "10", "111", minute=3, status="filled")
    _fill(database, sell, "10", "111", minute=3, status="filled")  # the same answer again

    assert partly == (Decimal(4), [(Decimal(4), Decimal(110), CloseCause.STOP_LOSS)])
    assert _state(database, lot) == (
        Decimal(10),
        [(Decimal(10), Decimal(111), CloseCause.STOP_LOSS)],
    )
    with database.transaction(readonly=True) as uow:
        assert uow.lots.open_lots() == []


def test_an_exit_is_recorded_once_per_lot_cause_reference_and_day(database: Database) -> None:
    lot = _lot(database)

    first = _sell(database, lot, "10")
    again = _sell(database, lot, "10")

    assert first.id == again.id
    assert first.side.value == "SELL"
    assert (first.lot_trade_id, first.exit_cause) == (lot.id, CloseCause.STOP_LOSS)
    assert first.source_hash == exit_key(lot.source_hash, CloseCause.STOP_LOSS, "", DAY)
    assert first.client_order_id == f"ta-{first.source_hash}"


def test_the_exit_key_is_pinned_to_its_format() -> None:
    # printf "exit|%s|STOP_LOSS||2024-06-21" "$(printf "a%.0s" $(seq 64))" | sha256sum
    assert exit_key("a" * 64, CloseCause.STOP_LOSS, "", DAY) == (
        "77f8def544ef9499ad2558a041ac689bd0f7cf83f1baef6b5fc02d2f6fa6e84c"
    )


def test_a_close_outside_the_system_never_takes_more_than_is_open(database: Database) -> None:
    lot = _lot(database, qty="10")

    with database.transaction() as uow:
        taken = uow.lots.close_outside(lot, Decimal(6), "sold by hand", T0)
    with database.transaction() as uow:
        refused = uow.lots.close_outside(lot, Decimal(5), "sold by hand again", T0)

    assert (taken, refused) == (True, False)
    assert _state(database, lot) == (Decimal(6), [(Decimal(6), None, CloseCause.OUTSIDE)])


def test_the_database_refuses_a_close_beyond_the_filled_quantity(database: Database) -> None:
    lot = _lot(database, qty="10")

    with pytest.raises(CheckConstraintViolationError) as raised, database.transaction() as uow:
        uow.session.execute(
            update(Trade).where(Trade.id == lot.id).values(closed_qty=Decimal("10.000000001"))
        )

    assert raised.value.constraint == "ck_trade_closed_qty_within_filled_qty"


def test_exits_never_use_up_a_buy_cap(database: Database) -> None:
    lot = _lot(database)
    _sell(database, lot, "10")

    with database.transaction(readonly=True) as uow:
        buys = uow.trades.count_created(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        per_symbol = uow.trades.count_created_by_symbol(
            T0 - timedelta(hours=1), T0 + timedelta(hours=1)
        )

    assert buys == 1
    assert per_symbol == {"AAPL": 1}


def test_concurrent_closes_of_one_lot_never_exceed_it(database: Database) -> None:
    lot = _lot(database, qty="10")
    barrier = threading.Barrier(4)
    outcomes: list[Any] = []

    def close() -> None:
        barrier.wait()
        try:
            with database.transaction() as uow:
                outcomes.append(uow.lots.close_outside(lot, Decimal(4), "by hand", T0))
        except Exception as error:  # a lock timeout counts as not closed
            outcomes.append(error)

    threads = [threading.Thread(target=close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    closed, closes = _state(database, lot)
    assert sum(1 for outcome in outcomes if outcome is True) == 2
    assert closed == Decimal(8) == sum(quantity for quantity, _, _ in closes)
    with database.transaction(readonly=True) as uow:
        rows = uow.session.scalars(select(LotClose)).all()
    assert len(rows) == 2


def test_a_sell_that_ended_unfilled_closes_nothing(database: Database) -> None:
    lot = _lot(database)
    sell = _sell(database, lot, "10")

    _fill(database, sell, "0", "0", minute=2, status="expired")

    with database.transaction(readonly=True) as uow:
        stored = uow.trades.get(sell.id)
    assert stored is not None
    assert stored.status is TradeStatus.EXPIRED
    assert _state(database, lot) == (Decimal(0), [])


def test_the_database_keeps_closed_qty_equal_to_the_sum_of_the_closes(database: Database) -> None:
    lot = _lot(database, qty="10")
    with database.transaction() as uow:
        uow.session.add(
            LotClose(
                lot_trade_id=lot.id,
                cause=CloseCause.OUTSIDE,
                quantity=Decimal(3),
                closed_at=T0,
                created_at=T0,
            )
        )
    inserted = _state(database, lot)[0]
    with database.transaction() as uow:
        close = uow.session.scalars(select(LotClose)).one()
        close.quantity = Decimal(7)
    updated = _state(database, lot)[0]
    with database.transaction() as uow:
        uow.session.delete(uow.session.scalars(select(LotClose)).one())
    deleted = _state(database, lot)[0]

    assert (inserted, updated, deleted) == (Decimal(3), Decimal(7), Decimal(0))


def test_a_close_written_past_the_application_is_refused_beyond_the_lot(
    database: Database,
) -> None:
    lot = _lot(database, qty="10")

    with pytest.raises(CheckConstraintViolationError) as raised, database.transaction() as uow:
        uow.session.add(
            LotClose(
                lot_trade_id=lot.id,
                cause=CloseCause.OUTSIDE,
                quantity=Decimal("10.5"),
                closed_at=T0,
                created_at=T0,
            )
        )
        uow.flush()

    assert raised.value.constraint == "ck_trade_closed_qty_within_filled_qty"
    assert _state(database, lot) == (Decimal(0), [])
