"""Exits in the open-job against the sandbox, on SQLite and PostgreSQL: a day of buys (the
fixture day 2024-06-20), then a day of members' sales, stops, holding limits and sales by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import quiver_record
from tests.worker_support import QUICK, run_job, trades
from trading_automation.db import CloseCause, Database, LotClose, OrderSide, Trade, TradeStatus
from trading_automation.sandbox import OrderScript, Sandbox

DAY_ONE = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
DAY_TWO = date(2024, 6, 21)
DAY_TWO_OPEN = datetime(2024, 6, 21, 13, 30, tzinfo=UTC)


def _sale(member: str, ticker: str, traded: str, kind: str = "Sale (Full)") -> dict[str, Any]:
    return quiver_record(
        Ticker=ticker, Name=member, Transaction=kind, Traded=traded, Filed="2024-06-21"
    )


SALES = [
    _sale("Nancy Pelosi", "AAPL", "2024-06-20"),  # bought AAPL (traded 2024-06-14)
    _sale("Zoë Lofgren", "AMZN", "2024-06-18", "Sale (Partial)"),  # bought AMZN (2024-06-03)
    _sale("Ro Khanna", "TSLA", "2024-06-19", "Sale"),  # never bought TSLA
    _sale("Rick Scott", "UNH", "2024-06-10", "Sale"),  # bought UNH traded 2024-06-13: later
]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=DAY_ONE, script=OrderScript(fill_after_polls=1)) as running:
        yield running


def _two_days(
    database: Database,
    sandbox: Sandbox,
    day_two: list[dict[str, Any]] | None = None,
    **settings: Any,
) -> Any:
    first = run_job(database, sandbox, **settings)
    assert first.exit_code == 0, first.lines
    sandbox.quiver.set_day(DAY_TWO, SALES if day_two is None else day_two)
    sandbox.broker.set_now(DAY_TWO_OPEN)
    return run_job(database, sandbox, **settings)


def _sells(database: Database) -> list[Trade]:
    return [trade for trade in trades(database) if trade.side is OrderSide.SELL]


def _lot_of(database: Database, symbol: str, member: str) -> Trade:
    with database.transaction(readonly=True) as uow:
        lots = [
            row.trade
            for row in uow.lots.open_lots(limit=1000)
            if row.trade.symbol == symbol and row.member_name == member
        ]
        closed = uow.session.scalars(
            select(Trade).where(Trade.symbol == symbol, Trade.side == OrderSide.BUY)
        ).all()
    return lots[0] if lots else next(t for t in closed if t.closed_qty > 0)


def _broker_qty(sandbox: Sandbox, symbol: str) -> Decimal:
    for position in sandbox.broker.positions():
        if position["symbol"] == symbol:
            return Decimal(position["qty"])
    return Decimal(0)


def _ledger_qty(database: Database, symbol: str) -> Decimal:
    with database.transaction(readonly=True) as uow:
        return sum(
            (row.trade.open_qty for row in uow.lots.open_lots(symbols=[symbol], limit=1000)),
            Decimal(0),
        )


def test_a_members_sale_closes_that_members_lots_and_no_one_elses(
    database: Database, sandbox: Sandbox
) -> None:
    result = _two_days(database, sandbox)

    sells = _sells(database)
    assert result.exit_code == 0, result.lines
    assert {(s.symbol, s.exit_cause, s.status) for s in sells} == {
        ("AAPL", CloseCause.MIRRORED_SALE, TradeStatus.FILLED),
        ("AMZN", CloseCause.MIRRORED_SALE, TradeStatus.FILLED),
    }
    pelosi = _lot_of(database, "AAPL", "Nancy Pelosi")
    lofgren = _lot_of(database, "AMZN", "Zoë Lofgren")
    assert pelosi.open_qty == 0
    assert lofgren.open_qty == 0
    # The other two members who bought AMZN keep their lots; Rick Scott's sale predates his buy.
    assert _ledger_qty(database, "AMZN") == _broker_qty(sandbox, "AMZN") > 0
    assert _ledger_qty(database, "UNH") > 0
    assert _ledger_qty(database, "AAPL") == _broker_qty(sandbox, "AAPL") == 0
    summary = result.summary
    assert summary is not None
    assert summary.exits.decided == {"MIRRORED_SALE": 2}
    assert (summary.exits.sent, summary.exits.filled) == (2, 2)
    # Ro Khanna's TSLA, and (in the window since 2024-06-20) Debbie Wasserman Schultz's AMD.
    assert summary.exits.sales_without_lot == 2


def test_a_closed_lot_records_quantity_price_and_exact_realized_pnl(
    database: Database, sandbox: Sandbox
) -> None:
    first = run_job(database, sandbox)
    assert first.exit_code == 0
    sandbox.quiver.set_day(DAY_TWO, SALES[:1])
    sandbox.broker.set_now(DAY_TWO_OPEN)
    sandbox.broker.set_prices({"AAPL": "221.17"})

    run_job(database, sandbox)

    lot = _lot_of(database, "AAPL", "Nancy Pelosi")
    with database.transaction(readonly=True) as uow:
        [close] = uow.session.scalars(select(LotClose)).all()
    [sell] = _sells(database)
    assert (close.lot_trade_id, close.sell_trade_id) == (lot.id, sell.id)
    assert close.quantity == lot.filled_qty == sell.filled_qty
    assert close.price == Decimal("221.17")
    assert lot.filled_avg_price is not None
    realized = close.quantity * (close.price - lot.filled_avg_price)
    assert realized > 0
    assert realized == sell.filled_qty * Decimal("221.17") - lot.filled_qty * lot.filled_avg_price


def test_a_partial_sale_closes_half_when_configured(database: Database, sandbox: Sandbox) -> None:
    _two_days(database, sandbox, SALES[1:2], exit_on_partial_sale="half")

    lofgren = _lot_of(database, "AMZN", "Zoë Lofgren")
    [sell] = _sells(database)
    assert lofgren.filled_qty is not None
    assert sell.qty_submitted == (lofgren.filled_qty / 2).quantize(
        Decimal("0.000000001"), "ROUND_DOWN"
    )
    assert lofgren.open_qty == lofgren.filled_qty - sell.qty_submitted


def test_a_partial_sale_closes_nothing_when_configured(
    database: Database, sandbox: Sandbox
) -> None:
    result = _two_days(database, sandbox, SALES[1:2], exit_on_partial_sale="none")

    assert _sells(database) == []
    assert result.summary is not None
    assert result.summary.exits.decided == {}


def test_stops_close_lots_at_the_open_price(database: Database, sandbox: Sandbox) -> None:
    first = run_job(database, sandbox, stop_loss_pct=Decimal(10), take_profit_pct=Decimal(20))
    assert first.exit_code == 0
    sandbox.quiver.set_day(DAY_TWO, [])
    sandbox.broker.set_now(DAY_TWO_OPEN)
    nvda = _lot_of(database, "NVDA", "Debbie Wasserman Schultz").filled_avg_price
    msft = _lot_of(database, "MSFT", "Ro Khanna").filled_avg_price
    assert nvda is not None
    assert msft is not None
    sandbox.broker.set_prices(
        {"NVDA": str(nvda * Decimal("0.9")), "MSFT": str(msft * Decimal("1.2"))}
    )

    run_job(database, sandbox, stop_loss_pct=Decimal(10), take_profit_pct=Decimal(20))

    causes = {s.symbol: s.exit_cause for s in _sells(database)}
    assert causes == {"NVDA": CloseCause.STOP_LOSS, "MSFT": CloseCause.TAKE_PROFIT}


def test_the_holding_limit_closes_every_lot_held_that_long(
    database: Database, sandbox: Sandbox
) -> None:
    result = _two_days(database, sandbox, [], max_hold_days=1)

    sells = _sells(database)
    assert len(sells) == 11
    assert {s.exit_cause for s in sells} == {CloseCause.HOLDING_LIMIT}
    assert result.summary is not None
    assert result.summary.exits.decided == {"HOLDING_LIMIT": 11}
    assert sandbox.broker.positions() == []


def test_shares_sold_by_hand_are_recorded_as_closed_outside_and_never_sold_again(
    database: Database, sandbox: Sandbox
) -> None:
    first = run_job(database, sandbox)
    assert first.exit_code == 0
    held = _broker_qty(sandbox, "AAPL")
    sandbox.broker.adjust_position("AAPL", -held / 2)  # the user sells half by hand
    sandbox.quiver.set_day(DAY_TWO, SALES[:1])
    sandbox.broker.set_now(DAY_TWO_OPEN)

    result = run_job(database, sandbox)

    with database.transaction(readonly=True) as uow:
        closes = uow.session.scalars(select(LotClose).order_by(LotClose.closed_at)).all()
    [sell] = _sells(database)
    assert result.exit_code == 0, result.lines
    assert [c.cause for c in closes] == [CloseCause.OUTSIDE, CloseCause.MIRRORED_SALE]
    assert closes[0].quantity == held - held / 2
    assert "sold outside the system" in (closes[0].reason or "")
    assert sell.filled_qty == held / 2
    assert _broker_qty(sandbox, "AAPL") == _ledger_qty(database, "AAPL") == 0


def test_with_trading_disabled_exits_are_recorded_and_not_sent(
    database: Database, sandbox: Sandbox
) -> None:
    first = run_job(database, sandbox)
    assert first.exit_code == 0
    sandbox.quiver.set_day(DAY_TWO, SALES[:1])
    sandbox.broker.set_now(DAY_TWO_OPEN)

    run_job(database, sandbox, trading_enabled=False)

    [sell] = _sells(database)
    assert sell.status is TradeStatus.SKIPPED
    assert "TRADING_ENABLED is false" in (sell.status_reason or "")
    assert sandbox.broker.orders_for(sell.client_order_id) == 0
    assert _broker_qty(sandbox, "AAPL") > 0


def test_a_dry_run_says_what_it_would_sell_and_writes_nothing(
    database: Database, sandbox: Sandbox
) -> None:
    first = run_job(database, sandbox)
    assert first.exit_code == 0
    sandbox.quiver.set_day(DAY_TWO, SALES)
    sandbox.broker.set_now(DAY_TWO_OPEN)

    preview = run_job(database, sandbox, replace(QUICK, dry_run=True))

    would_sell = [line for line in preview.lines if "would sell" in line]
    assert len(would_sell) == 2
    assert any("AAPL" in line and "Nancy Pelosi" in line for line in would_sell)
    assert _sells(database) == []


def test_a_forced_rerun_of_the_day_never_sells_a_lot_twice(
    database: Database, sandbox: Sandbox
) -> None:
    _two_days(database, sandbox)
    before = sandbox.broker.accepted_count

    again = run_job(database, sandbox, replace(QUICK, force=True))

    assert again.exit_code == 0, again.lines
    assert sandbox.broker.accepted_count == before
    assert len(_sells(database)) == 2
    for symbol in ("AAPL", "AMZN", "NVDA", "KKR"):
        assert _ledger_qty(database, symbol) == _broker_qty(sandbox, symbol)


def test_reconcile_brings_a_sell_left_open_up_to_date_and_closes_its_lot(
    database: Database, sandbox: Sandbox
) -> None:
    from trading_automation.worker.reconcile import Reconciler, ReconcileReport

    first = run_job(database, sandbox)
    assert first.exit_code == 0
    sandbox.quiver.set_day(DAY_TWO, SALES[:1])
    sandbox.broker.set_now(DAY_TWO_OPEN)
    # The run's one polling round sees the sell accepted; the next poll fills it.
    sandbox.broker.set_script(OrderScript(fill_after_polls=2))
    run_job(database, sandbox, replace(QUICK, poll_budget_s=0))
    [sell] = _sells(database)
    assert sell.status is TradeStatus.ACCEPTED

    with sandbox.alpaca_client() as alpaca:
        still_open = Reconciler(database, alpaca, now=lambda: DAY_TWO_OPEN).round(ReconcileReport())

    [sell] = _sells(database)
    assert still_open == 0
    assert sell.status is TradeStatus.FILLED
    assert _lot_of(database, "AAPL", "Nancy Pelosi").open_qty == 0
    assert _broker_qty(sandbox, "AAPL") == _ledger_qty(database, "AAPL") == 0


def test_a_whole_sale_whose_sell_ended_short_closes_the_rest_the_next_day(
    database: Database, sandbox: Sandbox
) -> None:
    first = run_job(database, sandbox)
    assert first.exit_code == 0
    sandbox.quiver.set_day(DAY_TWO, SALES[:1])
    sandbox.broker.set_now(DAY_TWO_OPEN)
    # The day's sell fills half, then expires with the day.
    sandbox.broker.set_script(
        OrderScript(partial_fill_after_polls=1, fill_after_polls=2, final_status="expired")
    )
    run_job(database, sandbox)
    lot = _lot_of(database, "AAPL", "Nancy Pelosi")
    assert Decimal(0) < lot.open_qty < (lot.filled_qty or 0)
    sandbox.broker.set_script(OrderScript(fill_after_polls=1))
    sandbox.quiver.set_day(date(2024, 6, 24), [])
    sandbox.broker.set_now(datetime(2024, 6, 24, 13, 30, tzinfo=UTC))

    run_job(database, sandbox)

    sells = _sells(database)
    assert [s.status for s in sells] == [TradeStatus.EXPIRED, TradeStatus.FILLED]
    assert _lot_of(database, "AAPL", "Nancy Pelosi").open_qty == 0
    assert _broker_qty(sandbox, "AAPL") == _ledger_qty(database, "AAPL") == 0
