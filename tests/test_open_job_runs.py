"""Runs and their boundaries: days that have not opened, live runs' intents, the run's clock,
bounded reconciliation. Each against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.factories import source_hash
from tests.worker_support import QUICK, job_run, run_job, trades
from trading_automation.clients import AlpacaClient
from trading_automation.db import (
    ApiRequest,
    CongressTradeFeed,
    Database,
    IngestCheckpoint,
    JobRun,
    JobRunAttempt,
    JobStatus,
    JobType,
    RunState,
    Trade,
    TradeStatus,
)
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.errors import InvalidValueError
from trading_automation.sandbox import OrderScript, Sandbox
from trading_automation.worker.reconcile import (
    MAX_LIST_PAGES,
    Reconciler,
    ReconcileReport,
    left_behind,
)

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


# -- a day whose open has not come -------------------------------------------------------------


def test_a_requested_day_before_its_open_is_refused_and_then_run_when_it_comes(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.broker.set_now(datetime(2024, 6, 18, 13, 30, tzinfo=UTC))

    with pytest.raises(InvalidValueError, match="has not opened on 2024-06-20 yet"):
        run_job(database, sandbox, replace(QUICK, requested_date=date(2024, 6, 20)))
    preview = run_job(database, sandbox, replace(QUICK, dry_run=True, requested_date=OPEN.date()))
    assert job_run(database) is None
    assert trades(database) == []
    assert preview.exit_code == 0

    sandbox.broker.set_now(OPEN)
    result = run_job(database, sandbox)

    run = job_run(database)
    assert result.exit_code == 0
    assert run is not None
    assert run.status is JobStatus.SUCCESS
    assert len(trades(database)) == 12


def test_today_before_the_open_is_refused_when_asked_for_by_date(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.broker.set_now(OPEN - timedelta(hours=2))

    with pytest.raises(InvalidValueError, match=r"it opens at 09:30 New York time"):
        run_job(database, sandbox, replace(QUICK, requested_date=OPEN.date()))


# -- whose intents a run resumes ---------------------------------------------------------------


def _intent_of_run(database: Database, *, owner: str, heartbeat: datetime, finished: bool) -> Trade:
    """A NEW trade recorded today by the run of another trading day, held by `owner`."""
    with database.transaction() as uow:
        run = uow.job_runs.claim(
            JobType.OPEN_JOB, date(2024, 6, 18), owner=owner, lease=LEASE, now=heartbeat
        ).run
        if finished:
            uow.job_runs.finish(run.id, owner=owner, status=JobStatus.FAILED, now=heartbeat)
    with database.transaction() as uow:
        return uow.trades.record_intent(
            source_hash=source_hash(f"intent of {owner}"),
            symbol="AAPL",
            job_run_id=run.id,
            now=OPEN - timedelta(seconds=30),
        ).trade


def _lookups(sandbox: Sandbox, client_order_id: str) -> int:
    return sum(
        1
        for request in sandbox.alpaca.requests()
        if client_order_id in str(request.query) or client_order_id in request.path
    )


def test_a_live_runs_intent_is_left_to_that_run(database: Database, sandbox: Sandbox) -> None:
    intent = _intent_of_run(database, owner="elsewhere:1:aa", heartbeat=OPEN, finished=False)

    result = run_job(database, sandbox)

    with database.transaction(readonly=True) as uow:
        after = uow.trades.get(intent.id)
    assert result.exit_code == 0
    assert after is not None
    assert after.status is TradeStatus.NEW
    assert sandbox.broker.submissions(intent.client_order_id) == 0
    assert _lookups(sandbox, intent.client_order_id) == 0


@pytest.mark.parametrize(
    ("heartbeat", "finished"),
    [(OPEN, True), (OPEN - LEASE - timedelta(seconds=1), False)],
    ids=["finished run", "run past its lease"],
)
def test_an_intent_left_by_a_finished_or_dead_run_is_resumed(
    database: Database, sandbox: Sandbox, heartbeat: datetime, finished: bool
) -> None:
    intent = _intent_of_run(
        database, owner="elsewhere:1:aa", heartbeat=heartbeat, finished=finished
    )

    result = run_job(database, sandbox)

    with database.transaction(readonly=True) as uow:
        after = uow.trades.get(intent.id)
    assert result.exit_code == 0
    assert result.summary is not None
    assert result.summary.orders.resumed == 1
    assert after is not None
    assert after.status is TradeStatus.FILLED
    assert sandbox.broker.orders_for(intent.client_order_id) == 1


def test_whether_an_intent_is_left_behind_is_decided_by_its_runs_state() -> None:
    mine = RunState(id=uuid.uuid4(), status=JobStatus.RUNNING, owner="me", heartbeat_at=OPEN)
    other = replace(mine, id=uuid.uuid4(), owner="other:1:x")

    def alive(owner: str | None) -> bool:
        return False

    assert left_behind(None, me=mine.id, now=OPEN, lease=LEASE, is_dead=alive)
    assert left_behind(mine, me=mine.id, now=OPEN, lease=LEASE, is_dead=alive)
    assert not left_behind(other, me=mine.id, now=OPEN, lease=LEASE, is_dead=alive)
    assert left_behind(
        other, me=mine.id, now=OPEN + LEASE + timedelta(seconds=1), lease=LEASE, is_dead=alive
    )
    assert left_behind(
        replace(other, status=JobStatus.SUCCESS), me=mine.id, now=OPEN, lease=LEASE, is_dead=alive
    )
    assert left_behind(other, me=mine.id, now=OPEN, lease=LEASE, is_dead=lambda owner: True)


# -- one clock ---------------------------------------------------------------------------------


def test_every_timestamp_a_run_writes_comes_from_the_run_clock(database: Database) -> None:
    # Little cash: some orders fail for buying power, so failed_at is written too.
    with Sandbox(now=OPEN, cash="3500", script=OrderScript(fill_after_polls=1)) as sandbox:
        run_job(database, sandbox)

    window = (OPEN - timedelta(days=1), OPEN + timedelta(hours=1))
    stamps: list[tuple[str, datetime]] = []
    with database.transaction(readonly=True) as uow:
        for model, names in (
            (Trade, ("created_at", "updated_at", "submitted_at", "filled_at", "failed_at")),
            (JobRun, ("created_at", "updated_at", "started_at", "finished_at", "heartbeat_at")),
            (JobRunAttempt, ("started_at", "finished_at")),
            (CongressTradeFeed, ("ingested_at",)),
            (IngestCheckpoint, ("updated_at",)),
            (ApiRequest, ("requested_at",)),
        ):
            for row in uow.session.scalars(select(model)):
                stamps += [
                    (f"{model.__tablename__}.{name}", getattr(row, name))
                    for name in names
                    if getattr(row, name) is not None
                ]
        failed = uow.session.scalars(select(Trade).where(Trade.status == TradeStatus.FAILED)).all()
    assert failed, "the scenario needs a failed order"
    outside = [(name, stamp) for name, stamp in stamps if not window[0] <= stamp <= window[1]]
    assert outside == []


# -- bounded work ------------------------------------------------------------------------------


class CountingAlpaca:
    """The real client, with its list and lookup requests counted (and a hard stop)."""

    def __init__(self, client: AlpacaClient, *, stop_after: int = 50) -> None:
        self.client = client
        self.list_calls = 0
        self.get_calls = 0
        self.stop_after = stop_after

    def list_orders(self, **options: Any) -> list[AlpacaOrder]:
        self.list_calls += 1
        if self.list_calls > self.stop_after:
            raise AssertionError("the order listing does not end")
        return self.client.list_orders(**options)

    def get_order(self, order_id: str) -> AlpacaOrder:
        self.get_calls += 1
        return self.client.get_order(order_id)


def test_reconciling_orders_that_share_one_instant_ends(database: Database) -> None:
    count = 620
    with (
        Sandbox(now=OPEN, clock_ticks=False, script=OrderScript(fill_after_polls=1)) as sandbox,
        sandbox.alpaca_client() as client,
    ):
        for number in range(count):
            with database.transaction() as uow:
                trade = uow.trades.record_intent(
                    source_hash=source_hash(f"burst {number}"), symbol="AAPL", now=OPEN
                ).trade
            order = client.submit_order(
                symbol="AAPL", client_order_id=trade.client_order_id, notional=Decimal(10)
            )
            with database.transaction() as uow:
                uow.trades.apply_order(trade, order, now=OPEN)
        counting = CountingAlpaca(client)
        reconciler = Reconciler(database, counting, now=lambda: OPEN)  # type: ignore[arg-type]

        open_after = reconciler.round(ReconcileReport())

    assert open_after == 0
    assert {t.status for t in trades(database)} == {TradeStatus.FILLED}
    # Two pages of open trades, each listed in at most MAX_LIST_PAGES requests.
    assert counting.list_calls <= 2 * MAX_LIST_PAGES
    assert counting.get_calls <= count


def test_outcomes_are_counted_in_one_query(database: Database, sandbox: Sandbox) -> None:
    from trading_automation.worker.open_job import OpenJob
    from trading_automation.worker.summary import RunSummary

    with database.transaction() as uow:
        made = [
            uow.trades.record_intent(
                source_hash=source_hash(f"t{n}"), symbol="AAPL", now=OPEN
            ).trade.id
            for n in range(30)
        ]
    job = OpenJob(
        settings=sandbox.settings(database_url="sqlite://"),
        database=database,
        alpaca=None,  # type: ignore[arg-type]
        quiver=None,  # type: ignore[arg-type]
        owner="test",
    )
    job.orders.touched.update(made)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        job._count_outcomes(summary := RunSummary(trading_date=OPEN.date()))
    finally:
        event.remove(database.engine, "before_cursor_execute", count)

    assert len(statements) == 1
    assert summary.orders.open_after_polling == 0
    assert summary.orders.filled == 0
