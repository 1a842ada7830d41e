"""Trades: one row per filing the system attempted, kept in step with the broker's order.

The write half; the reads are `TradeQueries` (trade_queries.py), the statements
trade_statements.py.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    func,
    select,
)
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from trading_automation.db.errors import ConcurrentUpdateError
from trading_automation.db.models import Trade
from trading_automation.db.repositories import ledger
from trading_automation.db.repositories.trade_queries import (
    TradeCount,
    TradeQueries,
    normalize_symbol,
)
from trading_automation.db.repositories.trade_statements import (
    GUARDED_UPDATE,
    TRADE_COLUMNS,
    TRADE_MANAGER,
    intent_insert,
)
from trading_automation.domain.enums import (
    CloseCause,
    OrderSide,
    OrderType,
    TimeInForce,
    TradeStatus,
)
from trading_automation.domain.filings import client_order_id_for, is_source_hash
from trading_automation.domain.jsonvalues import without_unstorable
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.domain.timestamps import require_aware_utc, utcnow
from trading_automation.domain.trade_rules import (
    check_owner,
    order_change,
    parse_order,
)
from trading_automation.errors import InvalidValueError

# Re-reads of a row that keeps changing under `apply_order` before giving up.
APPLY_ATTEMPTS = 5


@dataclass(frozen=True)
class IntentResult:
    """The trade for a filing, and whether this call created it."""

    trade: Trade
    created: bool


@dataclass(frozen=True)
class ApplyResult:
    """What applying a broker order did to a trade."""

    trade: Trade
    changed: bool
    previous_status: TradeStatus
    ignored: str | None = None


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValueError("reason", "a reason in words is required")
    return without_unstorable(reason.strip())


class TradeRepository(TradeQueries):
    """Trade rows; works inside the caller's transaction and never commits."""

    # -- writing -----------------------------------------------------------------------------

    def record_intent(
        self,
        *,
        source_hash: str,
        symbol: str,
        congress_trade_feed_id: uuid.UUID | None = None,
        job_run_id: uuid.UUID | None = None,
        skip_reason: str | None = None,
        now: datetime | None = None,
        exit_of: Trade | None = None,
        exit_cause: CloseCause | None = None,
        qty: Decimal | None = None,
        transaction_key: str | None = None,
        planned_notional: Decimal | None = None,
    ) -> IntentResult:
        """Record that a filing is about to be traded, once: the NEW row with its client order id.

        With `exit_of` (a lot), `exit_cause` and `qty` the row is a SELL of `qty` shares of that
        lot instead, and `source_hash` is the exit's key (see `lots.exit_key`).

        With `skip_reason` the row is recorded SKIPPED instead (a guardrail stopped it), in the
        same single statement. Idempotent by `source_hash`: a repeated or concurrent call returns
        the existing row, untouched, with `created=False`; the unique index decides. A buy's
        `transaction_key` is unique too: when another filing of the same transaction has a trade,
        that trade is returned, with `created=False`. `planned_notional` is the dollars the
        strategy chose. `job_run_id`
        is the run recording it: no other live run resumes the trade.

        One statement when the row is new, so it can run in an autocommit unit of work.
        """
        if not isinstance(source_hash, str) or not is_source_hash(source_hash):
            raise InvalidValueError("source_hash", "expected a lower-case SHA-256 hex digest")
        when = require_aware_utc(now, field="now") if now else utcnow()
        reason = None if skip_reason is None else _reason(skip_reason)
        if (exit_of is None) != (exit_cause is None) or (exit_of is None) != (qty is None):
            raise InvalidValueError("exit_of", "an exit names its lot, its cause and a quantity")
        if exit_of is not None and (exit_of.side is not OrderSide.BUY or exit_of.symbol != symbol):
            raise InvalidValueError("exit_of", f"an exit sells {symbol} of a lot of {symbol}")
        if qty is not None and qty <= 0:
            raise InvalidValueError("qty", "an exit sells a positive quantity")
        if exit_of is not None and transaction_key is not None:
            raise InvalidValueError("transaction_key", "only a buy carries a transaction key")
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "source_hash": source_hash,
            "client_order_id": client_order_id_for(source_hash),
            "congress_trade_feed_id": congress_trade_feed_id,
            "job_run_id": job_run_id,
            "symbol": normalize_symbol(symbol),
            "side": OrderSide.BUY if exit_of is None else OrderSide.SELL,
            "lot_trade_id": exit_of.id if exit_of is not None else None,
            "exit_cause": exit_cause,
            "qty_submitted": qty,
            "order_type": OrderType.MARKET,
            "time_in_force": TimeInForce.DAY,
            "status": TradeStatus.NEW if reason is None else TradeStatus.SKIPPED,
            "status_reason": reason,
            "created_at": when,
            "updated_at": when,
            "version": 1,
            "closed_qty": Decimal(0),
            "transaction_key": transaction_key,
            "planned_notional": planned_notional,
        }
        inserted = self.session.execute(intent_insert(self.session), values).first()
        if inserted is not None:
            # The row holds exactly these values, checked above: build the object from them
            # (as a load from the database would) instead of reading the row back.
            trade = TRADE_MANAGER.new_instance()
            trade.__dict__.update({name: values.get(name) for name in TRADE_COLUMNS})
            make_transient_to_detached(trade)
            self.session.add(trade)
            return IntentResult(trade=trade, created=True)
        existing = self.session.scalars(
            select(Trade)
            .where(Trade.source_hash == source_hash)
            .execution_options(populate_existing=True)
        ).one_or_none()
        if existing is None and transaction_key is not None:
            existing = self.session.scalars(
                select(Trade)
                .where(Trade.transaction_key == transaction_key)
                .execution_options(populate_existing=True)
            ).one_or_none()
        if existing is None:
            # The conflicting row was deleted between the INSERT and this read: say so plainly.
            raise ConcurrentUpdateError(f"the trade of filing {source_hash} vanished while read")
        return IntentResult(trade=existing, created=False)

    def apply_order(
        self,
        trade: Trade,
        order: AlpacaOrder | Mapping[str, Any],
        *,
        now: datetime | None = None,
    ) -> ApplyResult:
        """Bring a trade up to date with an Alpaca order object, monotonically.

        Accepts the parsed order or the payload as Alpaca sends it. A terminal trade never changes
        status, `filled_qty` never decreases, and an order older than the one already applied
        (by its `updated_at`) is ignored.

        Concurrency is optimistic: the change is worked out from `trade` as the caller holds it
        and written by one UPDATE guarded by the row's `version`, so it applies only if nobody
        changed the row since the caller read it. When somebody did, or when the order would be
        ignored, the row is read afresh (locked, inside a transaction) and the decision is made
        again on what is stored. Safe in an autocommit unit of work as well. `now` stamps
        `updated_at` (the caller's clock; the wall clock when not given).
        """
        when = require_aware_utc(now, field="now") if now else utcnow()
        if trade.side is OrderSide.SELL:
            ledger.require_transaction(self.session, "applying a sell's order")
        parsed = parse_order(order)
        check_owner(trade, parsed)
        if "version" in trade.__dict__:
            previous = trade.status
            change = order_change(trade, parsed, when)
            if isinstance(change, dict) and self._write_if_unchanged(trade, change, when):
                return ApplyResult(trade, changed=True, previous_status=previous)
        for _attempt in range(APPLY_ATTEMPTS):
            current = self._locked(trade)
            previous = current.status
            change = order_change(current, parsed, when)
            if not isinstance(change, dict):
                return ApplyResult(current, changed=False, previous_status=previous, ignored=change)
            if self._write_if_unchanged(current, change, when):
                return ApplyResult(current, changed=True, previous_status=previous)
        raise ConcurrentUpdateError(
            f"trade {trade.client_order_id} kept changing while order {parsed.id} was applied "
            f"({APPLY_ATTEMPTS} attempts)"
        )

    def apply_orders(
        self,
        pairs: Iterable[tuple[Trade, AlpacaOrder | Mapping[str, Any]]],
        *,
        now: datetime | None = None,
    ) -> list[ApplyResult | InvalidValueError]:
        """`apply_order` for many trades at once, in the caller's transaction.

        One `SELECT … FOR UPDATE` reads the versions of all the rows; every order whose trade is
        unchanged since the caller read it is then decided on the caller's copy and written by
        one batched UPDATE (psycopg pipelines it). A trade that changed meanwhile, or appears
        twice, goes through `apply_order` on its own. Returns one result per pair, in order: the
        `ApplyResult`, or the `InvalidValueError` that refused that order (the others still apply).
        """
        _require_transaction(self.session, "apply_orders")
        when = require_aware_utc(now, field="now") if now else utcnow()
        work = list(pairs)
        results: list[ApplyResult | InvalidValueError | None] = [None] * len(work)
        ids = {trade.id for trade, _order in work}
        locked = select(Trade.id, Trade.version).where(Trade.id.in_(ids)).with_for_update()
        stored: dict[uuid.UUID, int] = {}
        for trade_id, version in self.session.execute(locked):
            stored[trade_id] = version
        writes: list[tuple[int, Trade, dict[str, Any]]] = []
        alone: list[int] = []
        batched: set[uuid.UUID] = set()
        for index, (trade, order) in enumerate(work):
            try:
                parsed = parse_order(order)
                check_owner(trade, parsed)
                current = "version" in trade.__dict__ and stored.get(trade.id) == trade.version
                if not current or trade.id in batched:
                    alone.append(index)
                    continue
                change = order_change(trade, parsed, when)
            except InvalidValueError as error:
                results[index] = error
                continue
            if isinstance(change, dict):
                batched.add(trade.id)
                writes.append((index, trade, change))
            else:
                results[index] = ApplyResult(
                    trade, changed=False, previous_status=trade.status, ignored=change
                )
        if writes:
            parameters = [_guarded_parameters(trade, change) for _index, trade, change in writes]
            result = cast(CursorResult[Any], self.session.execute(GUARDED_UPDATE, parameters))
            if result.rowcount != len(writes):
                # Unreachable while the rows are locked; refuse rather than guess which applied.
                raise ConcurrentUpdateError(
                    f"{len(writes) - result.rowcount} of {len(writes)} locked trades changed "
                    "while their orders were applied"
                )
            for index, trade, change in writes:
                previous = trade.status
                _take_written(trade, change)
                results[index] = ApplyResult(trade, changed=True, previous_status=previous)
            # Lots are locked in one order (by id) by every writer: no two can deadlock on them.
            sells = [trade for _index, trade, _change in writes if trade.side is OrderSide.SELL]
            for sell in sorted(sells, key=lambda trade: str(trade.lot_trade_id)):
                self._follow_in_ledger(sell, when)
        for index in alone:
            trade, order = work[index]
            try:
                results[index] = self.apply_order(trade, order, now=when)
            except InvalidValueError as error:
                results[index] = error
        return [result for result in results if result is not None]

    def _write_if_unchanged(self, trade: Trade, change: dict[str, Any], when: datetime) -> bool:
        """UPDATE the row to `change` if its version is still `trade.version`; on success the
        object takes the new values (as committed state, nothing left to flush)."""
        parameters = _guarded_parameters(trade, change)
        result = cast(CursorResult[Any], self.session.execute(GUARDED_UPDATE, parameters))
        if result.rowcount != 1:
            return False
        _take_written(trade, change)
        self._follow_in_ledger(trade, when)
        return True

    def _follow_in_ledger(self, trade: Trade, when: datetime) -> None:
        """A sell's fills close its lot, in the same transaction as the sell's update."""
        if trade.side is OrderSide.SELL:
            ledger.take_sell_fill(self.session, trade, when)

    def mark_failed(self, trade: Trade, reason: str, *, now: datetime | None = None) -> bool:
        """Record that the system could not place the order; False if the trade is terminal."""
        return self._finish(trade, TradeStatus.FAILED, reason, now)

    def mark_skipped(self, trade: Trade, reason: str, *, now: datetime | None = None) -> bool:
        """Record that the order was deliberately not sent; False if the trade is terminal."""
        return self._finish(trade, TradeStatus.SKIPPED, reason, now)

    def _finish(self, trade: Trade, status: TradeStatus, reason: str, now: datetime | None) -> bool:
        text = _reason(reason)
        trade = self._locked(trade)
        if trade.status.is_terminal:
            return False
        if trade.alpaca_order_id is not None:
            raise InvalidValueError(
                "status",
                f"trade {trade.client_order_id} has broker order {trade.alpaca_order_id}; "
                "its outcome comes from the broker, not from a local mark",
            )
        when = require_aware_utc(now, field="now") if now else utcnow()
        trade.status = status
        trade.status_reason = text
        if status is TradeStatus.FAILED:
            trade.failed_at = when
        trade.updated_at = when
        self.session.flush()
        return True

    def lock_daily_caps(self, day: date) -> None:
        """Serialise cap checks for one day until the transaction ends, across processes.

        Checking a daily cap and recording the intent must happen under this lock, or two runs
        could both see room for one more trade. PostgreSQL: a transaction-scoped advisory lock.
        SQLite: write transactions already run one at a time (BEGIN IMMEDIATE).
        """
        _require_transaction(self.session, "lock_daily_caps")
        if self.session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(
                hashlib.sha256(f"trade-caps:{day.isoformat()}".encode()).digest()[:8],
                "big",
                signed=True,
            )
            self.session.execute(select(func.pg_advisory_xact_lock(key)))

    def _locked(self, trade: Trade) -> Trade:
        """The trade's row, read afresh under a row lock (one SELECT … FOR UPDATE), so concurrent
        updaters apply one after the other. Works for a trade loaded in another session too."""
        # A select rather than `Session.get`: get() with FOR UPDATE refuses a row whose version
        # moved past the copy in this session, and reading the newer row is the point here.
        locked = self.session.scalars(
            select(Trade)
            .where(Trade.id == trade.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if locked is None:
            raise InvalidValueError("trade", f"trade {trade.id} does not exist")
        return locked


def _guarded_parameters(trade: Trade, change: dict[str, Any]) -> dict[str, Any]:
    """`GUARDED_UPDATE`'s parameters: `change` to the row still at `trade.version`."""
    parameters = {f"new_{name}": value for name, value in change.items()}
    parameters.update(match_id=trade.id, match_version=trade.version, new_version=trade.version + 1)
    return parameters


def _take_written(trade: Trade, change: dict[str, Any]) -> None:
    """Give the object what its row now holds, as committed state (nothing left to flush)."""
    for name, value in change.items():
        set_committed_value(trade, name, value)
    set_committed_value(trade, "version", trade.version + 1)


def _require_transaction(session: Session, what: str) -> None:
    """Refuse an autocommit unit of work, where locks end with their own statement."""
    if session.connection().get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        raise RuntimeError(
            f"{what} needs a transaction: in an autocommit unit of work its row locks would "
            "end with their own statement"
        )


__all__ = [
    "ApplyResult",
    "IntentResult",
    "TradeCount",
    "TradeRepository",
    "normalize_symbol",
]
