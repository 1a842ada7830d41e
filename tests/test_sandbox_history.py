"""The sandbox's synthetic history: deterministic disclosures and bars, whatever is asked for."""

from __future__ import annotations

from datetime import date, timedelta

from trading_automation.domain.filings import normalize_record, parse_quiver_date
from trading_automation.sandbox import (
    MarketCalendar,
    Sandbox,
    SandboxControl,
    SyntheticBars,
    SyntheticDisclosures,
)
from trading_automation.sandbox.history_disclosures import TICKERS

TODAY = date(2024, 6, 20)


def _closes(bars: SyntheticBars, symbol: str, start: date, end: date, **options: object) -> dict:
    adjustment = str(options.get("adjustment", "all"))
    today = options.get("today", TODAY)
    assert isinstance(today, date)
    return {
        bar.day: bar.close
        for bar in bars.bars(symbol, start, end, adjustment=adjustment, today=today)
    }


def test_a_symbols_bars_are_the_same_whatever_range_they_are_asked_in() -> None:
    wide = _closes(SyntheticBars(seed=3), "ACME", date(2019, 1, 1), date(2024, 6, 14))
    narrow = _closes(SyntheticBars(seed=3), "ACME", date(2022, 3, 1), date(2022, 3, 31))
    other_seed = _closes(SyntheticBars(seed=4), "ACME", date(2022, 3, 1), date(2022, 3, 31))

    assert narrow == {
        day: close for day, close in wide.items() if day.year == 2022 and day.month == 3
    }
    assert narrow != other_seed
    assert len(wide) > 1300


def test_bars_fall_on_trading_days_with_a_few_missing() -> None:
    calendar = MarketCalendar()
    days = set(_closes(SyntheticBars(), "ACME", date(2015, 1, 1), date(2024, 6, 14)))
    trading = set(calendar.trading_days(date(2015, 1, 1), date(2024, 6, 14)))

    assert days <= trading
    assert 0 < len(trading - days) < len(trading) // 50


def test_a_split_divides_raw_prices_from_its_day_and_every_adjusted_price_before_it() -> None:
    bars = SyntheticBars()
    raw = _closes(bars, "NVDA", date(2024, 6, 5), date(2024, 6, 12), adjustment="raw")
    adjusted = _closes(bars, "NVDA", date(2024, 6, 5), date(2024, 6, 12))

    before, after = date(2024, 6, 7), date(2024, 6, 10)
    assert abs(raw[before] / adjusted[before] - 10) < 1e-9
    assert raw[after] == adjusted[after]


def test_a_split_changes_adjusted_history_only_once_it_has_happened() -> None:
    bars = SyntheticBars()
    bars.add_split("ACME", date(2024, 6, 18), 2)
    seen_before = _closes(
        bars, "ACME", date(2024, 6, 3), date(2024, 6, 14), today=date(2024, 6, 17)
    )
    seen_after = _closes(bars, "ACME", date(2024, 6, 3), date(2024, 6, 14), today=date(2024, 6, 18))

    assert seen_before.keys() == seen_after.keys()
    assert all(abs(seen_before[day] / seen_after[day] - 2) < 1e-9 for day in seen_before)


def test_delisted_and_unknown_symbols_have_no_bars_past_their_end() -> None:
    bars = SyntheticBars()

    assert max(_closes(bars, "TWTR", date(2022, 10, 1), date(2022, 12, 31))) == date(2022, 10, 27)
    assert _closes(bars, "ZZZZ", date(2015, 1, 1), date(2024, 6, 14)) == {}
    assert not _closes(bars, "ACME", TODAY + timedelta(days=1), TODAY + timedelta(days=30))


def test_disclosures_are_a_realistic_mix_of_members_trades_and_problems() -> None:
    history = SyntheticDisclosures(start=date(2023, 1, 1), end=date(2024, 6, 20))
    records = [record for page in range(1, 4) for record in history.page(page, 3000)]
    filings = [normalize_record(record) for record in records]
    well_formed = [filing for filing in filings if not filing.malformed]

    assert {record.get("Party") for record in records} == {"D", "R", "I"}
    assert {record.get("Chamber") for record in records} == {"Senate", "Representatives"}
    assert {f.transaction.value for f in well_formed} == {"BUY", "SELL", "UNKNOWN"}
    assert 0 < len(filings) - len(well_formed) < len(filings) // 20
    assert any(record.get("Quiver_Upload_Time") is None for record in records)
    assert any(record.get("Description") == "Amendment to an earlier report" for record in records)
    lags = [
        (f.filing_date - f.trade_date).days
        for f, record in zip(filings, records, strict=True)
        if f.filing_date and f.trade_date and record.get("Description") is None
    ]
    assert min(lags) >= 1
    assert max(lags) <= 45


def test_the_records_can_name_a_larger_ticker_universe() -> None:
    universe = tuple(f"B{number:04d}" for number in range(3000))
    default = SyntheticDisclosures(start=date(2024, 5, 1), end=TODAY, per_day=30)
    wide = SyntheticDisclosures(start=date(2024, 5, 1), end=TODAY, per_day=30, tickers=universe)
    days = [date(2024, 6, 17), date(2024, 6, 18), date(2024, 6, 19)]

    named = {r["Ticker"] for day in days for r in wide.day(day)} - {None, "", "--"}
    assert named <= set(universe)
    assert len(named) > 50
    assert {r["Ticker"] for day in days for r in default.day(day)} - {None, "", "--"} <= set(
        TICKERS
    )
    assert [wide.count(day) for day in days] == [default.count(day) for day in days]


def test_a_day_of_the_history_is_what_quiver_uploaded_that_day() -> None:
    history = SyntheticDisclosures(start=date(2024, 6, 1), end=TODAY, per_day=10)
    with Sandbox(history=history) as sandbox, sandbox.quiver_client() as quiver:
        day = quiver.congress_trading(date(2024, 6, 18))
        first_page = quiver.congress_trading_page(1, 5)

    assert day == history.day(date(2024, 6, 18))
    assert {
        str(record["Quiver_Upload_Time"])[:10] for record in day if record.get("Quiver_Upload_Time")
    } == {"2024-06-18"}
    filed = {parse_quiver_date(r["Filed"]) for r in day if r.get("Filed") not in (None, "N/A")}
    assert all(date(2024, 6, 15) <= when <= date(2024, 6, 18) for when in filed if when)
    assert first_page == history.day(TODAY)[:5]


def test_splits_and_the_rate_limit_can_be_scripted_over_http() -> None:
    with Sandbox() as sandbox, sandbox.alpaca_client() as alpaca:
        control = SandboxControl(sandbox.alpaca_data.url)
        before = alpaca.bars(["ACME"], start=date(2024, 6, 3), end=date(2024, 6, 7))
        control.call("POST", "splits", {"symbol": "ACME", "day": "2024-06-25", "ratio": 3})
        future = alpaca.bars(["ACME"], start=date(2024, 6, 3), end=date(2024, 6, 7))
        control.call("POST", "splits", {"symbol": "ACME", "day": "2024-06-17", "ratio": 3})
        after = alpaca.bars(["ACME"], start=date(2024, 6, 3), end=date(2024, 6, 7))
        control.call("POST", "rate_limit", {"per_minute": 7})
        limited = alpaca.bars(["ACME"], start=date(2024, 6, 3), end=date(2024, 6, 7))

    assert future.bars == before.bars, "a split after the sandbox's today has not happened yet"
    assert [bar.volume for bar in after.bars["ACME"]] == [
        bar.volume * 3 for bar in before.bars["ACME"]
    ]
    assert limited.rate_limit is not None
    assert (limited.rate_limit.limit, limited.rate_limit.remaining) == (7, 6)
