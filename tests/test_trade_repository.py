"""The trade repository on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from tests.factories import at, order_payload, source_hash
from trading_automation.db import (
    ApplyResult,
    ConcurrentUpdateError,
    Database,
    InvalidCursorError,
    InvalidValueError,
    RetryableDatabaseError,
    Trade,
    TradeRepository,
    TradeStatus,
)
from trading_automation.domain.orders import AlpacaOrder


def _intent(database: Database, symbol: str = "AAPL", **kwargs: Any) -> Trade:
    with database.transaction() as uow:
        return uow.trades.record_intent(source_hash=source_hash(), symbol=symbol, **kwargs).trade


def _apply(database: Database, trade: Trade, payload: dict[str, Any]) -> Any:
    with database.transaction() as uow:
        current = uow.trades.get(trade.id)
        assert current is not None
        return uow.trades.apply_order(current, payload)


def _reload(database: Database, trade: Trade) -> Trade:
    with database.transaction(readonly=True) as uow:
        found = uow.trades.get(trade.id)
        assert found is not None
        return found


# -- intents ---------------------------------------------------------------------------------


def test_first_intent_creates_a_new_trade_with_a_derived_client_order_id(
    database: Database,
) -> None:
    key = source_hash("filing-1")

    with database.transaction() as uow:
        result = uow.trades.record_intent(source_hash=key, symbol=" aapl ")

    trade = _reload(database, result.trade)
    assert result.created is True
    assert trade.status is TradeStatus.NEW
    assert trade.symbol == "AAPL"
    assert trade.client_order_id == f"ta-{key}"
    assert len(trade.client_order_id) <= 128
    assert trade.alpaca_order_id is None


def test_repeated_intent_returns_the_existing_trade(database: Database) -> None:
    key = source_hash("filing-1")
    with database.transaction() as uow:
        first = uow.trades.record_intent(source_hash=key, symbol="AAPL")

    with database.transaction() as uow:
        second = uow.trades.record_intent(source_hash=key, symbol="AAPL")
        count = uow.session.query(Trade).count()

    assert second.created is False
    assert second.trade.id == first.trade.id
    assert count == 1


def test_an_intent_stopped_by_a_guardrail_is_recorded_skipped_in_one_step(
    database: Database,
) -> None:
    with database.transaction() as uow:
        result = uow.trades.record_intent(
            source_hash=source_hash("capped"), symbol="AAPL", skip_reason=" cap reached "
        )

    stored = _reload(database, result.trade)
    assert result.created is True
    assert (stored.status, stored.status_reason) == (TradeStatus.SKIPPED, "cap reached")


def test_a_skip_reason_never_touches_an_existing_trade(database: Database) -> None:
    key = source_hash("traded before")
    with database.transaction() as uow:
        uow.trades.record_intent(source_hash=key, symbol="AAPL")

    with database.transaction() as uow:
        again = uow.trades.record_intent(source_hash=key, symbol="AAPL", skip_reason="cap")

    assert again.created is False
    assert _reload(database, again.trade).status is TradeStatus.NEW


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source_hash": "abc", "symbol": "AAPL"}, "source_hash"),
        ({"source_hash": "A" * 64, "symbol": "AAPL"}, "source_hash"),
        ({"source_hash": source_hash(), "symbol": " "}, "symbol"),
        ({"source_hash": source_hash(), "symbol": "APPLE INC"}, "symbol"),
    ],
)
def test_intent_refuses_bad_keys_and_symbols(
    database: Database, kwargs: dict[str, Any], field: str
) -> None:
    with database.transaction() as uow, pytest.raises(InvalidValueError) as raised:
        uow.trades.record_intent(**kwargs)

    assert raised.value.field == field


def test_trades_are_found_by_every_key(database: Database) -> None:
    trade = _intent(database)
    _apply(database, trade, order_payload(trade.client_order_id, id="order-1"))

    with database.transaction(readonly=True) as uow:
        found = [
            uow.trades.get(trade.id),
            uow.trades.by_source_hash(trade.source_hash),
            uow.trades.by_client_order_id(trade.client_order_id),
            uow.trades.by_alpaca_order_id("order-1"),
        ]
        missing = uow.trades.by_alpaca_order_id("nope")

    assert [t.id if t else None for t in found] == [trade.id] * 4
    assert missing is None


# -- applying broker orders ------------------------------------------------------------------


def test_accepted_order_binds_the_trade_to_the_broker_order(database: Database) -> None:
    trade = _intent(database)

    result = _apply(
        database,
        trade,
        order_payload(trade.client_order_id, id="order-1", status="accepted", notional="1000"),
    )

    stored = _reload(database, trade)
    assert result.changed is True
    assert result.previous_status is TradeStatus.NEW
    assert stored.status is TradeStatus.ACCEPTED
    assert stored.alpaca_order_id == "order-1"
    assert stored.notional_submitted == Decimal("1000.00")
    assert stored.qty_submitted is None
    assert stored.submitted_at == datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    assert stored.raw_order_json is not None
    assert stored.raw_order_json["id"] == "order-1"


def test_fills_are_stored_exactly_as_alpaca_sends_them(database: Database) -> None:
    trade = _intent(database)

    _apply(
        database,
        trade,
        order_payload(
            trade.client_order_id,
            status="partially_filled",
            filled_qty="4.180203894",
            filled_avg_price="239.225",
            updated_at=at(1),
        ),
    )
    partial = _reload(database, trade)
    _apply(
        database,
        trade,
        order_payload(
            trade.client_order_id,
            status="filled",
            filled_qty="4.180203894",
            filled_avg_price="239.225",
            filled_at=at(2),
            updated_at=at(2),
        ),
    )
    filled = _reload(database, trade)

    assert partial.status is TradeStatus.PARTIALLY_FILLED
    assert partial.filled_qty == Decimal("4.180203894")
    assert filled.status is TradeStatus.FILLED
    assert filled.filled_avg_price == Decimal("239.225")
    assert filled.filled_at == datetime(2024, 6, 20, 13, 32, tzinfo=UTC)  # nanoseconds dropped


def test_whole_share_orders_record_the_quantity(database: Database) -> None:
    trade = _intent(database, symbol="BRK.B")

    _apply(database, trade, order_payload(trade.client_order_id, notional=None, qty="2"))

    stored = _reload(database, trade)
    assert stored.qty_submitted == Decimal("2")
    assert stored.notional_submitted is None


def test_an_order_older_than_the_stored_one_is_ignored(database: Database) -> None:
    trade = _intent(database)
    _apply(
        database,
        trade,
        order_payload(
            trade.client_order_id, status="partially_filled", filled_qty="2", updated_at=at(5)
        ),
    )

    result = _apply(
        database, trade, order_payload(trade.client_order_id, status="accepted", updated_at=at(1))
    )

    stored = _reload(database, trade)
    assert result.changed is False
    assert result.ignored == "stale"
    assert stored.status is TradeStatus.PARTIALLY_FILLED
    assert stored.filled_qty == Decimal("2")


def test_applying_the_same_order_again_changes_nothing(database: Database) -> None:
    trade = _intent(database)
    payload = order_payload(trade.client_order_id, status="accepted", updated_at=at(1))
    _apply(database, trade, payload)
    before = _reload(database, trade).updated_at

    result = _apply(database, trade, payload)

    assert result.changed is False
    assert result.ignored == "unchanged"
    assert _reload(database, trade).updated_at == before


def test_a_terminal_trade_never_changes(database: Database) -> None:
    trade = _intent(database)
    _apply(
        database,
        trade,
        order_payload(
            trade.client_order_id, status="canceled", canceled_at=at(2), updated_at=at(2)
        ),
    )

    result = _apply(
        database,
        trade,
        order_payload(trade.client_order_id, status="filled", filled_qty="3", updated_at=at(9)),
    )

    stored = _reload(database, trade)
    assert result.ignored == "terminal"
    assert stored.status is TradeStatus.CANCELED
    assert stored.filled_qty == Decimal("0")
    assert stored.status_reason == "Alpaca reported the order canceled"


def test_filled_quantity_never_decreases(database: Database) -> None:
    trade = _intent(database)
    _apply(
        database,
        trade,
        order_payload(
            trade.client_order_id,
            status="partially_filled",
            filled_qty="3",
            filled_avg_price="10",
            updated_at=at(1),
        ),
    )

    _apply(
        database,
        trade,
        order_payload(
            trade.client_order_id,
            status="partially_filled",
            filled_qty="1",
            filled_avg_price="99",
            updated_at=at(2),
        ),
    )

    stored = _reload(database, trade)
    assert stored.filled_qty == Decimal("3")
    assert stored.filled_avg_price == Decimal("10")


def test_an_order_of_another_trade_is_refused(database: Database) -> None:
    trade = _intent(database)

    with pytest.raises(InvalidValueError, match="belongs to") as raised:
        _apply(database, trade, order_payload("ta-someone-else"))

    assert raised.value.field == "client_order_id"


def test_a_second_broker_order_for_a_bound_trade_is_refused(database: Database) -> None:
    trade = _intent(database)
    _apply(database, trade, order_payload(trade.client_order_id, id="order-1"))

    with pytest.raises(InvalidValueError, match="bound to order order-1"):
        _apply(database, trade, order_payload(trade.client_order_id, id="order-2"))


# -- optimistic concurrency --------------------------------------------------------------------


def _columns(trade: Trade) -> dict[str, Any]:
    return {column.key: getattr(trade, column.key) for column in Trade.__table__.columns}


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (SQLite's BEGIN and PRAGMAs left out)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].startswith(("BEGIN", "PRAGMA")):
            sent.append(args[2])

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _copy_then_filled_by_someone_else(database: Database, trade: Trade) -> Trade:
    """A copy of `trade` read just before another writer filled it (3 shares)."""
    outdated = _reload(database, trade)
    _apply(
        database,
        trade,
        order_payload(trade.client_order_id, status="filled", filled_qty="3", updated_at=at(5)),
    )
    return outdated


def test_the_trade_an_intent_returns_matches_the_stored_row_in_every_column(
    database: Database,
) -> None:
    trade = _intent(database, congress_trade_feed_id=None)

    assert _columns(trade) == _columns(_reload(database, trade))
    assert trade.version == 1


def test_every_write_of_a_trade_advances_its_version(database: Database) -> None:
    bound, marked = _intent(database), _intent(database, symbol="MSFT")

    _apply(database, bound, order_payload(bound.client_order_id, updated_at=at(1)))
    _apply(database, bound, order_payload(bound.client_order_id, filled_qty="1", updated_at=at(2)))
    with database.transaction() as uow:
        current = uow.trades.get(marked.id)
        assert current is not None
        uow.trades.mark_failed(current, "broker unreachable")

    assert _reload(database, bound).version == 3
    assert _reload(database, marked).version == 2


def test_an_order_applied_to_a_current_copy_is_one_update(database: Database) -> None:
    trade = _intent(database)

    with _statements(database) as sent, database.autocommit() as uow:
        result = uow.trades.apply_order(
            trade, order_payload(trade.client_order_id, updated_at=at(1))
        )

    assert len(sent) == 1
    assert sent[0].startswith("UPDATE trade SET")
    assert result.changed is True
    assert result.trade is trade
    assert _columns(trade) == _columns(_reload(database, trade))
    assert trade.status is TradeStatus.ACCEPTED
    assert trade.version == 2


def test_an_order_applied_to_an_outdated_copy_is_decided_on_the_stored_row(
    database: Database,
) -> None:
    trade = _intent(database)
    outdated = _copy_then_filled_by_someone_else(database, trade)

    with database.autocommit() as uow:
        result = uow.trades.apply_order(
            outdated, order_payload(trade.client_order_id, status="accepted", updated_at=at(1))
        )

    stored = _reload(database, trade)
    assert result.changed is False
    assert result.ignored == "terminal"
    assert stored.status is TradeStatus.FILLED
    assert stored.filled_qty == Decimal("3")


def test_a_failure_marked_after_the_copy_was_read_is_not_overwritten(
    database: Database,
) -> None:
    trade = _intent(database)
    outdated = _reload(database, trade)
    with database.transaction() as uow:
        current = uow.trades.get(trade.id)
        assert current is not None
        uow.trades.mark_failed(current, "insufficient buying power")

    with database.autocommit() as uow:
        result = uow.trades.apply_order(outdated, order_payload(trade.client_order_id))

    stored = _reload(database, trade)
    assert result.ignored == "terminal"
    assert stored.status is TradeStatus.FAILED
    assert stored.alpaca_order_id is None
    assert stored.status_reason == "insufficient buying power"


def test_a_row_that_keeps_changing_gives_up_with_a_retryable_error_and_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trade = _intent(database)
    table = Trade.__table__
    bump = table.update().where(table.c.id == trade.id).values(version=table.c.version + 1)
    with database.transaction() as uow:
        uow.session.execute(bump)
    locked = TradeRepository._locked

    def read_then_changed_by_someone_else(self: TradeRepository, stale: Trade) -> Trade:
        current = locked(self, stale)
        self.session.execute(bump)
        return current

    monkeypatch.setattr(TradeRepository, "_locked", read_then_changed_by_someone_else)

    with (
        pytest.raises(ConcurrentUpdateError, match="kept changing") as raised,
        database.transaction() as uow,
    ):
        uow.trades.apply_order(trade, order_payload(trade.client_order_id))

    stored = _reload(database, trade)
    assert isinstance(raised.value, RetryableDatabaseError)
    assert stored.status is TradeStatus.NEW
    assert stored.alpaca_order_id is None
    assert stored.version == 2


def test_a_batch_of_orders_is_applied_with_one_update_per_row_in_one_call(
    database: Database,
) -> None:
    trades = [_intent(database, symbol=symbol) for symbol in ("AAPL", "MSFT", "NVDA")]

    with _statements(database) as sent, database.transaction() as uow:
        results = uow.trades.apply_orders(
            [
                (trade, order_payload(trade.client_order_id, id=f"order-{n}"))
                for n, trade in enumerate(trades)
            ]
        )

    assert [s.split()[0] for s in sent] == ["SELECT", "UPDATE"]
    assert all(isinstance(r, ApplyResult) and r.changed for r in results)
    for n, trade in enumerate(trades):
        stored = _reload(database, trade)
        assert (stored.status, stored.alpaca_order_id) == (TradeStatus.ACCEPTED, f"order-{n}")
        assert _columns(stored) == _columns(trade)


def test_a_refused_order_in_a_batch_leaves_the_others_applied(database: Database) -> None:
    good, bad, other = (_intent(database, symbol=s) for s in ("AAPL", "MSFT", "NVDA"))

    with database.transaction() as uow:
        results = uow.trades.apply_orders(
            [
                (good, order_payload(good.client_order_id, id="order-1")),
                (bad, order_payload(bad.client_order_id, id="order-2", filled_qty="-1")),
                (other, order_payload("ta-someone-else", id="order-3")),
            ]
        )

    assert isinstance(results[0], ApplyResult)
    assert isinstance(results[1], InvalidValueError)
    assert results[1].field == "filled_qty"
    assert isinstance(results[2], InvalidValueError)
    assert _reload(database, good).status is TradeStatus.ACCEPTED
    assert _reload(database, bad).status is TradeStatus.NEW
    assert _reload(database, other).status is TradeStatus.NEW


def test_a_batch_decides_a_trade_changed_since_it_was_read_on_the_stored_row(
    database: Database,
) -> None:
    moved, kept = _intent(database), _intent(database, symbol="MSFT")
    outdated = _copy_then_filled_by_someone_else(database, moved)

    with database.transaction() as uow:
        results = uow.trades.apply_orders(
            [
                (outdated, order_payload(moved.client_order_id, updated_at=at(1))),
                (kept, order_payload(kept.client_order_id, id="order-2", updated_at=at(1))),
                (kept, order_payload(kept.client_order_id, id="order-2", updated_at=at(1))),
            ]
        )

    _first, second, _repeated = results
    assert [getattr(r, "ignored", r) for r in results] == ["terminal", None, "unchanged"]
    assert isinstance(second, ApplyResult)
    assert second.changed
    assert _reload(database, moved).status is TradeStatus.FILLED
    assert _reload(database, kept).version == 2


def test_a_batch_refuses_an_autocommit_unit_of_work(postgres_database: Database) -> None:
    trade = _intent(postgres_database)

    with (
        pytest.raises(RuntimeError, match="apply_orders needs a transaction"),
        postgres_database.autocommit() as uow,
    ):
        uow.trades.apply_orders([(trade, order_payload(trade.client_order_id))])

    assert _reload(postgres_database, trade).status is TradeStatus.NEW


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"filled_qty": "NaN"}, "filled_qty"),
        ({"filled_qty": "Infinity"}, "filled_qty"),
        ({"filled_qty": "-1"}, "filled_qty"),
        ({"filled_qty": "1.0000000001"}, "filled_qty"),
        ({"filled_avg_price": "-0.01"}, "filled_avg_price"),
        ({"notional": "1000.001"}, "notional"),
        ({"notional": "100000000000000000"}, "notional"),
        ({"updated_at": "yesterday"}, "updated_at"),
    ],
)
def test_bad_numbers_in_an_order_are_refused_naming_the_field(
    database: Database, fields: dict[str, Any], field: str
) -> None:
    trade = _intent(database)

    with pytest.raises(InvalidValueError) as raised:
        _apply(database, trade, order_payload(trade.client_order_id, **fields))

    assert raised.value.field == field
    assert _reload(database, trade).status is TradeStatus.NEW


def test_parsed_orders_are_accepted_as_well_as_payloads(database: Database) -> None:
    trade = _intent(database)

    _apply(
        database,
        trade,
        AlpacaOrder.from_api(order_payload(trade.client_order_id, status="filled", filled_qty="1")),  # type: ignore[arg-type]
    )

    assert _reload(database, trade).status is TradeStatus.FILLED


# -- failing and skipping ----------------------------------------------------------------------


def test_failed_and_skipped_trades_keep_their_reason(database: Database) -> None:
    failed, skipped = _intent(database), _intent(database, symbol="MSFT")

    with database.transaction() as uow:
        changed_failed = uow.trades.mark_failed(
            uow.trades.get(failed.id),
            "  insufficient buying power  ",  # type: ignore[arg-type]
        )
        changed_skipped = uow.trades.mark_skipped(
            uow.trades.get(skipped.id),
            "PER_TICKER_DAILY_MAX reached",  # type: ignore[arg-type]
        )

    stored_failed, stored_skipped = _reload(database, failed), _reload(database, skipped)
    assert changed_failed
    assert changed_skipped
    assert stored_failed.status is TradeStatus.FAILED
    assert stored_failed.status_reason == "insufficient buying power"
    assert stored_failed.failed_at is not None
    assert stored_skipped.status is TradeStatus.SKIPPED
    assert stored_skipped.status_reason == "PER_TICKER_DAILY_MAX reached"


def test_marking_a_terminal_trade_changes_nothing(database: Database) -> None:
    trade = _intent(database)
    with database.transaction() as uow:
        uow.trades.mark_skipped(uow.trades.get(trade.id), "first")  # type: ignore[arg-type]

    with database.transaction() as uow:
        changed = uow.trades.mark_failed(uow.trades.get(trade.id), "second")  # type: ignore[arg-type]

    stored = _reload(database, trade)
    assert changed is False
    assert stored.status is TradeStatus.SKIPPED
    assert stored.status_reason == "first"


def test_a_trade_with_a_broker_order_cannot_be_marked_failed(database: Database) -> None:
    trade = _intent(database)
    _apply(database, trade, order_payload(trade.client_order_id))

    with database.transaction() as uow, pytest.raises(InvalidValueError, match="broker order"):
        uow.trades.mark_failed(uow.trades.get(trade.id), "oops")  # type: ignore[arg-type]


def test_a_reason_is_required(database: Database) -> None:
    trade = _intent(database)

    with database.transaction() as uow, pytest.raises(InvalidValueError) as raised:
        uow.trades.mark_skipped(uow.trades.get(trade.id), "   ")  # type: ignore[arg-type]

    assert raised.value.field == "reason"


# -- listing ---------------------------------------------------------------------------------


def _trades_at(database: Database, *specs: tuple[str, datetime]) -> list[Trade]:
    made = []
    with database.transaction() as uow:
        for symbol, moment in specs:
            made.append(
                uow.trades.record_intent(source_hash=source_hash(), symbol=symbol, now=moment).trade
            )
    return made


def test_open_trades_are_listed_oldest_first(database: Database) -> None:
    base = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    _new, accepted, done = _trades_at(
        database,
        ("AAPL", base + timedelta(minutes=2)),
        ("MSFT", base),
        ("NVDA", base + timedelta(minutes=1)),
    )
    _apply(database, accepted, order_payload(accepted.client_order_id, id="o-1"))
    _apply(database, done, order_payload(done.client_order_id, id="o-2", status="filled"))

    with database.transaction(readonly=True) as uow:
        open_trades = [trade.symbol for trade in uow.trades.list_open()]

    assert open_trades == ["MSFT", "AAPL"]


def test_trades_are_counted_in_a_window_overall_and_per_symbol(database: Database) -> None:
    open_at = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    made = _trades_at(
        database,
        ("AAPL", open_at),
        ("AAPL", open_at + timedelta(minutes=1)),
        ("MSFT", open_at + timedelta(minutes=2)),
        ("MSFT", open_at - timedelta(days=1)),
        ("NVDA", open_at + timedelta(minutes=3)),
    )
    with database.transaction() as uow:
        uow.trades.mark_skipped(uow.trades.get(made[4].id), "cap")  # type: ignore[arg-type]
    start, end = open_at, open_at + timedelta(hours=8)

    with database.transaction(readonly=True) as uow:
        overall = uow.trades.count_created(start, end)
        aapl = uow.trades.count_created(start, end, symbol="aapl")
        with_skipped = uow.trades.count_created(start, end, exclude=())
        per_symbol = uow.trades.count_created_by_symbol(start, end)

    assert overall == 3
    assert aapl == 2
    assert with_skipped == 4
    assert per_symbol == {"AAPL": 2, "MSFT": 1}


def _symbols(page: Any) -> list[str]:
    return [trade.symbol for trade in page.items]


def test_pages_run_newest_first_forward_and_back(database: Database) -> None:
    base = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    _trades_at(database, *[(f"S{n}", base + timedelta(minutes=n)) for n in range(7)])

    with database.transaction(readonly=True) as uow:
        first = uow.trades.page(limit=3)
        second = uow.trades.page(limit=3, cursor=first.next_cursor)
        third = uow.trades.page(limit=3, cursor=second.next_cursor)
        back = uow.trades.page(limit=3, cursor=third.prev_cursor)
        back_to_first = uow.trades.page(limit=3, cursor=back.prev_cursor)

    assert _symbols(first) == ["S6", "S5", "S4"]
    assert first.prev_cursor is None
    assert _symbols(second) == ["S3", "S2", "S1"]
    assert _symbols(third) == ["S0"]
    assert third.next_cursor is None
    assert _symbols(back) == ["S3", "S2", "S1"]
    assert _symbols(back_to_first) == ["S6", "S5", "S4"]
    assert back_to_first.prev_cursor is None


def test_pages_break_ties_on_the_same_instant_without_losing_rows(database: Database) -> None:
    moment = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    made = _trades_at(database, *[(f"T{n}", moment) for n in range(5)])

    seen: list[str] = []
    with database.transaction(readonly=True) as uow:
        cursor = None
        while True:
            page = uow.trades.page(limit=2, cursor=cursor)
            seen.extend(_symbols(page))
            cursor = page.next_cursor
            if cursor is None:
                break

    assert sorted(seen) == sorted(trade.symbol for trade in made)
    assert len(seen) == 5


def test_pages_filter_by_symbol_status_and_created_range(database: Database) -> None:
    base = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    made = _trades_at(
        database,
        ("AAPL", base),
        ("AAPL", base + timedelta(days=1)),
        ("MSFT", base + timedelta(days=1)),
        ("AAPL", base + timedelta(days=2)),
    )
    _apply(database, made[1], order_payload(made[1].client_order_id, status="filled"))

    with database.transaction(readonly=True) as uow:
        aapl = uow.trades.page(symbol="aapl")
        filled = uow.trades.page(status=TradeStatus.FILLED)
        day_two = uow.trades.page(
            created_from=base + timedelta(days=1), created_to=base + timedelta(days=2)
        )
        nothing = uow.trades.page(symbol="TSLA")

    assert [t.id for t in aapl.items] == [made[3].id, made[1].id, made[0].id]
    assert [t.id for t in filled.items] == [made[1].id]
    assert {t.id for t in day_two.items} == {made[1].id, made[2].id}
    assert nothing.items == []
    assert nothing.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "W251bGwsInh5eiIsIm5leHQiXQ"])
def test_a_tampered_cursor_is_refused(database: Database, cursor: str) -> None:
    with database.transaction(readonly=True) as uow, pytest.raises(InvalidCursorError):
        uow.trades.page(cursor=cursor)


def test_page_size_is_bounded(database: Database) -> None:
    with database.transaction(readonly=True) as uow, pytest.raises(InvalidValueError) as raised:
        uow.trades.page(limit=0)

    assert raised.value.field == "limit"


def test_counts_are_exact_below_the_cap_and_a_lower_bound_above(database: Database) -> None:
    base = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    _trades_at(database, *[("AAPL", base + timedelta(seconds=n)) for n in range(12)])

    with database.transaction(readonly=True) as uow:
        exact = uow.trades.count(symbol="AAPL")
        capped = uow.trades.count(cap=10)
        none = uow.trades.count(symbol="MSFT")

    assert (exact.value, exact.exact, str(exact)) == (12, True, "12")
    assert (capped.value, capped.exact, str(capped)) == (10, False, "10+")
    assert (none.value, none.exact) == (0, True)
