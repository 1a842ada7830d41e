"""The open-job against the sandbox, in this process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.worker_support import (
    DEMO_DAYS,
    EXPECTED_ORDERS,
    EXPECTED_SKIPPED,
    QUICK,
    assert_one_order_per_trade,
    broker_orders_by_symbol,
    distinct_records,
    job_run,
    run_job,
    trades,
)
from trading_automation import fixtures
from trading_automation.db import (
    CongressTradeFeed,
    Database,
    IngestCheckpoint,
    JobStatus,
    JobType,
    TradeStatus,
)
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.errors import InvalidValueError
from trading_automation.sandbox import Fault, OrderScript, Sandbox

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The fixture week, the market clock at the 2024-06-20 open, orders filled on first poll."""
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


def _feed_rows(database: Database) -> int:
    with database.transaction(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CongressTradeFeed)) or 0)


# -- the ordinary day ------------------------------------------------------------------------


def test_a_run_at_the_open_buys_each_new_buy_filing_once(
    database: Database, sandbox: Sandbox
) -> None:
    result = run_job(database, sandbox)

    stored = trades(database)
    by_status = Counter(trade.status for trade in stored)
    run = job_run(database)
    assert result.exit_code == 0, result.lines
    assert broker_orders_by_symbol(sandbox) == EXPECTED_ORDERS
    assert_one_order_per_trade(sandbox, database)
    assert by_status == {TradeStatus.FILLED: 11, TradeStatus.SKIPPED: 1}
    assert {t.symbol for t in stored if t.status is TradeStatus.SKIPPED} == EXPECTED_SKIPPED
    assert _feed_rows(database) == distinct_records(DEMO_DAYS)
    assert all(trade.congress_trade_feed_id is not None for trade in stored)
    assert run is not None
    assert (run.status, run.attempt) == (JobStatus.SUCCESS, 1)


def test_a_non_fractionable_symbol_falls_back_to_whole_shares(
    database: Database, sandbox: Sandbox
) -> None:
    run_job(database, sandbox)

    by_symbol = {trade.symbol: trade for trade in trades(database)}
    kkr, brka = by_symbol["KKR"], by_symbol["BRK.A"]
    price = fixtures.latest_trade_prices()["KKR"]
    assert kkr.qty_submitted == Decimal(int(Decimal(1000) / price))
    assert kkr.notional_submitted is None
    assert kkr.filled_qty == kkr.qty_submitted
    assert brka.status is TradeStatus.SKIPPED
    assert brka.alpaca_order_id is None
    assert "one share costs $" in (brka.status_reason or "")
    assert sandbox.broker.orders_for(brka.client_order_id) == 0


def test_the_summary_counts_every_window_and_outcome(database: Database, sandbox: Sandbox) -> None:
    result = run_job(database, sandbox)

    summary = result.summary
    assert summary is not None
    windows = {window.day: window for window in summary.windows}
    assert list(windows) == list(DEMO_DAYS)
    for day in DEMO_DAYS:
        assert windows[day].fetched == len(fixtures.quiver_day(day))
    assert sum(w.stored for w in windows.values()) == distinct_records(DEMO_DAYS)
    assert sum(w.duplicates for w in windows.values()) == sum(
        w.fetched for w in windows.values()
    ) - distinct_records(DEMO_DAYS)
    assert sum(w.malformed for w in windows.values()) >= 3
    assert summary.orders.submitted == 11
    assert summary.orders.fallback == 1
    assert summary.orders.filled == 11
    assert summary.orders.skipped == {"zero_shares": 1}
    assert summary.orders.failed == 0
    assert summary.account is not None
    assert Decimal(summary.account["buying_power"]) > 0
    stored = job_run(database)
    assert stored is not None
    assert stored.summary_json == summary.to_json() | {"account": summary.account}


def test_the_checkpoint_records_the_newest_filing_processed(
    database: Database, sandbox: Sandbox
) -> None:
    run_job(database, sandbox)

    with database.transaction(readonly=True) as uow:
        checkpoint = uow.checkpoints.get(fixtures.DEMO_TRADING_DAY)
    assert checkpoint is not None
    assert checkpoint.last_filed_ts_processed_et == datetime(2024, 6, 20, tzinfo=NEW_YORK)


def test_a_day_that_succeeded_is_not_run_again(database: Database, sandbox: Sandbox) -> None:
    run_job(database, sandbox)

    again = run_job(database, sandbox)

    assert again.exit_code == 0
    assert again.summary is None
    assert any("already succeeded" in line for line in again.lines)
    assert sandbox.broker.accepted_count == 11


def test_a_forced_rerun_orders_nothing_already_traded(database: Database, sandbox: Sandbox) -> None:
    run_job(database, sandbox)

    forced = run_job(database, sandbox, replace(QUICK, force=True))

    run = job_run(database)
    assert forced.exit_code == 0
    assert forced.summary is not None
    assert forced.summary.orders.already_traded == 12
    assert forced.summary.orders.submitted == 0
    assert sandbox.broker.accepted_count == 11
    assert run is not None
    assert (run.status, run.attempt) == (JobStatus.SUCCESS, 2)


def test_a_filing_published_after_the_last_run_is_bought_at_the_next_open(
    database: Database, sandbox: Sandbox
) -> None:
    run_job(database, sandbox, replace(QUICK, requested_date=date(2024, 6, 18)))
    first = Counter(broker_orders_by_symbol(sandbox))

    run_job(database, sandbox)

    second = broker_orders_by_symbol(sandbox)
    assert first == Counter({"AMZN": 3, "NVDA": 1, "PLTR": 1})
    assert second == EXPECTED_ORDERS + Counter({"PLTR": 1})
    assert_one_order_per_trade(sandbox, database)


def test_a_late_appearing_old_filing_is_bought_once_when_first_seen(
    database: Database, tmp_path: Path
) -> None:
    from tests.factories import quiver_record

    early = quiver_record(Ticker="AAPL", Name="Ro Khanna", Filed="2024-06-18")
    late = quiver_record(Ticker="MSFT", Name="Ro Khanna", Filed="2024-06-10")
    (tmp_path / "2024-06-18.json").write_text(json.dumps([early]))
    (tmp_path / "2024-06-19.json").write_text("null")
    (tmp_path / "2024-06-20.json").write_text(json.dumps([early, late]))
    with Sandbox(
        now=OPEN, quiver_directory=tmp_path, script=OrderScript(fill_after_polls=1)
    ) as sandbox:
        run_job(database, sandbox, replace(QUICK, requested_date=date(2024, 6, 18)))
        first = broker_orders_by_symbol(sandbox)
        run_job(database, sandbox)
        second = broker_orders_by_symbol(sandbox)

    assert first == Counter({"AAPL": 1})
    assert second == Counter({"AAPL": 1, "MSFT": 1})


# -- the gate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (datetime(2024, 6, 20, 14, 30, tzinfo=UTC), "too late"),
        (datetime(2024, 6, 20, 12, 30, tzinfo=UTC), "too early"),
        (datetime(2024, 6, 19, 13, 30, tzinfo=UTC), "2024-06-19 is not a trading day"),
        (datetime(2024, 6, 22, 13, 30, tzinfo=UTC), "2024-06-22 is not a trading day"),
    ],
)
def test_an_invocation_not_at_an_open_exits_quietly_without_work(
    database: Database, sandbox: Sandbox, now: datetime, reason: str
) -> None:
    sandbox.broker.set_now(now)

    result = run_job(database, sandbox)

    assert result.exit_code == 0
    assert result.summary is None
    assert any(reason in line for line in result.lines)
    assert job_run(database, now.astimezone(NEW_YORK).date()) is None
    assert sandbox.broker.accepted_count == 0
    assert _feed_rows(database) == 0


def test_a_requested_trading_day_runs_after_hours(database: Database, sandbox: Sandbox) -> None:
    sandbox.broker.set_now(datetime(2024, 6, 21, 2, 0, tzinfo=UTC))

    result = run_job(database, sandbox, replace(QUICK, requested_date=date(2024, 6, 18)))

    assert result.exit_code == 0
    assert result.summary is not None
    assert [w.day for w in result.summary.windows] == [date(2024, 6, 17), date(2024, 6, 18)]
    assert job_run(database, date(2024, 6, 18)) is not None


def test_a_requested_holiday_is_refused_as_bad_input(database: Database, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidValueError, match="2024-06-19 is not a trading day"):
        run_job(database, sandbox, replace(QUICK, requested_date=date(2024, 6, 19)))


def test_a_half_day_runs_at_its_open(database: Database) -> None:
    half_day = date(2024, 7, 3)
    with Sandbox(
        today=half_day, half_days=[half_day], script=OrderScript(fill_after_polls=1)
    ) as sandbox:
        result = run_job(database, sandbox)

    assert result.exit_code == 0
    assert result.summary is not None
    assert result.summary.trading_date == half_day


# -- dry run ---------------------------------------------------------------------------------


def test_a_dry_run_sends_nothing_and_writes_nothing(database: Database, sandbox: Sandbox) -> None:
    result = run_job(database, sandbox, replace(QUICK, dry_run=True))

    assert result.exit_code == 0
    assert sandbox.broker.accepted_count == 0
    assert sandbox.alpaca.request_count("POST", "/v2/orders") == 0
    assert trades(database) == []
    assert _feed_rows(database) == 0
    assert job_run(database) is None
    would_buy = [line for line in result.lines if "would buy" in line]
    assert len(would_buy) == 11
    assert any("KKR" in line for line in would_buy)


def test_a_dry_run_predicts_the_whole_share_fallback_and_the_zero_share_skip(
    database: Database, sandbox: Sandbox
) -> None:
    preview = run_job(database, sandbox, replace(QUICK, dry_run=True))
    real = run_job(database, sandbox)

    kkr = next(line for line in preview.lines if "KKR" in line)
    brka = next(line for line in preview.lines if "BRK.A" in line)
    shares = int(Decimal(1000) / fixtures.latest_trade_prices()["KKR"])
    assert kkr.startswith(f"  would buy {shares} whole shares of KKR")
    assert "not fractionable, $104.52 a share" in kkr
    assert brka.startswith("  would skip      BRK.A")
    assert "one share costs $612,500.00, more than TRADE_NOTIONAL_USD $1,000.00" in brka
    # The real run did what the dry run said.
    by_symbol = {trade.symbol: trade for trade in trades(database)}
    assert by_symbol["KKR"].qty_submitted == shares
    assert by_symbol["BRK.A"].status is TradeStatus.SKIPPED
    assert preview.summary is not None
    assert real.summary is not None
    assert preview.summary.orders.skipped == real.summary.orders.skipped == {"zero_shares": 1}


def test_a_dry_run_applies_the_caps(database: Database, sandbox: Sandbox) -> None:
    result = run_job(database, sandbox, replace(QUICK, dry_run=True), per_ticker_daily_max=1)

    skipped = [line for line in result.lines if "would skip" in line and "AMZN" in line]
    assert len(skipped) == 2
    assert all("PER_TICKER_DAILY_MAX" in line for line in skipped)


# -- guardrails ------------------------------------------------------------------------------


def test_with_trading_disabled_every_filing_is_recorded_and_skipped(
    database: Database, sandbox: Sandbox
) -> None:
    result = run_job(database, sandbox, trading_enabled=False)

    stored = trades(database)
    assert result.exit_code == 0
    assert sandbox.broker.accepted_count == 0
    assert len(stored) == 12
    assert {trade.status for trade in stored} == {TradeStatus.SKIPPED}
    assert all("TRADING_ENABLED is false" in (t.status_reason or "") for t in stored)
    assert result.summary is not None
    assert result.summary.orders.skipped == {"trading_disabled": 12}


def test_the_daily_cap_stops_orders_after_the_limit(database: Database, sandbox: Sandbox) -> None:
    result = run_job(database, sandbox, daily_max_filings=4)

    stored = trades(database)
    capped = [t for t in stored if "DAILY_MAX_FILINGS (4)" in (t.status_reason or "")]
    assert sandbox.broker.accepted_count == 4
    assert len(capped) == 7
    assert all(t.status is TradeStatus.SKIPPED for t in capped)
    assert result.summary is not None
    # BRK.A was skipped for its share price before the cap was reached; it used up no room.
    assert result.summary.orders.skipped == {"daily_max_filings": 7, "zero_shares": 1}


def test_the_per_ticker_cap_stops_a_symbol_after_the_limit(
    database: Database, sandbox: Sandbox
) -> None:
    run_job(database, sandbox, per_ticker_daily_max=1)

    amzn = [t for t in trades(database) if t.symbol == "AMZN"]
    assert broker_orders_by_symbol(sandbox)["AMZN"] == 1
    assert sorted(t.status for t in amzn) == [
        TradeStatus.FILLED,
        TradeStatus.SKIPPED,
        TradeStatus.SKIPPED,
    ]


def test_concurrent_runs_never_exceed_the_daily_cap(
    database: Database, sandbox: Sandbox, migrated_url: str
) -> None:
    cap = 5
    results = []

    def run(requested: date | None) -> None:
        own = Database.from_settings(make_settings(migrated_url, db_busy_timeout_ms=30_000))
        try:
            results.append(
                run_job(
                    own, sandbox, replace(QUICK, requested_date=requested), daily_max_filings=cap
                )
            )
        finally:
            own.dispose()

    threads = [
        threading.Thread(target=run, args=(None,)),
        threading.Thread(target=run, args=(date(2024, 6, 18),)),
        threading.Thread(target=run, args=(date(2024, 6, 17),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(results) == 3
    placed = [t for t in trades(database) if t.status is not TradeStatus.SKIPPED]
    # An intent counts against the cap from the moment it is recorded. BRK.A's is recorded,
    # then skipped after the broker refuses it; a run that counted while it was pending saw
    # the room taken, so one fewer order than the cap is possible, never one more.
    assert cap - 1 <= sandbox.broker.accepted_count <= cap
    assert len(placed) == sandbox.broker.accepted_count
    assert_one_order_per_trade(sandbox, database)


# -- broker refusals -------------------------------------------------------------------------


def test_insufficient_buying_power_fails_the_filing_and_the_run_goes_on(
    database: Database,
) -> None:
    with Sandbox(now=OPEN, cash="2500", script=OrderScript(fill_after_polls=1)) as sandbox:
        result = run_job(database, sandbox)

    stored = trades(database)
    failed = [t for t in stored if t.status is TradeStatus.FAILED]
    assert result.exit_code == 1
    assert sandbox.broker.accepted_count == 2
    assert len(failed) == 9
    assert all("insufficient buying power" in (t.status_reason or "") for t in failed)
    assert all(t.alpaca_order_id is None for t in failed)
    run = job_run(database)
    assert run is not None
    assert run.status is JobStatus.SUCCESS
    assert result.summary is not None
    assert result.summary.orders.failed == 9


# -- polling ---------------------------------------------------------------------------------


def test_polling_asks_once_per_round_for_all_orders_and_records_partial_fills(
    database: Database,
) -> None:
    script = OrderScript(partial_fill_after_polls=1, fill_after_polls=3)
    with Sandbox(now=OPEN, script=script) as sandbox:
        result = run_job(database, sandbox)
        list_requests = sandbox.alpaca.request_count("GET", "/v2/orders")
        single_lookups = sum(
            1
            for request in sandbox.alpaca.requests()
            if request.method == "GET" and request.path.startswith("/v2/orders/")
        )

    assert result.exit_code == 0
    assert {t.status for t in trades(database) if t.alpaca_order_id} == {TradeStatus.FILLED}
    assert list_requests == 3
    assert single_lookups == 0


def test_orders_still_open_after_polling_are_left_for_reconcile(database: Database) -> None:
    from tests.sandbox_support import FAST_RETRY
    from trading_automation.worker.reconcile import Reconciler

    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=3)) as sandbox:
        # No polling budget: one round, in which every order is still open.
        result = run_job(database, sandbox, replace(QUICK, poll_budget_s=0))
        with sandbox.alpaca_client(retry=FAST_RETRY) as alpaca:
            report = Reconciler(database, alpaca).poll(budget_s=5, first_delay_s=0.01)

    assert result.exit_code == 0
    assert result.summary is not None
    assert result.summary.orders.open_after_polling == 11
    assert len(report.changes) == 11
    assert {change.after for change in report.changes} == {TradeStatus.FILLED}
    assert {t.status for t in trades(database) if t.alpaca_order_id} == {TradeStatus.FILLED}


def test_a_worker_that_lost_its_lease_stops_without_finishing_the_run(
    database: Database, sandbox: Sandbox
) -> None:
    def take_over(_seconds: float) -> None:
        with database.transaction() as uow:
            uow.job_runs.claim(
                JobType.OPEN_JOB,
                fixtures.DEMO_TRADING_DAY,
                owner="another-host:1:abcd",
                now=datetime(2024, 6, 20, 15, 0, tzinfo=UTC),
            )

    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=3)) as slow:
        result = run_job(database, slow, sleep=take_over)

    run = job_run(database)
    assert result.exit_code == 1
    assert any("another worker took over" in line for line in result.lines)
    assert run is not None
    assert (run.status, run.owner) == (JobStatus.RUNNING, "another-host:1:abcd")
    del sandbox


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(503, method="POST", path="/v2/orders", times=2),
        Fault.http_status(429, retry_after=0.2, method="GET", path="/v2/calendar"),
        Fault.drop_after_accept(),
        Fault.error_after_accept(500),
        Fault.malformed(method="POST", path="/v2/orders"),
        Fault.drop(method="POST", path="/v2/orders", times=2),
        Fault.latency(0.05, times=None),
    ],
    ids=[
        "5xx-burst",
        "429",
        "drop-after-accept",
        "500-after-accept",
        "malformed-order",
        "dropped-posts",
        "latency",
    ],
)
def test_broker_faults_end_with_one_order_per_filing(
    database: Database, sandbox: Sandbox, fault: Fault
) -> None:
    sandbox.alpaca.faults.add(fault)

    result = run_job(database, sandbox)

    assert result.exit_code == 0, (result.lines, result.summary)
    assert broker_orders_by_symbol(sandbox) == EXPECTED_ORDERS
    assert_one_order_per_trade(sandbox, database)


def test_a_broker_outage_fails_the_run_and_a_rerun_finishes_the_work(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, method="POST", path="/v2/orders", times=None))

    failed = run_job(database, sandbox)
    stranded = [t for t in trades(database) if t.status is TradeStatus.NEW]
    sandbox.alpaca.faults.clear()
    retried = run_job(database, sandbox)

    assert failed.exit_code == 1
    assert failed.summary is not None
    assert failed.summary.errors
    assert failed.summary.orders.not_sent == 1
    assert len(stranded) == 1
    assert retried.exit_code == 0
    assert retried.summary is not None
    assert retried.summary.orders.resumed == 1
    assert broker_orders_by_symbol(sandbox) == EXPECTED_ORDERS
    assert_one_order_per_trade(sandbox, database)
    run = job_run(database)
    assert run is not None
    assert (run.status, run.attempt) == (JobStatus.SUCCESS, 2)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(503, method="GET", path="/beta/bulk/congresstrading", times=None),
        Fault.malformed(
            body='{"detail": "oops"}', method="GET", path="/beta/bulk/congresstrading", times=None
        ),
    ],
    ids=["quiver-down", "quiver-malformed"],
)
def test_a_quiver_failure_fails_the_run_and_loses_no_record(
    database: Database, sandbox: Sandbox, fault: Fault
) -> None:
    sandbox.quiver.faults.add(fault)

    failed = run_job(database, sandbox)
    sandbox.quiver.faults.clear()
    retried = run_job(database, sandbox)

    assert failed.exit_code == 1
    assert failed.summary is not None
    assert all(window.error for window in failed.summary.windows)
    assert retried.exit_code == 0
    assert _feed_rows(database) == distinct_records(DEMO_DAYS)
    assert broker_orders_by_symbol(sandbox) == EXPECTED_ORDERS


def test_one_quiver_day_failing_still_trades_the_others(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.quiver.faults.add(
        Fault.http_status(503, method="GET", path="/beta/bulk/congresstrading", times=4)
    )

    result = run_job(database, sandbox)

    assert result.exit_code == 1
    assert result.summary is not None
    failed_days = [w.day for w in result.summary.windows if w.error]
    assert failed_days == [date(2024, 6, 18)]
    assert job_run(database) is not None
    assert_one_order_per_trade(sandbox, database)
    with database.transaction(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(IngestCheckpoint)) == 1


def test_secrets_never_reach_the_stored_summary(database: Database, sandbox: Sandbox) -> None:
    sandbox.quiver.faults.add(Fault.http_status(503, times=None))

    run_job(database, sandbox)

    run = job_run(database)
    assert run is not None
    stored = str(run.summary_json)
    assert sandbox.broker.secret_key not in stored
    assert sandbox.broker.key_id not in stored
    assert sandbox.quiver.api_key not in stored
    assert "quiver" in stored


def test_stale_intents_from_an_earlier_day_are_failed_not_sent(
    database: Database, sandbox: Sandbox
) -> None:
    from tests.factories import source_hash

    with database.transaction() as uow:
        stale = uow.trades.record_intent(
            source_hash=source_hash("old filing"),
            symbol="AAPL",
            now=OPEN - timedelta(days=3),
        ).trade

    run_job(database, sandbox)

    with database.transaction(readonly=True) as uow:
        after = uow.trades.get(stale.id)
    assert after is not None
    assert after.status is TradeStatus.FAILED
    assert "too late" in (after.status_reason or "")
    assert sandbox.broker.orders_for(stale.client_order_id) == 0
