"""`db seed`: a realistic demo state through the repositories, the same however often it runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from tests.conftest import make_settings
from tests.test_cli import run_cli
from tests.worker_support import run_job
from trading_automation.cli import cli
from trading_automation.cli.db_commands import is_disposable
from trading_automation.db import (
    CongressTradeFeed,
    Database,
    IngestCheckpoint,
    JobRun,
    JobStatus,
    Trade,
    TradeStatus,
)
from trading_automation.db.base import Base
from trading_automation.db.seed import SeedConflictError, alpaca_orders, reset, seed
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.sandbox import OrderScript, Sandbox


def _snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as plain values, in a stable order."""
    with database.transaction(readonly=True) as uow:
        snapshot = {}
        for table in Base.metadata.sorted_tables:
            rows = uow.session.execute(select(table)).all()
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
        return snapshot


def test_seeding_twice_leaves_exactly_the_same_state(database: Database) -> None:
    with database.transaction() as uow:
        first = seed(uow)
    after_first = _snapshot(database)
    with database.transaction() as uow:
        second = seed(uow)

    assert _snapshot(database) == after_first
    assert first.trades_new > 0
    assert first.feed_new > 0
    assert first.runs_new == 3
    assert (second.feed_new, second.trades_new, second.runs_new) == (0, 0, 0)


def test_the_seed_has_trades_in_every_status_and_a_whole_share_fallback(
    database: Database,
) -> None:
    with database.transaction() as uow:
        report = seed(uow)

    with database.transaction(readonly=True) as uow:
        trades = list(uow.session.scalars(select(Trade)))
        runs = {run.trading_date_et.isoformat(): run for run in uow.job_runs.list_recent()}
        checkpoints = list(uow.session.scalars(select(IngestCheckpoint)))
        malformed = uow.feed.page(malformed=True, limit=100).items

    assert all(count > 0 for count in report.statuses.values()), report.statuses
    assert {trade.status for trade in trades} == set(TradeStatus)
    fallback = [t for t in trades if t.qty_submitted is not None]
    assert fallback
    assert all(t.notional_submitted is None for t in fallback)
    assert any(t.status is TradeStatus.FILLED for t in fallback)
    zero_shares = [t for t in trades if t.symbol == "BRK.A"]
    assert zero_shares[0].status is TradeStatus.SKIPPED
    assert "more than TRADE_NOTIONAL_USD" in (zero_shares[0].status_reason or "")
    assert {run.status for run in runs.values()} == {JobStatus.SUCCESS, JobStatus.FAILED}
    assert runs["2024-06-17"].summary_json is not None
    assert runs["2024-06-17"].summary_json["errors"]
    assert {c.trading_date_et.isoformat() for c in checkpoints} == {"2024-06-18", "2024-06-20"}
    assert len(malformed) >= 4
    assert all(trade.congress_trade_feed_id is not None for trade in trades)


def test_reset_empties_every_table(database: Database) -> None:
    with database.transaction() as uow:
        seed(uow)

    with database.transaction() as uow:
        reset(uow)

    assert all(rows == [] for rows in _snapshot(database).values())


def test_the_seed_command_prints_a_summary_and_is_repeatable(
    migrated_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": migrated_url}
    try:
        first = run_cli("db", "seed", env=env, cwd=tmp_path)
        second = run_cli("db", "seed", env=env, cwd=tmp_path)
    finally:
        database = Database.from_settings(make_settings(migrated_url))
        with database.transaction() as uow:
            reset(uow)
        database.dispose()

    assert first.returncode == 0, first.stderr
    assert "trades by status" in first.stdout
    assert "recent job runs" in first.stdout
    assert "ingest checkpoints" in first.stdout
    assert "2024-06-17   FAILED" in first.stdout
    assert "0 new feed records, 0 new trades, 0 new job runs" in second.stdout


def test_reset_of_a_remote_database_needs_yes(tmp_path: Path) -> None:
    result = run_cli(
        "db",
        "seed",
        "--reset",
        env={"DATABASE_URL": "postgresql://app:secret-pw@db.example.com/app"},
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "refusing to empty" in result.stderr
    assert "--yes" in result.stderr
    assert "secret-pw" not in result.stderr


@pytest.mark.parametrize(
    ("url", "disposable"),
    [
        ("sqlite:///x.db", True),
        ("postgresql+psycopg://u@localhost/db", True),
        ("postgresql+psycopg://u@127.0.0.1:5432/db", True),
        ("postgresql+psycopg://u@/db?host=/var/run/postgresql", True),
        ("postgresql+psycopg://u@db.example.com/db", False),
        ("postgresql+psycopg://u@10.0.0.5/db", False),
    ],
)
def test_only_sqlite_and_local_databases_count_as_disposable(url: str, disposable: bool) -> None:
    assert is_disposable(url) is disposable


def test_reset_on_a_local_database_runs_without_yes(
    make_empty_url: Callable[[str], str], tmp_path: Path
) -> None:
    url = make_empty_url("sqlite")
    run_cli("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)

    result = run_cli("db", "seed", "--reset", env={"DATABASE_URL": url}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    database = Database.from_settings(make_settings(url))
    with database.transaction(readonly=True) as uow:
        assert uow.session.query(CongressTradeFeed).count() > 0
        assert uow.session.query(JobRun).count() == 3
    database.dispose()


# --- a database that holds other trades ---------------------------------------------------------


def test_seeding_over_the_trades_of_a_real_run_is_refused_before_anything_is_written(
    database: Database,
) -> None:
    with Sandbox(script=OrderScript(fill_after_polls=1)) as sandbox:
        run_job(database, sandbox)
    before = _snapshot(database)

    with (
        pytest.raises(SeedConflictError, match="already holds other trades") as raised,
        database.transaction() as uow,
    ):
        seed(uow)

    assert raised.value.exit_code == 2
    assert "db seed --reset" in str(raised.value)
    assert _snapshot(database) == before


def test_seeding_next_to_a_trade_of_another_filing_is_refused(database: Database) -> None:
    with database.transaction() as uow:
        uow.trades.record_intent(source_hash="a" * 64, symbol="TSLA")

    with pytest.raises(SeedConflictError, match="TSLA"), database.transaction() as uow:
        seed(uow)

    with database.transaction(readonly=True) as uow:
        assert uow.session.query(CongressTradeFeed).count() == 0


def test_the_seed_command_on_a_database_with_other_trades_says_so_in_one_line(
    migrated_url: str, database: Database, tmp_path: Path
) -> None:
    with database.transaction() as uow:
        uow.trades.record_intent(source_hash="b" * 64, symbol="TSLA")

    result = run_cli("db", "seed", env={"DATABASE_URL": migrated_url}, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith("error: the database already holds other trades")
    assert "db seed --reset" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


# --- the sandbox agrees with the seed -----------------------------------------------------------


def test_the_seed_orders_are_the_orders_its_trades_are_bound_to(database: Database) -> None:
    with database.transaction() as uow:
        seed(uow)
    with database.transaction(readonly=True) as uow:
        bound = {
            trade.client_order_id: trade.alpaca_order_id
            for trade in uow.session.scalars(select(Trade))
            if trade.alpaca_order_id is not None
        }

    orders = alpaca_orders()

    assert {order["client_order_id"]: order["id"] for order in orders} == bound
    assert all(AlpacaOrder.from_api(order).symbol for order in orders)


def test_a_seeded_database_reconciles_against_the_sandbox_without_an_error(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    with database.transaction() as uow:
        seed(uow)
    with database.transaction(readonly=True) as uow:
        open_bound = uow.session.scalars(
            select(Trade).where(
                Trade.alpaca_order_id.is_not(None),
                Trade.status.in_([TradeStatus.ACCEPTED, TradeStatus.PARTIALLY_FILLED]),
            )
        ).all()
    assert open_bound, "the seed holds open orders: what reconcile looks up"

    with Sandbox(orders=alpaca_orders()) as sandbox:
        result = _reconcile(sandbox, migrated_url, tmp_path)
        looked_up = sandbox.alpaca.request_count("GET", "/v2/orders")

    assert result.exit_code == 0, result.output
    assert "error" not in result.output
    assert looked_up == 1, "every open order was in the one list"


def test_a_sandbox_without_the_seed_orders_is_what_made_reconcile_fail(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    with database.transaction() as uow:
        seed(uow)

    with Sandbox() as sandbox:
        result = _reconcile(sandbox, migrated_url, tmp_path)

    assert result.exit_code == 1
    assert "HTTP 404" in result.output


def _reconcile(sandbox: Sandbox, database_url: str, directory: Path) -> Result:
    """`trading-automation reconcile` in this process, pointed at `sandbox` and the database."""
    env_file = directory / "empty.env"
    env_file.write_text("")
    env = sandbox.env() | {"DATABASE_URL": database_url, "HTTP_RETRY_ATTEMPTS": "1"}
    return CliRunner().invoke(cli, ["--env-file", str(env_file), "reconcile"], env=env)
