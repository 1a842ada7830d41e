"""The dashboard's aggregates on both backends: exact sums, New York days, bounded reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, localcontext
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from tests.factories import order_payload, source_hash
from trading_automation.db import CongressTradeFeed, Database, FeedTransaction, Party, Trade
from trading_automation.db.database import UnitOfWork
from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.money import cents
from trading_automation.web import read_models
from trading_automation.web.ledger_pnl import ledger_pnl
from trading_automation.web.read_models import LotGroup

NOON = datetime(2024, 6, 20, 16, 0, tzinfo=UTC)


def _filing(uow: UnitOfWork, member: str, party: Party | None, ticker: str) -> uuid.UUID:
    record = CongressTradeFeed(
        id=uuid.uuid4(),
        row_hash=source_hash(),
        source_hash=source_hash(),
        ticker=ticker,
        member_name=member,
        transaction=FeedTransaction.BUY,
        filing_date=date(2024, 6, 18),
        party=party,
        raw_json={"Representative": member, "Ticker": ticker},
    )
    uow.session.add(record)
    uow.session.flush()
    return record.id


def _trade(
    uow: UnitOfWork,
    symbol: str,
    *,
    member: str | None = None,
    party: Party | None = None,
    qty: str | None = None,
    price: str | None = None,
    notional: str = "1000",
    now: datetime = NOON,
) -> Trade:
    """A trade (with its filing when `member` is given), filled at `price` when `qty` is given."""
    filing = _filing(uow, member, party, symbol) if member else None
    trade = uow.trades.record_intent(
        source_hash=source_hash(), symbol=symbol, congress_trade_feed_id=filing, now=now
    ).trade
    if qty is not None:
        payload = order_payload(
            trade.client_order_id,
            id=str(uuid.uuid4()),
            symbol=symbol,
            status="filled",
            notional=notional,
            filled_qty=qty,
            filled_avg_price=price,
        )
        uow.trades.apply_order(trade, payload)
    return trade


@contextmanager
def rows_read(database: Database) -> Iterator[list[int]]:
    """Record how many rows each statement run through a session returned."""
    counts: list[int] = []

    def count(state: ORMExecuteState) -> Any:
        frozen = state.invoke_statement().freeze()
        counts.append(len(frozen().all()))
        return frozen()

    event.listen(Session, "do_orm_execute", count)
    try:
        yield counts
    finally:
        event.remove(Session, "do_orm_execute", count)


# -- totals ----------------------------------------------------------------------------------


def test_totals_count_statuses_and_sum_money_exactly(database: Database) -> None:
    with database.transaction() as uow:
        _trade(uow, "AAPL", qty="4.180203894", price="239.225")
        partial = _trade(uow, "MSFT", notional="500.50")
        uow.trades.apply_order(
            partial,
            order_payload(
                partial.client_order_id,
                id="o-2",
                status="partially_filled",
                notional="500.50",
                filled_qty="0.333333333",
                filled_avg_price="100.000000001",
            ),
        )
        skipped = _trade(uow, "NVDA")
        uow.trades.mark_skipped(skipped, "cap")
        _trade(uow, "TSLA")

        no_price = _trade(uow, "AMZN")
        uow.trades.apply_order(
            no_price,
            order_payload(
                no_price.client_order_id,
                id="o-3",
                status="partially_filled",
                filled_qty="1",
                filled_avg_price=None,
            ),
        )

    with database.transaction(readonly=True) as uow:
        totals = read_models.trade_totals(uow)
    with database.transaction(readonly=True) as uow:
        overview = read_models.aggregates(uow).activity.totals

    assert overview == totals  # the overview sums its fill groups: the same figures
    exact_value = Decimal("4.180203894") * Decimal("239.225") + Decimal("0.333333333") * Decimal(
        "100.000000001"
    )
    assert totals.by_status[TradeStatus.FILLED] == 1
    assert totals.by_status[TradeStatus.PARTIALLY_FILLED] == 2
    assert totals.by_status[TradeStatus.SKIPPED] == 1
    assert totals.by_status[TradeStatus.NEW] == 1
    assert totals.by_status[TradeStatus.REJECTED] == 0
    assert totals.notional_submitted == Decimal("2500.50")
    assert totals.filled_qty == Decimal("4.513537227")  # a fill without a price is not counted
    assert totals.filled_value == cents(exact_value)


def test_filled_value_rounds_half_up_like_the_pnl_cost(database: Database) -> None:
    # 1 share at 0.125: half-even would say 0.12, half-up (what the P&L shows) 0.13.
    with database.transaction() as uow:
        _trade(uow, "AAPL", member="Jane Doe", party=Party.DEMOCRAT, qty="1", price="0.125")

    with database.transaction(readonly=True) as uow:
        totals = read_models.trade_totals(uow)
        groups = read_models.lot_groups(uow)
    pnl = ledger_pnl(groups, {"AAPL": Decimal("0.5")})

    assert totals.filled_value == Decimal("0.13")
    assert pnl.total is not None
    assert pnl.total.cost == totals.filled_value


def test_sums_past_64_bits_stay_exact(database: Database) -> None:
    # Scaled by 10**18 on SQLite, one of these products is about 10**35; many quantities add up
    # past 2**63 (9.2 x 10**18) too.
    qty, price = "999999999.999999999", "987654321.123456789"
    with database.transaction() as uow:
        for _ in range(12):
            _trade(uow, "BRK.A", member="Jane Doe", party=Party.DEMOCRAT, qty=qty, price=price)

    with database.transaction(readonly=True) as uow:
        totals = read_models.trade_totals(uow)
        groups = read_models.lot_groups(uow)

    with localcontext(Context(prec=100)):
        exact = Decimal(qty) * Decimal(price) * 12
    assert exact == Decimal("11851851853481481456.148148146518518532")
    assert groups == [
        LotGroup(
            member="Jane Doe",
            party=Party.DEMOCRAT,
            symbol="BRK.A",
            lots=12,
            filled_qty=Decimal(qty) * 12,
            cost=exact,
            open_lots=12,
            open_qty=Decimal(qty) * 12,
            open_cost=exact,
        )
    ]
    assert totals.filled_qty == Decimal(qty) * 12
    assert totals.filled_value == cents(exact)


def test_an_empty_table_sums_to_zero(database: Database) -> None:
    with database.transaction(readonly=True) as uow:
        totals = read_models.trade_totals(uow)
        groups = read_models.lot_groups(uow)

    assert totals.filled_value == totals.notional_submitted == totals.filled_qty == 0
    assert sum(totals.by_status.values()) == 0
    assert groups == []


# -- P&L groups ------------------------------------------------------------------------------


def test_fills_are_summed_per_member_party_and_symbol(database: Database) -> None:
    with database.transaction() as uow:
        _trade(uow, "AAPL", member="Jane Doe", party=Party.DEMOCRAT, qty="2", price="100.5")
        _trade(uow, "AAPL", member="Jane Doe", party=Party.DEMOCRAT, qty="0.5", price="101")
        _trade(uow, "MSFT", member="Jane Doe", party=Party.DEMOCRAT, qty="1", price="400")
        _trade(uow, "AAPL", member="John Roe", party=Party.REPUBLICAN, qty="3", price="99")
        _trade(uow, "AAPL", qty="1", price="98")  # its filing is not stored
        _trade(uow, "NVDA", member="John Roe", party=Party.REPUBLICAN)  # nothing filled

    with database.transaction(readonly=True) as uow:
        groups = read_models.lot_groups(uow)

    found = {(g.member, g.party, g.symbol): (g.lots, g.filled_qty, g.cost) for g in groups}
    assert found == {
        ("Jane Doe", Party.DEMOCRAT, "AAPL"): (2, Decimal("2.5"), Decimal("251.5")),
        ("Jane Doe", Party.DEMOCRAT, "MSFT"): (1, Decimal(1), Decimal(400)),
        ("John Roe", Party.REPUBLICAN, "AAPL"): (1, Decimal(3), Decimal(297)),
        (None, None, "AAPL"): (1, Decimal(1), Decimal(98)),
    }


def test_the_overview_reads_groups_and_counts_not_trades(
    database: Database, serve_dashboard: Any
) -> None:
    days = [NOON - timedelta(days=n % 3, minutes=n) for n in range(120)]
    with database.transaction() as uow:
        for number, moment in enumerate(days):
            member = ("Jane Doe", "John Roe")[number % 2]
            _trade(uow, "AAPL", member=member, party=Party.DEMOCRAT, qty="1", price="1", now=moment)

    with serve_dashboard() as served, rows_read(database) as counts:
        body = served.json("/api/overview")

    assert body["trades"]["total"] == 120
    assert body["pnl"]["unpriced_lots"] == 120  # the sandbox holds no AAPL position
    assert counts
    assert max(counts) <= 30  # the 30 days of the chart; never a row per trade


# -- per-day counts --------------------------------------------------------------------------


def _at(database: Database, *moments: datetime) -> None:
    with database.transaction() as uow:
        for moment in moments:
            _trade(uow, "AAPL", now=moment)


def test_per_day_counts_use_new_york_dates(database: Database) -> None:
    _at(
        database,
        datetime(2024, 6, 20, 3, 30, tzinfo=UTC),  # 23:30 on the 19th in New York
        datetime(2024, 6, 20, 13, 30, tzinfo=UTC),
        datetime(2024, 6, 20, 14, 0, tzinfo=UTC),
        datetime(2024, 6, 21, 3, 59, tzinfo=UTC),  # 23:59 on the 20th
        datetime(2024, 6, 21, 4, 0, tzinfo=UTC),  # midnight: the 21st, after the window
        datetime(2024, 6, 18, 3, 59, tzinfo=UTC),  # 23:59 on the 17th, before it
    )

    with database.transaction(readonly=True) as uow:
        counts = read_models.per_day_counts(uow, days=3, today=date(2024, 6, 20))

    assert counts == {date(2024, 6, 18): 0, date(2024, 6, 19): 1, date(2024, 6, 20): 3}


def test_per_day_counts_follow_the_clock_change(database: Database) -> None:
    # 2024-03-10 has 23 hours in New York: it starts at 05:00 UTC and ends at 04:00 UTC.
    _at(
        database,
        datetime(2024, 3, 10, 4, 59, tzinfo=UTC),  # 23:59 EST on the 9th
        datetime(2024, 3, 10, 5, 0, tzinfo=UTC),  # midnight EST: the 10th
        datetime(2024, 3, 11, 3, 59, tzinfo=UTC),  # 23:59 EDT on the 10th
        datetime(2024, 3, 11, 4, 0, tzinfo=UTC),  # midnight EDT: the 11th
    )

    with database.transaction(readonly=True) as uow:
        counts = read_models.per_day_counts(uow, days=3, today=date(2024, 3, 11))

    assert counts == {date(2024, 3, 9): 1, date(2024, 3, 10): 2, date(2024, 3, 11): 1}


def test_per_day_counts_are_one_query_returning_at_most_a_row_per_day(database: Database) -> None:
    _at(database, *(NOON - timedelta(hours=n) for n in range(100)))

    with database.transaction(readonly=True) as uow, rows_read(database) as counts:
        per_day = read_models.per_day_counts(uow, days=30, today=date(2024, 6, 20))

    assert sum(per_day.values()) == 100
    assert len(counts) == 1
    assert counts[0] <= 6  # 100 hours span five New York days
