"""`history prices` in-process on both backends: missing ranges only, judged against the trading
calendar; corrections, unknown symbols and the rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.sandbox_support import FakeClock
from trading_automation.clients.pacing import RequestPacer
from trading_automation.db import Database, PriceBar
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.history.prices import PriceFetch, PriceOptions, PriceReport
from trading_automation.sandbox import Fault, Sandbox

FROM = date(2024, 5, 1)
# The sandbox's clock: 2024-06-20 09:30 New York; 2024-06-19 is a holiday, so the last complete
# session is 2024-06-18.
LAST_SESSION = date(2024, 6, 18)
T0 = datetime(2024, 6, 20, 23, 0, tzinfo=UTC)
SYMBOLS = ("AAPL", "MSFT", "NVDA", "SPY")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock_ticks=False) as running:
        yield running


def fetch(
    database: Database,
    sandbox: Sandbox,
    *,
    pacer: RequestPacer | None = None,
    per_request: int = 100,
    **options: object,
) -> PriceReport:
    arguments = {"symbols": SYMBOLS, "from_date": FROM} | options
    with sandbox.alpaca_client() as alpaca:
        run = PriceFetch(
            database=database,
            alpaca=alpaca,
            pacer=pacer or RequestPacer(sleep=_no_sleep),
            now=lambda: T0,
            symbols_per_request=per_request,
        )
        return run.run(PriceOptions(**arguments))  # type: ignore[arg-type]


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the run waited {seconds} s without being rate limited")


def stored(database: Database) -> dict[tuple[str, date], PriceBar]:
    with database.transaction(readonly=True) as uow:
        return {(bar.symbol, bar.day): bar for bar in uow.session.query(PriceBar)}


def generated(sandbox: Sandbox, symbol: str, start: date, end: date) -> dict[date, Decimal]:
    today = sandbox.broker.now().astimezone(NEW_YORK).date()
    return {
        bar.day: Decimal(f"{bar.close:.4f}")
        for bar in sandbox.bars.bars(symbol, start, end, adjustment="all", today=today)
    }


def move_to(sandbox: Sandbox, day: date) -> None:
    sandbox.broker.set_now(datetime(day.year, day.month, day.day, 17, 0, tzinfo=NEW_YORK))


def bar_requests(sandbox: Sandbox) -> int:
    return sandbox.alpaca_data.request_count("GET", "/v2/stocks/bars")


def test_a_first_run_stores_every_bar_up_to_the_last_complete_session(
    database: Database, sandbox: Sandbox
) -> None:
    report = fetch(database, sandbox)

    bars = stored(database)
    for symbol in SYMBOLS:
        closes = generated(sandbox, symbol, FROM, LAST_SESSION)
        assert {day: bars[(symbol, day)].close for day in closes} == closes
    assert max(day for _, day in bars) == LAST_SESSION
    assert (report.new, report.corrected, report.bar_requests) == (len(bars), 0, 1)
    assert (report.first_day, report.last_day) == (date(2024, 5, 1), LAST_SESSION)
    assert {bar.adjustment for bar in bars.values()} == {"all"}
    with database.transaction(readonly=True) as uow:
        state = uow.price_symbols.states(["AAPL"])["AAPL"]
    assert (state.covered_from, state.covered_to) == (FROM, LAST_SESSION)


def test_running_again_asks_for_nothing_and_rewrites_nothing(
    database: Database, sandbox: Sandbox
) -> None:
    fetch(database, sandbox)
    before = {key: bar.fetched_at for key, bar in stored(database).items()}
    sandbox.alpaca_data.clear_requests()

    again = fetch(database, sandbox)

    assert (again.bar_requests, again.bars_received, again.new, again.corrected) == (0, 0, 0, 0)
    assert again.requests == 2, "the clock and the calendar only"
    assert bar_requests(sandbox) == 0
    assert {key: bar.fetched_at for key, bar in stored(database).items()} == before


def test_a_new_session_is_one_request_for_every_symbol_with_a_short_overlap(
    database: Database, sandbox: Sandbox
) -> None:
    fetch(database, sandbox)
    count = len(stored(database))
    move_to(sandbox, date(2024, 6, 20))

    report = fetch(database, sandbox)

    assert report.bar_requests == 1
    assert report.new == len(SYMBOLS)
    assert report.unchanged == 3 * len(SYMBOLS), "the overlap days are compared, not rewritten"
    assert report.corrected == 0
    assert len(stored(database)) == count + len(SYMBOLS)
    [tail] = [r for r in sandbox.alpaca_data.requests() if r.path == "/v2/stocks/bars"][1:]
    assert (tail.query["start"], tail.query["end"]) == ("2024-06-14", "2024-06-20")


def test_an_earlier_from_fetches_only_the_days_before_the_coverage(
    database: Database, sandbox: Sandbox
) -> None:
    fetch(database, sandbox)
    sandbox.alpaca_data.clear_requests()

    report = fetch(database, sandbox, from_date=date(2024, 4, 1))

    [head] = [r.query for r in sandbox.alpaca_data.requests() if r.path == "/v2/stocks/bars"]
    assert (head["start"], head["end"]) == ("2024-04-01", "2024-04-30")
    assert report.unchanged == 0
    april = [generated(sandbox, s, date(2024, 4, 1), date(2024, 4, 30)) for s in SYMBOLS]
    assert report.new == sum(len(closes) for closes in april)


def test_a_split_after_the_stored_bars_replaces_the_symbols_whole_history(
    database: Database, sandbox: Sandbox
) -> None:
    fetch(database, sandbox)
    sandbox.bars.add_split("MSFT", date(2024, 6, 20), 2)
    move_to(sandbox, date(2024, 6, 20))

    report = fetch(database, sandbox)

    msft = generated(sandbox, "MSFT", FROM, date(2024, 6, 20))
    bars = stored(database)
    assert {day: bars[("MSFT", day)].close for day in msft} == msft
    assert report.corrections == {"MSFT": len(msft) - 1}, "every stored MSFT bar, counted once"
    assert report.refetched == {"MSFT"}
    assert report.new == len(SYMBOLS)
    assert {bars[(s, date(2024, 5, 1))].fetched_at for s in ("AAPL", "NVDA", "SPY")} == {T0}
    with database.transaction(readonly=True) as uow:
        assert uow.price_symbols.states(["MSFT"])["MSFT"].stale_before is None


def test_unknown_delisted_and_invalid_symbols_are_recorded_and_not_asked_for_again(
    database: Database, sandbox: Sandbox
) -> None:
    symbols = ("AAPL", "ZZZZ", "TWTR", "BRK/B", "MSFT")
    first = fetch(database, sandbox, symbols=symbols, from_date=date(2022, 9, 1))
    requests = bar_requests(sandbox)
    move_to(sandbox, date(2024, 6, 20))
    second = fetch(database, sandbox, symbols=symbols, from_date=date(2022, 9, 1))

    assert set(first.newly_unknown) == {"ZZZZ", "TWTR", "BRK/B"}
    assert first.newly_unknown["TWTR"] == "no bar since 2022-10-27 (delisted or renamed?)"
    assert first.newly_unknown["BRK/B"] == "refused by the data API: invalid symbol: BRK/B"
    assert first.newly_unknown["ZZZZ"].startswith("no bars at all from 2022-09-01")
    assert ("TWTR", date(2022, 10, 27)) in stored(database)
    assert second.skipped_unknown == 3
    assert second.newly_unknown == {}
    tail = sandbox.alpaca_data.requests()[requests:]
    assert [r.query["symbols"] for r in tail if r.path == "/v2/stocks/bars"] == ["AAPL,MSFT"]


def test_a_refusal_that_names_no_symbol_stops_the_run_and_marks_nothing_unknown(
    database: Database, sandbox: Sandbox
) -> None:
    from trading_automation.clients import UnexpectedResponseError

    sandbox.alpaca_data.faults.add(
        Fault.http_status(
            400, body='{"code": 40010001, "message": "invalid feed"}', path="/v2/stocks/bars"
        )
    )

    with pytest.raises(UnexpectedResponseError, match="invalid feed"):
        fetch(database, sandbox)
    with database.transaction(readonly=True) as uow:
        assert uow.price_symbols.unknown() == []
    assert bar_requests(sandbox) == 1


def test_retry_unknown_asks_again(database: Database, sandbox: Sandbox) -> None:
    fetch(database, sandbox, symbols=("ZZZZ",))
    again = fetch(database, sandbox, symbols=("ZZZZ",), retry_unknown=True)

    assert again.skipped_unknown == 0
    assert again.bar_requests == 1


def test_the_default_symbols_are_the_feeds_tickers_and_spy(
    database: Database, sandbox: Sandbox
) -> None:
    from tests.factories import quiver_record

    with database.transaction() as uow:
        uow.feed.store(
            [
                quiver_record(Ticker="NVDA", Filed="2024-06-03"),
                quiver_record(Ticker="kkr", Filed="2024-06-10"),
                quiver_record(Ticker=None, Filed="2024-01-02"),
            ]
        )

    report = fetch(database, sandbox, symbols=None, from_date=None)

    [request] = [r.query for r in sandbox.alpaca_data.requests() if r.path == "/v2/stocks/bars"]
    assert request["symbols"] == "KKR,NVDA,SPY"
    assert request["start"] == "2024-06-03", "from the oldest well-formed filing"
    assert report.symbols == 3


def test_bad_arguments_are_refused_before_any_request(database: Database, sandbox: Sandbox) -> None:
    from trading_automation.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="is not a symbol"):
        fetch(database, sandbox, symbols=("AA PL",))
    with pytest.raises(InvalidArgumentError, match="before --from"):
        fetch(database, sandbox, to_date=date(2024, 4, 1))
    assert sandbox.alpaca_data.requests() == []


def test_the_rate_limit_is_kept_by_waiting_for_each_refill_on_the_fake_clock(
    database: Database,
) -> None:
    clock = FakeClock(start=1_000_000.0)
    with Sandbox(
        clock_ticks=False, monotonic=clock.monotonic, wall=clock.monotonic, bars_per_minute=2
    ) as sandbox:
        pacer = RequestPacer(sleep=clock.sleep, wall=clock.monotonic)
        report = fetch(database, sandbox, pacer=pacer, per_request=1)
        statuses = [r.status for r in sandbox.alpaca_data.requests()]

    assert report.bar_requests == len(SYMBOLS)
    assert statuses == [200] * len(SYMBOLS), "no request was refused"
    assert len(clock.sleeps) == 1
    assert 55 < clock.sleeps[0] <= 62
    assert len(stored(database)) == report.new


def test_a_429_is_waited_out_and_the_page_asked_again(database: Database) -> None:
    clock = FakeClock(start=1_000_000.0)
    with Sandbox(clock_ticks=False, monotonic=clock.monotonic, wall=clock.monotonic) as sandbox:
        sandbox.alpaca_data.faults.add(
            Fault.http_status(429, method="GET", path="/v2/stocks/bars", times=4)
        )
        pacer = RequestPacer(sleep=clock.sleep, wall=clock.monotonic)
        with sandbox.alpaca_client(**clock.client_options()) as alpaca:
            report = PriceFetch(database=database, alpaca=alpaca, pacer=pacer, now=lambda: T0).run(
                PriceOptions(symbols=SYMBOLS, from_date=FROM)
            )

    assert report.rate_limit_waits == 1
    assert clock.sleeps[-1] == 60.0, "no reset named: a minute"
    assert report.new == len(stored(database)) > 0
