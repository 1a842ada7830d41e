"""`check` in each state it tells apart, against the sandbox's calendar, on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import make_settings
from tests.notify_support import Webhooks
from tests.sandbox_support import FAST_RETRY, FAST_TIMEOUTS
from tests.worker_support import run_job
from trading_automation.cli import cli
from trading_automation.db import Database, JobType
from trading_automation.logs import SecretRedactor
from trading_automation.sandbox import Fault, OrderScript, Sandbox
from trading_automation.worker.check import CheckResult, run_check

OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
TEN = datetime(2024, 6, 20, 14, 0, tzinfo=UTC)  # 10:00 New York time
DAY = date(2024, 6, 20)
LEASE = timedelta(minutes=5)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as running:
        yield running


def check(database: Database, sandbox: Sandbox, *, quiet_days: int = 3) -> CheckResult:
    with sandbox.alpaca_client(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS) as alpaca:
        return run_check(
            database,
            alpaca,
            quiet_days=quiet_days,
            lease=LEASE,
            redactor=SecretRedactor([sandbox.broker.secret_key]),
        )


def test_a_day_whose_open_job_succeeded_checks_ok(database: Database, sandbox: Sandbox) -> None:
    run_job(database, sandbox)
    sandbox.broker.set_now(TEN)

    result = check(database, sandbox)

    assert result.ok
    assert result.line.startswith("ok: the open-job for 2024-06-20 succeeded at 09:30 New York")


def test_a_missed_day_is_named_with_the_command_that_runs_it(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.broker.set_now(TEN)

    result = check(database, sandbox)

    assert not result.ok
    assert result.problem == "missed"
    assert result.line == (
        "missed: no open-job ran for 2024-06-20 (the market opened at 09:30 New York time "
        "(13:30 UTC)); run `trading-automation open-job --date 2024-06-20`"
    )


def test_before_the_open_the_previous_trading_day_is_checked(
    database: Database, sandbox: Sandbox
) -> None:
    run_job(database, sandbox)
    sandbox.broker.set_now(datetime(2024, 6, 21, 12, 0, tzinfo=UTC))  # 08:00 the next day

    result = check(database, sandbox)

    assert result.ok
    assert result.day == DAY


def test_a_failed_run_is_reported_with_its_first_error(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.quiver.faults.add(Fault.http_status(503, times=None))
    run_job(database, sandbox)
    sandbox.broker.set_now(TEN)

    result = check(database, sandbox)

    assert result.problem == "failed"
    assert result.line.startswith("the open-job for 2024-06-20 failed: quiver 2024-06-18: ")
    assert result.line.endswith("; then run `trading-automation open-job --date 2024-06-20`")


@pytest.mark.parametrize(
    ("heartbeat_age", "problem", "said"),
    [
        (timedelta(minutes=1), "running", "is still running (since 09:59 New York time"),
        (timedelta(minutes=30), "stalled", "stopped without finishing (its worker died)"),
    ],
)
def test_a_run_still_at_work_or_abandoned_is_not_ok(
    database: Database,
    sandbox: Sandbox,
    heartbeat_age: timedelta,
    problem: str,
    said: str,
) -> None:
    with database.transaction() as uow:
        uow.job_runs.claim(JobType.OPEN_JOB, DAY, owner="elsewhere:1:x", now=TEN - heartbeat_age)
    sandbox.broker.set_now(TEN)

    result = check(database, sandbox)

    assert result.problem == problem
    assert said in result.line


def test_quiver_quiet_for_quiet_days_is_stale_data(database: Database, sandbox: Sandbox) -> None:
    days = [date(2024, 6, 24), date(2024, 6, 25)]
    sandbox.quiver.set_day(date(2024, 6, 21), [])
    for day in days:
        sandbox.quiver.set_day(day, [])
        sandbox.quiver.set_day(day - timedelta(days=1), [])
        sandbox.broker.set_now(datetime(day.year, day.month, day.day, 13, 30, tzinfo=UTC))
        run_job(database, sandbox)
    sandbox.broker.set_now(datetime(2024, 6, 25, 14, 0, tzinfo=UTC))

    fresh = check(database, sandbox, quiet_days=3)
    stale = check(database, sandbox, quiet_days=2)

    assert fresh.ok
    assert stale.problem == "stale"
    assert stale.line.startswith("stale data: Quiver returned nothing new for 2 trading days")


def test_an_unreachable_broker_means_the_calendar_is_unknown(
    database: Database, sandbox: Sandbox
) -> None:
    sandbox.alpaca.faults.add(Fault.http_status(503, times=None))

    result = check(database, sandbox)

    assert result.problem == "broker"
    assert result.line.startswith("Alpaca did not answer, so the trading calendar is unknown")


def test_a_database_without_the_schema_is_not_ok(
    make_empty_url: Callable[[str], str], sandbox: Sandbox
) -> None:
    database = Database.from_settings(make_settings(make_empty_url("sqlite")))
    try:
        result = check(database, sandbox)
    finally:
        database.dispose()

    assert result.problem == "database"
    assert "db upgrade" in result.line


def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--env-file", "/dev/null", "check", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_command_prints_one_line_and_exits_0_or_1(
    database: Database, migrated_url: str, sandbox: Sandbox
) -> None:
    sandbox.broker.set_now(TEN)
    env = sandbox.env() | {"DATABASE_URL": migrated_url}

    missed = _cli(env)
    sandbox.broker.set_now(OPEN)
    run_job(database, sandbox)
    sandbox.broker.set_now(TEN)
    ok = _cli(env)

    assert missed[0] == 1
    assert missed[2].startswith("error: missed: no open-job ran for 2024-06-20")
    assert len(missed[2].splitlines()) == 1
    assert ok[0] == 0
    assert ok[1].startswith("ok: the open-job for 2024-06-20 succeeded")
    assert len(ok[1].splitlines()) == 1


def test_check_notify_alerts_a_missed_day_once(
    database: Database, migrated_url: str, sandbox: Sandbox, webhooks: Webhooks
) -> None:
    sandbox.broker.set_now(TEN)
    env = sandbox.env() | {"DATABASE_URL": migrated_url, "NOTIFY_URLS": webhooks.url()}

    first = _cli(env, "--notify")
    again = _cli(env, "--notify")
    quiet = _cli(env)

    assert first[0] == again[0] == quiet[0] == 1
    [body] = webhooks.bodies()
    assert body["title"] == "check failed for 2024-06-20: missed"
    assert "What happened: missed: no open-job ran for 2024-06-20" in body["message"]
