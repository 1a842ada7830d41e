"""The shipped fixtures: shaped like the real APIs, parsed by the production parsers, and covering
the odd cases the ingest and the worker must handle."""

from __future__ import annotations

from collections import Counter
from datetime import date, time
from decimal import Decimal

import httpx
import pytest

from trading_automation import fixtures
from trading_automation.clients.errors import InsufficientQuantityError, error_from_response
from trading_automation.clients.models import (
    Account,
    Asset,
    CalendarDay,
    Clock,
    LatestTrade,
    Position,
)
from trading_automation.domain.enums import TradeStatus
from trading_automation.domain.filings import canonical_json
from trading_automation.domain.orders import AlpacaOrder

QUIVER_FIELDS = {
    "Ticker",
    "TickerType",
    "Company",
    "Traded",
    "Transaction",
    "Trade_Size_USD",
    "Name",
    "BioGuideID",
    "Filed",
    "Party",
    "District",
    "Chamber",
    "Description",
    "Comments",
    "Quiver_Upload_Time",
    "excess_return",
    "State",
    "last_modified",
}


def all_records() -> list[tuple[date, dict[str, object]]]:
    return [(day, record) for day in fixtures.quiver_days() for record in fixtures.quiver_day(day)]


def ticker(record: dict[str, object]) -> str:
    value = record.get("Ticker")
    return value.strip().upper() if isinstance(value, str) else ""


def test_quiver_fixtures_cover_the_juneteenth_week_one_file_per_day() -> None:
    assert fixtures.quiver_days() == list(fixtures.QUIVER_DAYS)
    assert fixtures.quiver_days()[0] == date(2024, 6, 14)
    assert fixtures.quiver_days()[-1] == fixtures.DEMO_SECOND_DAY
    assert fixtures.quiver_day(date(2024, 6, 16)) == []
    assert fixtures.quiver_day(date(2024, 6, 19)), "Quiver publishes on the market holiday"


def test_a_missing_quiver_day_is_refused_with_the_days_available() -> None:
    with pytest.raises(fixtures.FixtureNotFoundError, match="2024-06-14"):
        fixtures.quiver_day(date(2023, 1, 2))


def test_quiver_records_carry_every_documented_field_somewhere_with_some_null_or_empty() -> None:
    records = [record for _, record in all_records()]
    complete = [record for record in records if set(record) >= QUIVER_FIELDS]

    assert len(complete) >= len(records) - 3
    assert any(record.get("excess_return") is None for record in records)
    assert any(record.get("District") in (None, "") for record in records)
    assert any(record.get("Trade_Size_USD") is None for record in records)


def test_quiver_records_include_every_odd_case_the_ingest_must_handle() -> None:
    records = all_records()
    transactions = Counter(record.get("Transaction") for _, record in records)
    raw_tickers = [record.get("Ticker") for _, record in records]
    filed = [str(record.get("Filed")) for _, record in records]
    names = {str(record.get("Name")) for _, record in records}

    assert {"Purchase", "Sale", "Sale (Partial)", "Sale (Full)", "Exchange"} <= set(transactions)
    assert any("Ticker" not in record for _, record in records)
    assert "" in raw_tickers
    assert any("Name" not in record for _, record in records)
    assert any(isinstance(t, str) and t != t.upper() for t in raw_tickers)
    assert any(isinstance(t, str) and t != t.strip() for t in raw_tickers)
    assert any(len(value) == 10 for value in filed)
    assert any(value.endswith("T00:00:00") for value in filed)
    assert any(value.endswith("Z") for value in filed)
    assert "N/A" in filed
    assert any(record.get("Traded") == "2024-02-30" for _, record in records)
    assert {"Zoë Lofgren", "Nydia M. Velázquez"} <= names


def test_a_day_holds_an_exact_duplicate_and_one_ticker_bought_by_three_members() -> None:
    day = fixtures.quiver_day(date(2024, 6, 18))
    canonical = Counter(canonical_json(record) for record in day)
    amzn_buyers = {
        record["Name"]
        for record in day
        if ticker(record) == "AMZN" and record["Transaction"] == "Purchase"
    }

    assert max(canonical.values()) == 2
    assert len(amzn_buyers) == 3


def test_the_demo_window_holds_a_realistic_set_of_purchases_including_non_fractionable_ones() -> (
    None
):
    prices = fixtures.latest_trade_prices()
    distinct = {
        canonical_json(record): ticker(record)
        for day, record in all_records()
        if date(2024, 6, 18) <= day <= date(2024, 6, 20)
        and record.get("Transaction") == "Purchase"
        and ticker(record)
    }
    purchases = list(distinct.values())
    non_fractionable = fixtures.NON_FRACTIONABLE_SYMBOLS & set(purchases)

    assert 8 <= len(purchases) <= 15
    assert any(prices[symbol] > 1000 for symbol in non_fractionable)
    assert any(prices[symbol] < 1000 for symbol in non_fractionable)
    assert Decimal(1000) // prices["BRK.A"] == 0
    assert Decimal(1000) // prices["KKR"] == 9


def test_every_fixture_ticker_has_a_latest_trade_shaped_like_the_data_api() -> None:
    trades = fixtures.latest_trades()
    tickers = {ticker(record) for _, record in all_records()} - {""}

    assert tickers <= set(trades)
    for symbol, body in trades.items():
        parsed = LatestTrade.model_validate(body)
        assert parsed.symbol == symbol
        assert parsed.price == fixtures.latest_trade_prices()[symbol]
        assert set(body["trade"]) == {"t", "x", "p", "s", "c", "i", "z"}


def purchases_by(name: str, symbol: str) -> list[tuple[date, dict[str, object]]]:
    return [
        (day, record)
        for day, record in all_records()
        if record.get("Name") == name
        and ticker(record) == symbol
        and record.get("Transaction") == "Purchase"
    ]


def test_the_second_demo_day_is_the_trading_day_after_the_first() -> None:
    days = [CalendarDay.model_validate(item).date for item in fixtures.alpaca_calendar()]

    assert fixtures.DEMO_SECOND_DAY in days
    assert days[days.index(fixtures.DEMO_TRADING_DAY) + 1] == fixtures.DEMO_SECOND_DAY


def test_the_second_demo_day_sells_what_the_members_bought_before_it() -> None:
    day = fixtures.quiver_day(fixtures.DEMO_SECOND_DAY)
    sales = {
        (record["Name"], ticker(record)): record
        for record in day
        if str(record["Transaction"]).startswith("Sale")
    }
    pelosi = sales["Nancy Pelosi", "AAPL"]
    lofgren = sales["Zoë Lofgren", "AMZN"]
    scott = sales["Rick Scott", "UNH"]
    [(pelosi_day, _)] = purchases_by("Nancy Pelosi", "AAPL")
    [(lofgren_day, _)] = purchases_by("Zoë Lofgren", "AMZN")
    [(_, scott_purchase)] = purchases_by("Rick Scott", "UNH")

    assert (pelosi["Transaction"], pelosi["Traded"]) == ("Sale (Full)", "2024-06-20")
    assert pelosi_day == fixtures.DEMO_TRADING_DAY
    assert (lofgren["Transaction"], lofgren_day) == ("Sale (Partial)", date(2024, 6, 18))
    assert sales["Ro Khanna", "TSLA"]["Transaction"] == "Sale"
    assert not any(
        ticker(r) == "TSLA" and r.get("Transaction") == "Purchase" for _, r in all_records()
    )
    assert (scott["Transaction"], scott["Traded"]) == ("Sale", "2024-06-10")
    assert str(scott["Traded"]) < str(scott_purchase["Traded"]) == "2024-06-13"


def test_the_second_demo_days_one_purchase_is_by_a_new_member_of_a_known_ticker() -> None:
    day = fixtures.quiver_day(fixtures.DEMO_SECOND_DAY)
    [purchase] = [record for record in day if record["Transaction"] == "Purchase"]
    earlier = [record for d, record in all_records() if d < fixtures.DEMO_SECOND_DAY]

    assert purchase["Name"] not in {record.get("Name") for record in earlier}
    assert ticker(purchase) in {ticker(record) for record in earlier}


def test_the_second_demo_days_records_are_complete_and_published_before_the_open() -> None:
    day = fixtures.quiver_day(fixtures.DEMO_SECOND_DAY)

    assert len(day) == 5
    for record in day:
        assert set(record) == QUIVER_FIELDS
        assert record["Filed"] == record["last_modified"] == "2024-06-21"
        assert str(record["Quiver_Upload_Time"]) < "2024-06-21T13:30:00.000Z"
        assert ticker(record) in fixtures.latest_trades()


@pytest.mark.parametrize("name", fixtures.ORDER_FIXTURES)
def test_every_order_fixture_parses_with_the_project_order_parser(name: str) -> None:
    raw = fixtures.alpaca_order(name)
    order = AlpacaOrder.from_api(raw)

    assert order.raw == raw
    assert order.created_at is not None
    assert order.created_at.tzinfo is not None
    assert isinstance(raw["filled_qty"], str)
    assert raw["created_at"].endswith("Z")
    assert len(raw["created_at"].split(".")[1]) == 10, "nanoseconds and the Z"
    assert set(raw) == set(fixtures.alpaca_order("filled"))


def test_order_fixtures_span_every_status_and_map_to_trade_statuses() -> None:
    statuses = {
        name: AlpacaOrder.from_api(fixtures.alpaca_order(name)).trade_status
        for name in fixtures.ORDER_STATUSES
    }

    assert statuses == {
        "accepted": TradeStatus.ACCEPTED,
        "new": TradeStatus.ACCEPTED,
        "partially_filled": TradeStatus.PARTIALLY_FILLED,
        "filled": TradeStatus.FILLED,
        "canceled": TradeStatus.CANCELED,
        "expired": TradeStatus.EXPIRED,
        "rejected": TradeStatus.REJECTED,
    }
    filled = AlpacaOrder.from_api(fixtures.alpaca_order("filled"))
    assert filled.filled_qty == Decimal("7.375719132")
    whole = AlpacaOrder.from_api(fixtures.alpaca_order("filled_whole_shares"))
    assert (whole.qty, whole.notional, whole.filled_qty) == (Decimal(9), None, Decimal(9))


@pytest.mark.parametrize("name", fixtures.ASSET_FIXTURES)
def test_asset_fixtures_parse_into_assets(name: str) -> None:
    asset = Asset.model_validate(fixtures.alpaca_asset(name))

    assert asset.fractionable is (name == "fractionable")
    assert asset.asset_class == "us_equity"
    assert asset.tradable


def test_error_fixtures_carry_alpacas_code_and_message() -> None:
    for name in fixtures.ERROR_FIXTURES:
        body = fixtures.alpaca_error(name)
        assert isinstance(body["code"], int)
        assert body["message"]
    assert fixtures.alpaca_error("insufficient_buying_power_403")["buying_power"] == "412.37"


def test_the_insufficient_qty_fixture_is_read_as_an_insufficient_quantity_error() -> None:
    body = fixtures.alpaca_error("insufficient_qty_403")
    response = httpx.Response(403, json=body, request=httpx.Request("POST", "http://x/v2/orders"))

    error = error_from_response(response, service="alpaca", method="POST", path="/v2/orders")

    assert isinstance(error, InsufficientQuantityError)
    assert (error.requested_qty, error.available_qty) == (Decimal(10), Decimal(body["available"]))
    assert body["existing_qty"] == body["available"]
    assert body["held_for_orders"] == "0"


def test_calendar_fixture_skips_the_holidays_and_has_a_half_day() -> None:
    days = [CalendarDay.model_validate(item) for item in fixtures.alpaca_calendar()]
    by_date = {day.date: day for day in days}

    assert date(2024, 6, 19) not in by_date
    assert date(2024, 7, 4) not in by_date
    assert by_date[date(2024, 6, 18)].close == time(16, 0)
    assert by_date[date(2024, 7, 3)].close == time(13, 0)
    assert by_date[date(2024, 7, 3)].is_early_close
    assert by_date[date(2024, 6, 18)].settlement_date == date(2024, 6, 20)
    assert min(by_date) == date(2024, 6, 14)
    assert max(by_date) == date(2024, 7, 5)


def test_clock_account_and_position_fixtures_parse_into_typed_objects() -> None:
    open_clock = Clock.model_validate(fixtures.alpaca_clock("open"))
    closed_clock = Clock.model_validate(fixtures.alpaca_clock("closed"))
    account = Account.model_validate(fixtures.alpaca_account())
    positions = [Position.model_validate(item) for item in fixtures.alpaca_positions()]

    assert open_clock.is_open is True
    assert closed_clock.is_open is False
    assert account.cash is not None
    assert account.equity == account.cash + sum(p.market_value or 0 for p in positions)
    assert {p.symbol for p in positions} == {"NVDA", "KKR", "AMZN"}


def test_unknown_fixture_names_are_refused_naming_the_choices() -> None:
    with pytest.raises(fixtures.FixtureNotFoundError, match="filled_whole_shares"):
        fixtures.alpaca_order("pending")
