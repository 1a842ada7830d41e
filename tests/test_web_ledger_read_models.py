"""The lot ledger's aggregates on both backends: open quantity and cost, realized P&L of the
closes, closes outside the system apart, all exact and read as groups, never lot by lot."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from typing import Any

from tests.ledger_support import LedgerBuilder
from tests.test_web_read_models import rows_read
from trading_automation.db import CloseCause, Database, Party
from trading_automation.sandbox import Sandbox
from trading_automation.web import read_models


def test_lot_groups_sum_open_quantity_and_what_the_closes_realized(database: Database) -> None:
    ledger = LedgerBuilder(database)
    first = ledger.lot("Jane Doe", "AAPL", "10", "100")
    ledger.sell(first, "4", "110")
    ledger.close_outside(first, "1")
    second = ledger.lot("Jane Doe", "AAPL", "2", "105", filed=date(2024, 6, 19))
    ledger.sell(second, "2", "100", filled="0.5", cause=CloseCause.STOP_LOSS)
    ledger.sell(second, "1", None, cause=CloseCause.TAKE_PROFIT)  # not filled yet: no close
    ledger.lot("John Roe", "AAPL", "3", "99", party="REPUBLICAN")

    with database.transaction(readonly=True) as uow:
        groups = {group.key: group for group in read_models.lot_groups(uow)}

    jane = groups["Jane Doe", Party.DEMOCRAT, "AAPL"]
    assert (jane.lots, jane.open_lots) == (2, 2)
    assert (jane.filled_qty, jane.cost) == (Decimal(12), Decimal(1210))
    assert jane.open_qty == Decimal("6.5")  # 10 - 4 - 1, and 2 - 0.5
    assert jane.open_cost == Decimal(5 * 100) + Decimal("1.5") * 105
    assert (jane.closes, jane.closed_qty) == (2, Decimal("4.5"))
    assert jane.proceeds == Decimal(4 * 110) + Decimal("0.5") * 100
    assert jane.closed_cost == Decimal(4 * 100) + Decimal("0.5") * 105
    assert jane.realized_pl == Decimal("37.5")
    assert (jane.outside_closes, jane.outside_qty) == (1, Decimal(1))
    john = groups["John Roe", Party.REPUBLICAN, "AAPL"]
    assert (john.open_qty, john.closes, john.realized_pl) == (Decimal(3), 0, 0)


def test_realized_sums_past_64_bits_stay_exact(database: Database) -> None:
    # On SQLite a stored quantity x price is scaled by 10**18: these products are near 10**35.
    qty, bought, sold = "999999999.999999999", "987654321.123456789", "987654322.987654321"
    ledger = LedgerBuilder(database)
    for day in range(3):
        lot = ledger.lot("Jane Doe", "BRK.A", qty, bought, filed=date(2024, 6, 10 + day))
        ledger.sell(lot, qty, sold)

    with database.transaction(readonly=True) as uow:
        [group] = read_models.lot_groups(uow)

    with localcontext(Context(prec=100)):
        expected = 3 * Decimal(qty) * (Decimal(sold) - Decimal(bought))
        proceeds = 3 * Decimal(qty) * Decimal(sold)
    assert group.realized_pl == expected
    assert group.proceeds == proceeds
    assert group.open_qty == 0
    assert group.open_lots == 0


def test_the_overview_reads_groups_of_lots_and_closes_not_each_one(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    for number in range(40):
        member = ("Jane Doe", "John Roe")[number % 2]
        lot = ledger.lot(member, "AAPL", "2", "100", filed=date(2024, 1, 1) + timedelta(number))
        ledger.sell(lot, "1", "101")
        ledger.close_outside(lot, "0.5")

    with serve_dashboard() as served, rows_read(database) as counts:
        body = served.json("/api/overview")

    assert body["pnl"]["total"]["closes"] == 40
    assert body["pnl"]["total"]["outside_closes"] == 40
    assert Decimal(body["pnl"]["total"]["realized_pl"]) == Decimal("40.00")
    assert counts
    assert max(counts) <= 30  # the 30 days of the chart; never a row per lot or close
