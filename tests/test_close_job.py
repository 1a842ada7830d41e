"""The day's close against the sandbox, on SQLite and PostgreSQL: reconcile, snapshot, summary."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.factories import quiver_record
from tests.notify_support import Webhooks
from tests.sandbox_support import FAST_RETRY, FAST_TIMEOUTS
from tests.worker_support import run_job
from trading_automation.cli import cli
from trading_automation.db import AccountSnapshot, Database, JobStatus, JobType
from trading_automation.errors import InvalidValueError
from trading_automation.sandbox import OrderScript, Sandbox
from trading_automation.worker.close_job import CloseJob, CloseJobResult
from trading_automation.worker.lease import RunLease

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
AFTER_CLOSE = datetime(2024, 6, 20, 20, 30, tzinfo=UTC)  # 16:30 New York time
DAY = date(2024, 6, 20)
DAY_TWO = date(2024, 6, 21)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


def close(
    database: Database,
    sandbox: Sandbox,
    requested: date | None = None,
    *,
    owner: str | None = None,
    **settings: Any,
) -> CloseJobResult:
    with sandbox.alpaca_client(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS) as alpaca:
        job = CloseJob(
            settings=sandbox.settings(**settings), database=database, alpaca=alpaca, owner=owner
        )
        return job.run(requested)


def _snapshots(database: Database) -> list[AccountSnapshot]:
    with database.transaction(readonly=True) as uow:
        return list(
            uow.session.scalars(select(AccountSnapshot).order_by(AccountSnapshot.trading_date_et))
        )


def test_after_the_close_the_account_is_snapshot_and_the_daily_summary_sent(
    database: Database, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    run_job(database, sandbox)
    sandbox.broker.set_now(AFTER_CLOSE)

    result = close(database, sandbox, notify_urls=webhooks.url(), notify_timeout_s=5)

    account = sandbox.broker.account()
    [snapshot] = _snapshots(database)
    assert result.exit_code == 0
    assert snapshot.trading_date_et == DAY
    assert snapshot.equity == Decimal(account["equity"])
    assert snapshot.cash == Decimal(account["cash"])
    assert snapshot.long_market_value == Decimal(account["long_market_value"])
    assert snapshot.day_pl is None
    assert snapshot.realized_pl == 0
    assert {p["symbol"] for p in snapshot.positions_json} >= {"AAPL", "AMZN", "KKR"}
    with database.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.CLOSE_JOB, DAY)
    assert run is not None
    assert run.status is JobStatus.SUCCESS
    [body] = webhooks.bodies()
    assert body["title"].startswith("Daily summary 2024-06-20: equity $")
    assert "Orders today: 12 buys (11 filled, 1 skipped by a guardrail), 0 sells" in body["message"]
    assert "- bought KKR 9 shares for $940.68" in body["message"]
    assert "What to do: nothing." in body["message"]


def test_the_day_pl_is_the_equity_change_and_the_realized_pl_comes_from_the_days_closes(
    database: Database, sandbox: Sandbox
) -> None:
    run_job(database, sandbox)
    sandbox.broker.set_now(AFTER_CLOSE)
    close(database, sandbox)
    sale = quiver_record(
        Ticker="AAPL",
        Name="Nancy Pelosi",
        Transaction="Sale (Full)",
        Traded="2024-06-20",
        Filed="2024-06-21",
    )
    sandbox.quiver.set_day(DAY_TWO, [sale])
    sandbox.broker.set_prices({"AAPL": "215.00"})
    sandbox.broker.set_now(datetime(2024, 6, 21, 13, 30, tzinfo=UTC))
    run_job(database, sandbox)
    sandbox.broker.set_now(datetime(2024, 6, 21, 20, 30, tzinfo=UTC))

    result = close(database, sandbox)

    first, second = _snapshots(database)
    with database.transaction(readonly=True) as uow:
        [closed] = uow.snapshots.closes_between(
            datetime(2024, 6, 21, 4, tzinfo=UTC), datetime(2024, 6, 22, 4, tzinfo=UTC)
        )
    assert result.exit_code == 0
    assert second.day_pl == second.equity - first.equity
    assert closed.symbol == "AAPL"
    assert closed.price == Decimal("215.00")
    assert closed.fill_price is not None
    exact = closed.quantity * (Decimal("215.00") - closed.fill_price)
    assert second.realized_pl == exact.quantize(Decimal("0.000001"))  # stored to 6 places
    assert second.realized_pl > 0


def test_a_close_job_killed_after_its_snapshot_and_run_again_writes_one_snapshot(
    database: Database, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_job(database, sandbox)
    sandbox.broker.set_now(AFTER_CLOSE)
    dead = f"{socket.gethostname()}:999999999:dead"  # a process of this host that is gone

    def killed(*_args: object, **_kwargs: object) -> bool:
        raise SystemExit(137)

    with monkeypatch.context() as patch:
        patch.setattr(RunLease, "finish", killed)
        with pytest.raises(SystemExit):
            close(database, sandbox, owner=dead)
    sandbox.broker.set_prices({"AAPL": "250.00"})
    rerun = close(database, sandbox)

    [snapshot] = _snapshots(database)
    with database.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.CLOSE_JOB, DAY)
        rows = uow.session.scalar(select(func.count()).select_from(AccountSnapshot))
    assert rerun.exit_code == 0
    assert rows == 1
    assert run is not None
    assert (run.status, run.attempt) == (JobStatus.SUCCESS, 2)
    assert snapshot.equity == Decimal(sandbox.broker.account()["equity"])


def test_before_the_close_and_on_a_holiday_the_close_job_does_nothing(
    database: Database, sandbox: Sandbox
) -> None:
    early = close(database, sandbox)
    sandbox.broker.set_now(datetime(2024, 6, 19, 21, 0, tzinfo=UTC))  # Juneteenth
    holiday = close(database, sandbox)

    assert early.exit_code == holiday.exit_code == 0
    assert early.lines == [
        "nothing to do: too early, the market closes at 16:00 New York time (20:00 UTC) on "
        "2024-06-20"
    ]
    assert holiday.lines == ["nothing to do: 2024-06-19 is not a trading day (weekend or holiday)"]
    assert _snapshots(database) == []


def test_a_past_day_can_be_closed_and_a_day_not_yet_closed_is_refused(
    database: Database, sandbox: Sandbox
) -> None:
    with pytest.raises(InvalidValueError, match="the market closes at 16:00"):
        close(database, sandbox, DAY)
    sandbox.broker.set_now(datetime(2024, 6, 24, 15, 0, tzinfo=UTC))

    result = close(database, sandbox, DAY)

    assert result.exit_code == 0
    assert [s.trading_date_et for s in _snapshots(database)] == [DAY]


def test_the_command_refuses_a_date_that_is_no_trading_day_in_one_line(
    migrated_url: str, sandbox: Sandbox
) -> None:
    env = sandbox.env() | {"DATABASE_URL": migrated_url}

    result = CliRunner().invoke(
        cli, ["--env-file", "/dev/null", "close-job", "--date", "2024-06-22"], env=env
    )

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --date 2024-06-22: 2024-06-22 is not a trading day (weekend or holiday)"
    )
