"""Daily bars and the paged disclosure history through the clients, against the sandbox over
real HTTP; the rate-limit pacer on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.sandbox_support import FAST_RETRY, FakeClock
from trading_automation.clients import AlpacaClient, QuiverClient, RateLimitedError
from trading_automation.clients.bars import RateLimit, bars_params
from trading_automation.clients.errors import UnexpectedResponseError
from trading_automation.clients.pacing import RequestPacer
from trading_automation.config import load_settings
from trading_automation.errors import InvalidValueError
from trading_automation.sandbox import Fault, Sandbox, SyntheticDisclosures

JUNE_3, JUNE_14 = date(2024, 6, 3), date(2024, 6, 14)


def test_bars_come_back_exact_by_symbol_and_day(sandbox: Sandbox, alpaca: AlpacaClient) -> None:
    page = alpaca.bars(["msft", "AAPL"], start=JUNE_3, end=JUNE_14)

    [request] = sandbox.alpaca_data.requests()
    assert request.query["symbols"] == "AAPL,MSFT"
    assert (request.query["timeframe"], request.query["adjustment"]) == ("1Day", "all")
    assert request.query["feed"] == "iex"
    assert sorted(page.bars) == ["AAPL", "MSFT"]
    first = page.bars["AAPL"][0]
    assert first.timestamp == datetime(2024, 6, 3, 4, 0, tzinfo=UTC)
    assert isinstance(first.close, Decimal)
    assert first.close == first.close.quantize(Decimal("0.0001"))
    assert len(page.bars["AAPL"]) == 10
    assert page.next_page_token is None
    assert page.rate_limit == RateLimit(limit=200, remaining=199, reset_at=page.rate_limit.reset_at)


def test_pages_follow_the_token_without_losing_or_repeating_a_bar(alpaca: AlpacaClient) -> None:
    whole = alpaca.bars(["AAPL", "MSFT", "NVDA"], start=JUNE_3, end=JUNE_14)
    seen: list[tuple[str, datetime]] = []
    token: str | None = None
    pages = 0
    while True:
        page = alpaca.bars(
            ["AAPL", "MSFT", "NVDA"], start=JUNE_3, end=JUNE_14, limit=7, page_token=token
        )
        pages += 1
        seen += [(symbol, bar.timestamp) for symbol, bars in page.bars.items() for bar in bars]
        token = page.next_page_token
        if token is None:
            break

    expected = [(symbol, bar.timestamp) for symbol, bars in whole.bars.items() for bar in bars]
    assert seen == expected
    assert pages == -(-len(expected) // 7)


def test_the_feed_setting_reaches_the_query(sandbox: Sandbox) -> None:
    settings = sandbox.settings(alpaca_data_feed="SIP")
    with AlpacaClient.from_settings(settings) as client:
        client.bars(["AAPL"], start=JUNE_3, end=JUNE_14)

    assert sandbox.alpaca_data.requests()[0].query["feed"] == "sip"


def test_an_unknown_feed_is_a_configuration_error() -> None:
    with pytest.raises(Exception, match="ALPACA_DATA_FEED"):
        load_settings(_env_file=None, alpaca_data_feed="nasdaq")


def test_a_symbol_without_bars_is_absent_and_a_delisted_one_stops(alpaca: AlpacaClient) -> None:
    page = alpaca.bars(["ZZZZ", "TWTR"], start=date(2022, 10, 20), end=date(2022, 11, 10))

    assert list(page.bars) == ["TWTR"]
    assert page.bars["TWTR"][-1].timestamp.date() == date(2022, 10, 27)


def test_an_invalid_symbol_is_refused_by_the_data_api(alpaca: AlpacaClient) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        alpaca.bars(["BRK/B"], start=JUNE_3, end=JUNE_14)

    assert caught.value.status_code == 400
    assert "invalid symbol: BRK/B" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"symbols": []}, "symbols"),
        ({"end": date(2024, 6, 1)}, "end"),
        ({"limit": 10_001}, "limit"),
        ({"adjustment": "some"}, "adjustment"),
        ({"feed": "otc"}, "feed"),
    ],
)
def test_bad_bars_arguments_are_refused_before_sending(
    options: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {
        "symbols": ["AAPL"],
        "start": JUNE_3,
        "end": JUNE_14,
        "timeframe": "1Day",
        "adjustment": "all",
        "feed": "iex",
        "limit": 100,
        "page_token": None,
    }
    with pytest.raises(InvalidValueError) as caught:
        bars_params(**(arguments | options))  # type: ignore[arg-type]

    assert caught.value.field == field


def test_a_429_names_when_the_allowance_refills(fake_clock: FakeClock) -> None:
    with (
        Sandbox(monotonic=fake_clock.monotonic, wall=fake_clock.monotonic) as sandbox,
        sandbox.alpaca_client(retry=FAST_RETRY, **fake_clock.client_options()) as client,
    ):
        sandbox.bars_endpoint.window.set_limit(1)
        client.bars(["AAPL"], start=JUNE_3, end=JUNE_14)
        with pytest.raises(RateLimitedError) as caught:
            client.bars(["AAPL"], start=JUNE_3, end=JUNE_14)

    assert caught.value.status_code == 429
    assert caught.value.reset_at is not None
    assert caught.value.reset_at > fake_clock.monotonic() - 60


def test_the_pacer_waits_for_the_refill_once_the_allowance_is_used_up() -> None:
    clock = FakeClock(start=1_000.0)
    pacer = RequestPacer(sleep=clock.sleep, wall=clock.monotonic)

    pacer.before_request()
    pacer.observe(RateLimit(limit=200, remaining=3, reset_at=1_030.0))
    pacer.before_request()
    pacer.observe(RateLimit(limit=200, remaining=0, reset_at=1_030.0))
    pacer.before_request()
    pacer.before_request()

    assert clock.sleeps == [31.0]


def test_the_pacer_waits_after_a_429_until_its_reset_or_a_minute() -> None:
    clock = FakeClock(start=1_000.0)
    pacer = RequestPacer(sleep=clock.sleep, wall=clock.monotonic)
    named = RateLimitedError("rate limited", service="alpaca-data", method="GET", path="/x")
    named.reset_at = 1_010.0
    unnamed = RateLimitedError("rate limited", service="alpaca-data", method="GET", path="/x")
    absurd = RateLimitedError("rate limited", service="alpaca-data", method="GET", path="/x")
    absurd.reset_at = 10_000_000.0

    pacer.after_rate_limited(named)
    pacer.after_rate_limited(unnamed)
    pacer.after_rate_limited(absurd)

    assert clock.sleeps == [11.0, 60.0, 120.0]


def test_quiver_history_pages_come_newest_first_and_tile_the_history(
    quiver_history: Sandbox,
) -> None:
    with quiver_history.quiver_client(retry=FAST_RETRY) as client:
        first, second = client.congress_trading_page(1, 30), client.congress_trading_page(2, 30)
        both = client.congress_trading_page(1, 60)
        past_the_end = client.congress_trading_page(10_000, 30)

    assert first + second == both
    assert len(first) == 30
    assert past_the_end == []
    assert first[0]["Quiver_Upload_Time"] >= first[-1]["Quiver_Upload_Time"]
    requested = quiver_history.quiver.requests()[0]
    assert requested.query == {"page": "1", "page_size": "30"}


def test_a_bad_page_is_refused_before_sending(quiver: QuiverClient) -> None:
    with pytest.raises(InvalidValueError):
        quiver.congress_trading_page(0, 10)
    with pytest.raises(InvalidValueError):
        quiver.congress_trading_page(1, 0)


def test_an_unreadable_history_page_names_the_page(sandbox: Sandbox, quiver: QuiverClient) -> None:
    sandbox.quiver.faults.add(Fault.malformed('{"detail": "busy"}'))

    with pytest.raises(UnexpectedResponseError, match="history page 3 is unreadable"):
        quiver.congress_trading_page(3, 10)


@pytest.fixture
def quiver_history() -> Iterator[Sandbox]:
    history = SyntheticDisclosures(start=date(2024, 5, 1), end=date(2024, 6, 20), per_day=8)
    with Sandbox(history=history) as running:
        yield running


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[]", "expected a JSON object of bars, got list"),
        ('{"bars": {"AAPL": [{"t": "yesterday"}]}}', "unreadable bars: bars.AAPL.0"),
    ],
)
def test_an_unreadable_bars_page_is_an_unexpected_response(
    sandbox: Sandbox, alpaca: AlpacaClient, body: str, problem: str
) -> None:
    sandbox.alpaca_data.faults.add(Fault.malformed(body, path="/v2/stocks/bars"))

    with pytest.raises(UnexpectedResponseError, match=problem):
        alpaca.bars(["AAPL"], start=JUNE_3, end=JUNE_14)
