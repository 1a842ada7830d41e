"""The open-job as a real process: killed at every step, raced, and judged by its exit status.

The worker runs as `python -m trading_automation open-job` against a sandbox in this process; a
kill is SIGKILL at a moment the sandbox makes observable (a request held in flight). The rerun
must leave the broker with exactly one order per filing and every trade reconciled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.process_support import finish, kill, start_command, wait_until
from tests.worker_support import (
    EXPECTED_ORDERS,
    assert_one_order_per_trade,
    broker_orders_by_symbol,
    job_run,
    trades,
)
from trading_automation import fixtures
from trading_automation.db import Database, JobStatus, TradeStatus
from trading_automation.sandbox import Fault, OrderScript, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Orders fill on the fifth poll: a first polling round leaves them open."""
    with Sandbox(script=OrderScript(fill_after_polls=5)) as running:
        yield running


def _env(sandbox: Sandbox, database_url: str, **extra: str) -> dict[str, str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            (
                "DATABASE_",
                "DB_",
                "ALPACA_",
                "QUIVER_",
                "TRADE",
                "PAPER_",
                "HTTP_",
                "OPEN_JOB",
                "JOB_",
            )
        )
    }
    return (
        base
        | sandbox.env()
        | {
            "DATABASE_URL": database_url,
            "HTTP_RETRY_BACKOFF_S": "0.01",
            "OPEN_JOB_POLL_S": "20",
            "LOG_LEVEL": "INFO",
        }
        | extra
    )


def start_worker(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen[str]:
    return start_command(env, "open-job", *args, cwd=cwd)


def _requests(sandbox: Sandbox, method: str, path: str) -> Callable[[], bool]:
    return lambda: sandbox.alpaca.request_count(method, path) >= 1


# Each kill point: the faults that hold the worker there, what to wait for, and the state the
# database must be in at the moment of the kill.
KILL_POINTS = ["after_intent", "after_accept", "during_polling", "before_checkpoint"]


def _arm(sandbox: Sandbox, point: str) -> Callable[[], bool]:
    if point == "after_intent":
        # The order POST is dropped unanswered and not acted on; the lookup that follows hangs.
        sandbox.alpaca.faults.add(
            Fault.drop(method="POST", path="/v2/orders", times=1),
            Fault.latency(60, method="GET", path="/v2/orders:by_client_order_id", times=1),
        )
        return _requests(sandbox, "GET", "/v2/orders:by_client_order_id")
    if point == "after_accept":
        sandbox.alpaca.faults.add(Fault.hold_after_accept(60))
        return lambda: sandbox.broker.accepted_count >= 1
    if point == "during_polling":
        return _requests(sandbox, "GET", "/v2/orders")
    sandbox.broker.set_script(OrderScript(fill_after_polls=1))
    sandbox.alpaca.faults.add(Fault.latency(60, method="GET", path="/v2/account", times=1))
    return _requests(sandbox, "GET", "/v2/account")


def _check_state_at_kill(point: str, database: Database, sandbox: Sandbox) -> None:
    stored = trades(database)
    if point == "after_intent":
        assert [(t.status, t.alpaca_order_id) for t in stored] == [(TradeStatus.NEW, None)]
        assert sandbox.broker.accepted_count == 0
    elif point == "after_accept":
        assert [(t.status, t.alpaca_order_id) for t in stored] == [(TradeStatus.NEW, None)]
        assert sandbox.broker.accepted_count == 1
    elif point == "during_polling":
        assert sandbox.broker.accepted_count == 11
        assert {t.status for t in stored if t.alpaca_order_id} == {TradeStatus.ACCEPTED}
    else:
        assert {t.status for t in stored if t.alpaca_order_id} == {TradeStatus.FILLED}
        with database.transaction(readonly=True) as uow:
            assert uow.checkpoints.get(fixtures.DEMO_TRADING_DAY) is None
    run = job_run(database)
    assert run is not None
    assert run.status is JobStatus.RUNNING


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_worker_killed_at_any_step_is_finished_by_a_rerun_with_one_order_per_filing(
    database: Database, migrated_url: str, sandbox: Sandbox, tmp_path: Path, point: str
) -> None:
    env = _env(sandbox, migrated_url)
    reached = _arm(sandbox, point)
    worker = start_worker(env, cwd=tmp_path)
    wait_until(reached, worker, point)

    kill(worker)
    _check_state_at_kill(point, database, sandbox)
    sandbox.alpaca.faults.clear()
    sandbox.alpaca.release()
    code, out, err = finish(start_worker(env, cwd=tmp_path))

    assert code == 0, (out, err)
    assert "takeover" in out
    assert broker_orders_by_symbol(sandbox) == EXPECTED_ORDERS
    assert_one_order_per_trade(sandbox, database)
    assert {t.status for t in trades(database)} == {TradeStatus.FILLED, TradeStatus.SKIPPED}
    run = job_run(database)
    assert run is not None
    assert (run.status, run.attempt) == (JobStatus.SUCCESS, 2)
    with database.transaction(readonly=True) as uow:
        assert uow.checkpoints.get(fixtures.DEMO_TRADING_DAY) is not None


def test_two_workers_started_together_place_each_order_once(
    database: Database, migrated_url: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = _env(sandbox, migrated_url)

    first, second = start_worker(env, cwd=tmp_path), start_worker(env, cwd=tmp_path)
    results = [finish(first), finish(second)]

    assert [code for code, _, _ in results] == [0, 0], results
    outputs = " ".join(out for _, out, _ in results)
    assert outputs.count("is held by another run") == 1
    assert broker_orders_by_symbol(sandbox) == EXPECTED_ORDERS
    assert_one_order_per_trade(sandbox, database)


# -- the command line ------------------------------------------------------------------------


def test_missing_credentials_exit_2_naming_each_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "QUIVER_"))}

    code, _out, err = finish(start_worker(env, cwd=tmp_path))

    assert code == 2
    assert "Traceback" not in err
    for variable in ("ALPACA_KEY_ID", "ALPACA_SECRET_KEY", "QUIVER_API_KEY"):
        assert variable in err


def test_a_holiday_date_is_refused_with_exit_2(
    migrated_url: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    code, _, err = finish(
        start_worker(_env(sandbox, migrated_url), "--date", "2024-06-19", cwd=tmp_path)
    )

    assert code == 2
    assert "2024-06-19 is not a trading day" in err


def test_a_run_with_a_failed_order_exits_1_and_logs_json_without_secrets(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    with Sandbox(cash="1500", script=OrderScript(fill_after_polls=1)) as sandbox:
        code, out, err = finish(start_worker(_env(sandbox, migrated_url), cwd=tmp_path))
        secrets = [sandbox.broker.key_id, sandbox.broker.secret_key, sandbox.quiver.api_key]

    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = {event["event"] for event in events}
    assert code == 1
    assert {
        "gate",
        "claim",
        "window_collected",
        "order_submitted",
        "order_failed",
        "reconcile_round",
        "run_finished",
    } <= names
    assert "insufficient buying power" in out + err
    for secret in secrets:
        assert secret not in out
        assert secret not in err
    run = job_run(database)
    assert run is not None
    assert secrets[1] not in json.dumps(run.summary_json)


def test_reconcile_brings_open_trades_up_to_date_and_prints_the_changes(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    with Sandbox(script=OrderScript(fill_after_polls=2)) as sandbox:
        env = _env(sandbox, migrated_url, OPEN_JOB_POLL_S="0")
        first = finish(start_worker(env, cwd=tmp_path))
        open_before = [t for t in trades(database) if t.status is TradeStatus.ACCEPTED]
        result = subprocess.run(
            [sys.executable, "-m", "trading_automation", "reconcile"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert first[0] == 0, first
    assert len(open_before) == 11
    assert result.returncode == 0, result.stderr
    assert "11 changed, 0 still open" in result.stdout
    assert result.stdout.count("ACCEPTED  FILLED") == 11
    assert {t.status for t in trades(database) if t.alpaca_order_id} == {TradeStatus.FILLED}
