"""Migration 0004 (the lot ledger) from a database holding 0003 data, and back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import make_settings
from trading_automation.db import CloseCause, Database, Trade
from trading_automation.db.migrate import alembic_config, downgrade, upgrade

T0 = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_existing_trades_become_lots_with_nothing_closed_and_the_downgrade_drops_the_ledger(
    backend_name: str, make_empty_url: Callable[[str], str]
) -> None:
    url = make_empty_url(backend_name)
    config = alembic_config(make_settings(url))
    upgrade(config, "0003")
    engine = create_engine(make_settings(url).database_url)
    lot_id = uuid.UUID("0b5f6a5e-2f5e-4d47-9a55-6d9b3f2b3a11")
    key = lot_id.hex if backend_name == "sqlite" else str(lot_id)
    # 5 shares at $100.5 as the columns hold them (SQLite: scaled by 10**9).
    five, price = (5 * 10**9, 1005 * 10**8) if backend_name == "sqlite" else (5, Decimal("100.5"))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO trade (id, source_hash, client_order_id, symbol, side, "
                    "order_type, time_in_force, status, filled_qty, filled_avg_price, "
                    "created_at, updated_at) VALUES (:id, :hash, :cid, 'AAPL', 'BUY', 'MARKET', "
                    "'DAY', 'FILLED', :qty, :price, :now, :now)"
                ),
                {
                    "id": key,
                    "hash": "a" * 64,
                    "cid": "ta-" + "a" * 64,
                    "qty": five,
                    "price": price,
                    "now": "2024-06-20 13:30:00+00:00",
                },
            )

        # Through 0004 to the head: the repositories below read the head's columns.
        upgrade(config, "head")
        database = Database.from_settings(make_settings(url))
        with database.transaction(readonly=True) as uow:
            [lot] = uow.lots.open_lots()
        with database.transaction() as uow:
            sell = uow.lots.record_exit(
                lot.trade,
                cause=CloseCause.MIRRORED_SALE,
                ref="b" * 64,
                trading_date=date(2024, 6, 21),
                quantity=Decimal(5),
                now=T0,
            ).trade
            uow.lots.close_outside(lot.trade, Decimal(2), "sold by hand", T0)
        database.dispose()
        downgrade(config, "0003")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT symbol, side FROM trade")).all()
            columns = {c["name"] for c in inspect(connection).get_columns("trade")}
            tables = set(inspect(connection).get_table_names())
        upgrade(config, "head")
    finally:
        engine.dispose()

    assert (lot.trade.symbol, lot.trade.open_qty, lot.trade.closed_qty) == (
        "AAPL",
        Decimal(5),
        Decimal(0),
    )
    assert isinstance(sell, Trade)
    assert [tuple(row) for row in kept] == [("AAPL", "BUY")]
    assert {"closed_qty", "lot_trade_id", "exit_cause"}.isdisjoint(columns)
    assert "lot_close" not in tables
