"""How figures read: money and signs decided after rounding, quantities, durations, and stored
documents sent with exact numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from trading_automation.clients import Account, Position
from trading_automation.db.database import Database
from trading_automation.domain.enums import FeedTransaction, Party
from trading_automation.domain.jsonvalues import loads
from trading_automation.web import charts, formatting
from trading_automation.web.jsonout import document_text, dumps, jsonable
from trading_automation.web.queries import FilingListing, FilingRecord


@pytest.mark.parametrize(
    ("value", "usd", "signed", "tone"),
    [
        (Decimal("-0.004"), "$0.00", "$0.00", "flat"),
        (Decimal("0.004"), "$0.00", "$0.00", "flat"),
        (Decimal("-0.005"), "-$0.01", "-$0.01", "loss"),
        (Decimal("0.005"), "$0.01", "+$0.01", "gain"),
        (Decimal("1234.5"), "$1,234.50", "+$1,234.50", "gain"),
        (Decimal(0), "$0.00", "$0.00", "flat"),
    ],
)
def test_money_is_rounded_half_up_and_its_sign_and_colour_follow_the_rounded_figure(
    value: Decimal, usd: str, signed: str, tone: str
) -> None:
    assert formatting.usd(value) == usd
    assert formatting.signed_usd(value) == signed
    assert formatting.tone(value) == tone


@pytest.mark.parametrize(
    ("value", "shown", "tone"),
    [
        (Decimal("-0.004"), "0.00%", "flat"),
        (Decimal("0.001"), "0.00%", "flat"),
        (Decimal("-0.005"), "-0.01%", "loss"),
        (Decimal("12.345"), "+12.35%", "gain"),
        (Decimal("-1234.5"), "-1,234.50%", "loss"),
    ],
)
def test_percentages_are_signed_after_rounding(value: Decimal, shown: str, tone: str) -> None:
    assert formatting.pct(value) == shown
    assert formatting.tone(value) == tone


def test_quantities_keep_their_sign_and_digits() -> None:
    assert formatting.number(Decimal("-0.5")) == "-0.5"
    assert formatting.number(Decimal("-1234.500000000")) == "-1,234.5"
    assert formatting.number(Decimal("9.000000000")) == "9"
    assert formatting.number(None) == "—"
    assert formatting.price(Decimal("0.0001")) == "$0.0001"
    assert formatting.price(Decimal("182.810000000")) == "$182.81"
    assert formatting.usd(None, "unavailable") == "unavailable"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        ("0.027644", "28 ms"),
        ("0.0004", "0 ms"),
        ("0.9994", "999 ms"),
        ("0.9996", "1.0 s"),
        ("1.44", "1.4 s"),
        ("59.94", "59.9 s"),
        ("59.96", "1 min 0 s"),
        ("125.2", "2 min 5 s"),
        ("3599.6", "1 h 0 min"),
        ("3725", "1 h 2 min"),
    ],
)
def test_durations_read_in_the_unit_that_fits(seconds: str, shown: str) -> None:
    assert formatting.duration(Decimal(seconds)) == shown


def test_the_pnl_chart_shows_a_figure_that_rounds_to_zero_as_flat() -> None:
    svg = str(charts.pnl_by_position([("AAPL", Decimal("-0.004")), ("MSFT", Decimal("0.004"))]))

    assert "<title>AAPL: $0.00</title>" in svg
    assert "<title>MSFT: $0.00</title>" in svg
    assert 'class="bar flat"' in svg
    assert "gain" not in svg
    assert "loss" not in svg
    assert "-0.00" not in svg


def _position(symbol: str, qty: str, unrealized: str, current: str) -> Position:
    return Position.model_validate(
        {
            "symbol": symbol,
            "qty": qty,
            "avg_entry_price": "1000",
            "current_price": current,
            "market_value": str(Decimal(qty) * Decimal(current)),
            "cost_basis": str(Decimal(qty) * 1000),
            "unrealized_pl": unrealized,
        }
    )


def test_pages_show_negative_fractions_and_no_signed_zero(
    database: Database, serve_dashboard: Any
) -> None:
    account = Account.model_validate({"id": "acct", "equity": "100000", "cash": "5"})
    positions = [
        _position("SHRT", "-0.5", "-0.0004", "1000.0008"),
        _position("FLAT", "2", "0.0004", "1000.0002"),
    ]

    with serve_dashboard(broker_fetch=lambda: (account, positions)) as served:
        page = served.get("/positions").text
        overview = served.get("/overview").text

    assert ">-0.5<" in page
    for text in (page, overview):
        assert "$-0.00" not in text
        assert "+$0.00" not in text
        assert "-0.00%" not in text
    assert 'class="num flat">$0.00<' in page
    assert 'class="num gain"' not in page
    assert 'class="num loss"' not in page


def _filing(raw: Any) -> FilingRecord:
    return FilingRecord(
        id=uuid.UUID(int=7),
        filing_date=date(2024, 6, 18),
        trade_date=date(2024, 6, 14),
        member="Jane Doe",
        party=Party.DEMOCRAT,
        ticker="AAPL",
        transaction=FeedTransaction.BUY,
        problems=None,
        traded=True,
        ingested_at=datetime(2024, 6, 18, 13, 0, tzinfo=UTC),
        raw=raw,
    )


def test_a_stored_record_is_sent_with_its_numbers_as_exact_json_numbers() -> None:
    raw = {"Amount": Decimal("123456789.123456789"), "Shares": 15, "Big": Decimal("1E+400")}
    listing = FilingListing([_filing(raw)], next_cursor=None, prev_cursor=None)

    text = dumps(jsonable({"filings": listing.filings}))

    assert '"Amount":123456789.123456789' in text
    assert '"Big":1E+400' in text
    parsed = loads(text)["filings"][0]
    assert parsed["raw"] == raw
    assert parsed["id"] == str(uuid.UUID(int=7))
    assert parsed["ingested_at"] == "2024-06-18T13:00:00+00:00"


def test_figures_the_dashboard_computes_stay_strings() -> None:
    assert dumps(jsonable({"cost": Decimal("1000.00"), "n": 3})) == '{"cost":"1000.00","n":3}'


def test_a_stored_record_reads_on_the_filings_page_with_its_numbers_exact() -> None:
    from trading_automation.web.dashboard import _environment

    raw = {"Amount": Decimal("123456789.123456789"), "Comments": "<b>&</b>"}
    html = (
        _environment()
        .get_template("filings.html")
        .render(
            active="filings",
            pages=(),
            broker=None,
            version="test",
            listing=FilingListing([_filing(raw)], None, None),
            filters={},
            prev_url=None,
            next_url=None,
            api_url="/api/filings",
        )
    )

    assert document_text(raw) == '{"Amount": 123456789.123456789, "Comments": "<b>&</b>"}'
    assert "{&#34;Amount&#34;: 123456789.123456789, " in html
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in html


def test_values_that_are_not_json_numbers_are_sent_as_text() -> None:
    text = dumps(jsonable({"raw": [Decimal("NaN"), float("inf"), 1.5, None, True, "é"]}))

    assert text == '{"raw":["NaN","Infinity",1.5,null,true,"é"]}'
