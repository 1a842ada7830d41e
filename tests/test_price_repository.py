"""Daily bars, per-symbol coverage and history-fetch progress, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from trading_automation.db import Database, PriceBar
from trading_automation.domain.bars import PriceBarRow, bar_price, bar_volume
from trading_automation.errors import InvalidValueError

T0 = datetime(2024, 6, 20, 22, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def row(symbol: str, day: date, close: str = "10.5", **values: object) -> PriceBarRow:
    fields: dict[str, object] = {
        "open": Decimal("10"),
        "high": Decimal("11.25"),
        "low": Decimal("9.875"),
        "close": Decimal(close),
        "volume": 1_000,
        "adjustment": "all",
    }
    fields.update(values)
    return PriceBarRow(symbol, day, **fields)  # type: ignore[arg-type]


def week(symbol: str, close: str = "10.5") -> list[PriceBarRow]:
    return [row(symbol, date(2024, 6, day), close) for day in (10, 11, 12, 13, 14)]


def _all(database: Database) -> list[PriceBar]:
    with database.transaction(readonly=True) as uow:
        return list(uow.session.query(PriceBar).order_by(PriceBar.symbol, PriceBar.day))


def test_bars_are_stored_once_and_a_second_store_rewrites_nothing(database: Database) -> None:
    with database.transaction() as uow:
        first = uow.prices.store([*week("AAPL"), *week("MSFT")], fetched_at=T0)
    with database.transaction() as uow:
        again = uow.prices.store([*week("AAPL"), *week("MSFT")], fetched_at=T1)

    stored = _all(database)
    assert (first.received, first.new, first.corrected, first.unchanged) == (10, 10, 0, 0)
    assert (again.received, again.new, again.corrected, again.unchanged) == (10, 0, 0, 10)
    assert len(stored) == 10
    assert {bar.fetched_at for bar in stored} == {T0}, "nothing was rewritten"


def test_a_corrected_bar_replaces_the_stored_one_and_is_counted_per_symbol(
    database: Database,
) -> None:
    with database.transaction() as uow:
        uow.prices.store([*week("AAPL"), *week("MSFT")], fetched_at=T0)
    adjusted = [*week("AAPL", close="5.25")[:3], *week("AAPL")[3:], *week("MSFT")]
    with database.transaction() as uow:
        result = uow.prices.store([*adjusted, row("AAPL", date(2024, 6, 17))], fetched_at=T1)

    stored = {(bar.symbol, bar.day): bar for bar in _all(database)}
    assert (result.new, result.corrected, result.unchanged) == (1, 3, 7)
    assert set(result.corrections) == {"AAPL"}
    correction = result.corrections["AAPL"]
    assert (correction.count, correction.first, correction.last) == (
        3,
        date(2024, 6, 10),
        date(2024, 6, 12),
    )
    assert stored[("AAPL", date(2024, 6, 10))].close == Decimal("5.25")
    assert stored[("AAPL", date(2024, 6, 10))].fetched_at == T1
    assert stored[("AAPL", date(2024, 6, 13))].fetched_at == T0
    assert stored[("MSFT", date(2024, 6, 10))].fetched_at == T0


def test_a_change_of_volume_or_adjustment_alone_is_a_correction(database: Database) -> None:
    with database.transaction() as uow:
        uow.prices.store(
            [row("AAPL", date(2024, 6, 10)), row("MSFT", date(2024, 6, 10))], fetched_at=T0
        )
    with database.transaction() as uow:
        result = uow.prices.store(
            [
                row("AAPL", date(2024, 6, 10), volume=999),
                row("MSFT", date(2024, 6, 10), adjustment="raw"),
            ],
            fetched_at=T1,
        )

    assert result.corrected == 2


def test_a_page_of_new_days_goes_straight_in_and_falls_back_when_a_bar_exists(
    database: Database,
) -> None:
    with database.transaction() as uow:
        fresh = uow.prices.store(week("AAPL"), fetched_at=T0, expect_new=True)
    # A run killed before recording its range left two of these bars behind, one since adjusted.
    with database.transaction() as uow:
        uow.prices.store(
            [row("MSFT", date(2024, 6, 10)), row("MSFT", date(2024, 6, 11), "99")], fetched_at=T0
        )
    with database.transaction() as uow:
        again = uow.prices.store(week("MSFT"), fetched_at=T1, expect_new=True)

    stored = {(bar.symbol, bar.day): bar for bar in _all(database)}
    assert (fresh.new, fresh.corrected) == (5, 0)
    assert (again.new, again.corrected, again.unchanged) == (3, 1, 1)
    assert stored[("MSFT", date(2024, 6, 11))].close == Decimal("10.5")
    assert stored[("MSFT", date(2024, 6, 10))].fetched_at == T0
    assert len(stored) == 10


def test_prices_keep_nine_decimal_places_exactly(database: Database) -> None:
    price = Decimal("123456789.123456789")
    with database.transaction() as uow:
        uow.prices.store(
            [row("BRK.A", date(2024, 6, 10), close=str(price), high=price)], fetched_at=T0
        )
    with database.transaction(readonly=True) as uow:
        [bar] = uow.prices.bars("brk.a")

    assert (bar.close, bar.high) == (price, price)


def test_one_transaction_can_store_many_pages(database: Database) -> None:
    with database.transaction() as uow:
        first = uow.prices.store(week("AAPL"), fetched_at=T0)
        second = uow.prices.store(week("MSFT"), fetched_at=T0)
        repeat = uow.prices.store(week("AAPL"), fetched_at=T0)

    assert (first.new, second.new, repeat.new, repeat.unchanged) == (5, 5, 0, 5)
    assert len(_all(database)) == 10


def test_the_same_bar_twice_in_a_page_is_stored_once(database: Database) -> None:
    with database.transaction() as uow:
        result = uow.prices.store(
            [row("AAPL", date(2024, 6, 10), "1"), row("AAPL", date(2024, 6, 10), "2")],
            fetched_at=T0,
        )

    assert (result.received, result.new) == (1, 1)
    assert [bar.close for bar in _all(database)] == [Decimal(2)]


def test_bar_values_are_fitted_to_the_column_once_at_the_boundary() -> None:
    assert bar_price("12.345000000000001", "close") == Decimal("12.345000000")
    assert bar_price(Decimal("0.0000000005"), "close") == Decimal("0E-9")
    assert bar_volume(Decimal("1234.5")) == 1234
    with pytest.raises(InvalidValueError):
        bar_price("-1", "close")
    with pytest.raises(InvalidValueError):
        bar_price("1e12", "close")


def test_coverage_grows_and_never_shrinks(database: Database) -> None:
    with database.transaction() as uow:
        uow.price_symbols.cover(
            ["AAPL", "MSFT"],
            start=date(2024, 6, 3),
            end=date(2024, 6, 14),
            last_bars={"AAPL": date(2024, 6, 14)},
            now=T0,
        )
        uow.price_symbols.cover(
            ["AAPL"], start=date(2024, 6, 10), end=date(2024, 6, 20), last_bars={}, now=T1
        )
        uow.price_symbols.cover(
            ["MSFT"], start=date(2024, 5, 1), end=date(2024, 6, 5), last_bars={}, now=T1
        )
    with database.transaction(readonly=True) as uow:
        states = uow.price_symbols.states(["AAPL", "MSFT", "NVDA"])

    aapl, msft, nvda = states["AAPL"], states["MSFT"], states["NVDA"]
    assert (aapl.covered_from, aapl.covered_to, aapl.last_bar_day) == (
        date(2024, 6, 3),
        date(2024, 6, 20),
        date(2024, 6, 14),
    )
    assert (msft.covered_from, msft.covered_to, msft.last_bar_day) == (
        date(2024, 5, 1),
        date(2024, 6, 14),
        None,
    )
    assert (nvda.covered_from, nvda.unknown) == (None, False)


def test_stale_days_and_unknown_symbols_are_recorded_and_cleared(database: Database) -> None:
    with database.transaction() as uow:
        uow.price_symbols.mark_stale("AAPL", before=date(2024, 6, 14), now=T0)
        uow.price_symbols.mark_stale("AAPL", before=date(2024, 6, 10), now=T0)
        uow.price_symbols.mark_unknown("ZZZZ", reason="no bars", now=T0)
    with database.transaction(readonly=True) as uow:
        stale = uow.price_symbols.states(["AAPL"])["AAPL"].stale_before
        unknown = [state.symbol for state in uow.price_symbols.unknown()]
    with database.transaction() as uow:
        uow.price_symbols.clear_stale(["AAPL"], fetched_before=date(2024, 6, 12), now=T1)
        kept = uow.price_symbols.states(["AAPL"])["AAPL"].stale_before
        uow.price_symbols.clear_stale(["AAPL"], fetched_before=date(2024, 6, 14), now=T1)
        cleared = uow.price_symbols.states(["AAPL"])["AAPL"].stale_before
        forgotten = uow.price_symbols.forget_unknown(["ZZZZ", "AAPL"], now=T1)

    assert stale == date(2024, 6, 14), "the later day wins"
    assert unknown == ["ZZZZ"]
    assert kept == date(2024, 6, 14), "a correction past what was fetched stays to do"
    assert cleared is None
    assert forgotten == 1


def test_a_history_fetch_is_found_again_advanced_once_per_page_and_restarted(
    database: Database,
) -> None:
    options = {"from_date": date(2020, 1, 1), "to_date": None, "page_size": 500}
    with database.transaction() as uow:
        fetch = uow.history_fetches.start(**options, now=T0)
        advanced = uow.history_fetches.advance(
            fetch.id, page=1, received=500, stored=480, complete=False, now=T0
        )
        stale = uow.history_fetches.advance(
            fetch.id, page=1, received=500, stored=0, complete=False, now=T0
        )
    with database.transaction() as uow:
        again = uow.history_fetches.start(**options, now=T1)
        resumed = (again.id, again.next_page, again.pages, again.records_stored)
        uow.history_fetches.advance(again.id, page=2, received=3, stored=3, complete=True, now=T1)
    with database.transaction() as uow:
        done = uow.history_fetches.start(**options, now=T1)
        finished = (done.next_page, done.completed_at, done.records_received)
        uow.history_fetches.restart(done.id, now=T1)
        restarted = uow.history_fetches.start(**options, now=T1)

    assert (advanced, stale) == (True, False)
    assert resumed == (fetch.id, 2, 1, 480)
    assert finished == (3, T1, 503)
    assert (restarted.next_page, restarted.completed_at) == (1, None)
