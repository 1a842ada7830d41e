"""The trade repository's prepared statements, built once: the version-guarded UPDATE of an
order's values, and the intent's INSERT … ON CONFLICT DO NOTHING per dialect."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import manager_of_class

from trading_automation.db.models import Trade
from trading_automation.db.repositories.upsert import conflict_insert
from trading_automation.domain.trade_rules import APPLIED_FIELDS

TRADE = cast(Table, Trade.__table__)
TRADE_COLUMNS = tuple(column.key for column in TRADE.columns)
TRADE_MANAGER = manager_of_class(Trade)
GUARDED_UPDATE = (
    TRADE.update()
    .where(
        TRADE.c.id == bindparam("match_id", type_=TRADE.c.id.type),
        TRADE.c.version == bindparam("match_version", type_=TRADE.c.version.type),
    )
    .values(
        {
            TRADE.c[name]: bindparam(f"new_{name}", type_=TRADE.c[name].type)
            for name in (*APPLIED_FIELDS, "version")
        }
    )
)
INTENT_COLUMNS = (
    "id",
    "source_hash",
    "client_order_id",
    "congress_trade_feed_id",
    "job_run_id",
    "symbol",
    "side",
    "lot_trade_id",
    "exit_cause",
    "qty_submitted",
    "order_type",
    "time_in_force",
    "status",
    "status_reason",
    "created_at",
    "updated_at",
    "version",
    "closed_qty",
    "transaction_key",
    "planned_notional",
)
INTENT_INSERTS: dict[str, Any] = {}


def intent_insert(session: Session) -> Any:
    """The intent's INSERT … ON CONFLICT DO NOTHING RETURNING id, built once per dialect.

    No conflict target: the client order id is derived from the source hash, and a concurrent
    insert may collide on either unique index first. Both mean "exists"; so does a collision on
    the transaction key (another filing of the same transaction was bought).
    """
    dialect = session.get_bind().dialect.name
    statement = INTENT_INSERTS.get(dialect)
    if statement is None:
        statement = (
            conflict_insert(session, TRADE)
            .values(
                {
                    TRADE.c[name]: bindparam(name, type_=TRADE.c[name].type)
                    for name in INTENT_COLUMNS
                }
            )
            .on_conflict_do_nothing()
            .returning(TRADE.c.id)
        )
        INTENT_INSERTS[dialect] = statement
    return statement
