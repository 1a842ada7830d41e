"""The close-job as a real process: SIGKILLed while it reads the account (its run claimed, no
snapshot yet), then started again; the rerun takes the run over and writes one snapshot."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.process_support import finish, kill, start_command, wait_until
from tests.test_open_job_process import _env
from trading_automation.db import AccountSnapshot, Database, JobStatus, JobType
from trading_automation.sandbox import Fault, Sandbox

AFTER_CLOSE = datetime(2024, 6, 20, 20, 30, tzinfo=UTC)  # 16:30 New York time
DAY = date(2024, 6, 20)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=AFTER_CLOSE) as running:
        yield running


def _start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return start_command(env, "close-job", cwd=cwd)


def _state(database: Database) -> tuple[JobStatus | None, int | None, int]:
    with database.transaction(readonly=True) as uow:
        run = uow.job_runs.get(JobType.CLOSE_JOB, DAY)
        rows = uow.session.scalar(select(func.count()).select_from(AccountSnapshot)) or 0
    return (run.status if run else None, run.attempt if run else None, rows)


def test_a_close_job_killed_while_reading_the_account_is_finished_by_a_rerun(
    database: Database, migrated_url: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = _env(sandbox, migrated_url)
    sandbox.alpaca.faults.add(Fault.latency(60, method="GET", path="/v2/account", times=1))
    worker = _start(env, tmp_path)
    wait_until(
        lambda: sandbox.alpaca.request_count("GET", "/v2/account") >= 1, worker, "the account"
    )

    kill(worker)
    at_kill = _state(database)
    sandbox.alpaca.faults.clear()
    sandbox.alpaca.release()
    code, out, err = finish(_start(env, tmp_path))
    again, out_again, _ = finish(_start(env, tmp_path))

    assert at_kill == (JobStatus.RUNNING, 1, 0)
    assert code == 0, (out, err)
    assert "takeover" in out
    assert _state(database) == (JobStatus.SUCCESS, 2, 1)
    with database.transaction(readonly=True) as uow:
        [snapshot] = uow.session.scalars(select(AccountSnapshot)).all()
    assert snapshot.trading_date_et == DAY
    assert snapshot.equity == Decimal(sandbox.broker.account()["equity"])
    assert again == 0
    assert "already" in out_again  # the day's close succeeded: nothing to do
    assert _state(database) == (JobStatus.SUCCESS, 2, 1)
