"""Randomised days of purchases, members' sales, partial fills and sales by hand at the broker:
after every run the ledger's open quantity per symbol equals the broker's position, no lot is
closed beyond what it filled, and nothing is ever short. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import quiver_record
from tests.worker_support import QUICK, run_job, trades
from trading_automation.db import Database, OrderSide
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox import OrderScript, Sandbox

DAYS = [date(2024, 6, 20), date(2024, 6, 21), date(2024, 6, 24), date(2024, 6, 25)]
MEMBERS = ["Nancy Pelosi", "Ro Khanna", "Zoë Lofgren"]
# AAPL trades in fractions; KKR in whole shares only (the fallback buys 9 shares).
SYMBOLS = ["AAPL", "KKR"]

event = st.one_of(
    st.tuples(st.just("buy"), st.sampled_from(MEMBERS), st.sampled_from(SYMBOLS)),
    st.tuples(
        st.just("sale"),
        st.sampled_from(MEMBERS),
        st.sampled_from(SYMBOLS),
        st.sampled_from(["Sale", "Sale (Full)", "Sale (Partial)"]),
    ),
    st.tuples(st.just("by hand"), st.sampled_from(SYMBOLS), st.integers(1, 3)),
)
days = st.lists(st.lists(event, max_size=5), min_size=2, max_size=len(DAYS))


def _records(day: date, events: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    records = []
    for number, item in enumerate(events):
        if item[0] == "by hand":
            continue
        kind, member, symbol = item[0], item[1], item[2]
        records.append(
            quiver_record(
                Ticker=symbol,
                Name=member,
                Transaction="Purchase" if kind == "buy" else item[3],
                Traded=day.isoformat(),
                Filed=day.isoformat(),
                Comments=f"{day} event {number}",
            )
        )
    return records


def _sell_by_hand(sandbox: Sandbox, symbol: str, parts: int) -> None:
    held = {p["symbol"]: Decimal(p["qty"]) for p in sandbox.broker.positions()}.get(symbol)
    if not held:
        return
    # Alpaca's quantities have at most 9 decimal places, and KKR trades in whole shares.
    step = Decimal(1) if symbol == "KKR" else Decimal("0.000000001")
    quantity = (held / (parts + 1)).quantize(step, rounding="ROUND_FLOOR")
    if quantity > 0:
        sandbox.broker.adjust_position(symbol, -quantity)


def _check(database: Database, sandbox: Sandbox) -> None:
    positions = {p["symbol"]: Decimal(p["qty"]) for p in sandbox.broker.positions()}
    assert all(qty > 0 for qty in positions.values()), positions
    stored = trades(database)
    lots = [t for t in stored if t.side is OrderSide.BUY and t.filled_qty]
    for lot in lots:
        assert Decimal(0) <= lot.closed_qty <= (lot.filled_qty or 0)
    for symbol in SYMBOLS:
        ledger = sum((lot.open_qty for lot in lots if lot.symbol == symbol), Decimal(0))
        assert ledger == positions.get(symbol, Decimal(0)), (symbol, ledger, positions)
    for sell in (t for t in stored if t.side is OrderSide.SELL):
        assert sandbox.broker.orders_for(sell.client_order_id) <= 1


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(days=days, partial=st.sampled_from(["all", "half", "none"]))
def test_the_ledger_always_equals_the_brokers_position(
    database: Database, tmp_path: Path, days: list[list[tuple[Any, ...]]], partial: str
) -> None:
    empty = tmp_path / f"quiver-{abs(hash(str(days)))}"
    empty.mkdir(exist_ok=True)
    script = OrderScript(partial_fill_after_polls=1, fill_after_polls=2)
    with Sandbox(quiver_directory=empty, script=script) as sandbox:
        for day, events in zip(DAYS, days, strict=False):
            for item in events:
                if item[0] == "by hand":
                    _sell_by_hand(sandbox, item[1], item[2])
            sandbox.quiver.set_day(day, _records(day, events))
            sandbox.broker.set_now(datetime.combine(day, time(9, 30), NEW_YORK).astimezone(UTC))

            result = run_job(
                database, sandbox, replace(QUICK, poll_budget_s=10), exit_on_partial_sale=partial
            )

            assert result.exit_code == 0, result.lines
            _check(database, sandbox)
    # The next example starts from an empty ledger, as from an empty account.
    with database.engine.begin() as connection:
        for table in ("lot_close", "trade", "job_run_attempt", "job_run", "api_request"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
