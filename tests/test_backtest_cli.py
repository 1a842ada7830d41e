"""`trading-automation backtest` as a user runs it, as a subprocess: on a database holding the
sandbox's synthetic history (fetched through the history commands' code, over HTTP) on SQLite and
PostgreSQL, with `--sweep`, `--demo`, and bad arguments."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import run_cli
from trading_automation.backtest.demo import fill_from_sandbox
from trading_automation.backtest.labels import METRICS
from trading_automation.db import Database

START, END = date(2024, 3, 1), date(2024, 4, 30)


@pytest.fixture
def filled(database: Database) -> Database:
    disclosures, bars, unknown = fill_from_sandbox(database, START, END, echo=lambda _line: None)
    assert disclosures > 1000
    assert bars > 1000
    assert unknown
    return database


def test_a_backtest_writes_its_report_stores_the_run_and_prints_the_metrics(
    filled: Database, migrated_url: str, tmp_path: Path, serve_dashboard: Any
) -> None:
    out = tmp_path / "report"
    result = run_cli(
        "backtest",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        "--capital",
        "50000",
        "--out",
        str(out),
        env={"DATABASE_URL": migrated_url, "MAX_HOLD_DAYS": "10", "TRADE_NOTIONAL_USD": "400"},
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"replaying 2024-03-01 to 2024-04-30: 4\d sessions, [\d,]+ disclosures, bars of \d+ "
        r"symbols",
        lines[0],
    )
    for _key, label, _kind in METRICS:
        assert any(line.startswith(label) for line in lines), label
    with filled.transaction() as uow:
        (run,) = uow.backtests.listing()
        detail = uow.backtests.get(run.id)
    assert detail is not None
    assert f"stored as backtest run {run.id}" in result.stdout
    assert (run.period_from, run.period_to, run.capital) == (START, END, 50000)
    with (out / "trades.csv").open(newline="") as file:
        trades = list(csv.DictReader(file))
    assert len(trades) == run.fills > 100
    assert {row["cause"] for row in trades} >= {"", "HOLDING_LIMIT"}
    with (out / "equity.csv").open(newline="") as file:
        closes = list(csv.DictReader(file))
    assert [row["day"] for row in closes] == [day.day.isoformat() for day in detail.days]
    html = (out / "report.html").read_text()
    assert "<svg" in html
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", html), "offline"
    with serve_dashboard() as served:
        page = served.get(f"/backtests/{run.id}")
    assert page.status_code == 200
    assert "Total return" in page.text


def test_a_sweep_replays_every_combination_and_sorts_them_by_the_metric(
    filled: Database, migrated_url: str, tmp_path: Path
) -> None:
    result = run_cli(
        "backtest",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        "--sweep",
        "exits.max_hold_days=5,15",
        "--sweep",
        "sizing.usd=250,750",
        "--sort-by",
        "total_return",
        "--out",
        str(tmp_path),
        env={"DATABASE_URL": migrated_url},
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    with (tmp_path / "sweep.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert sorted((row["exits.max_hold_days"], row["sizing.usd"]) for row in rows) == [
        ("15", "250"),
        ("15", "750"),
        ("5", "250"),
        ("5", "750"),
    ]
    returns = [float(row["total_return"]) for row in rows]
    assert returns == sorted(returns, reverse=True)
    assert len(set(returns)) == 4
    with filled.transaction() as uow:
        stored = uow.backtests.listing()
    assert sorted(str(run.id) for run in stored) == sorted(row["run_id"] for row in rows)


def test_the_demo_fetches_the_sandbox_history_and_replays_it_offline(tmp_path: Path) -> None:
    result = run_cli("backtest", "--demo", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "replaying 2024-01-02 to 2024-06-14" in result.stdout
    assert "demo_strategy.toml" in result.stdout
    assert "HOLDING_LIMIT" in (tmp_path / "demo-data/backtest-report/trades.csv").read_text()
    assert (tmp_path / "demo-data/backtest-report/report.html").stat().st_size > 10_000
    assert (tmp_path / "demo-data/backtest.sqlite").exists()
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-02-01", "--to", "2024-01-01"], "--to 2024-01-01 is before --from"),
        (["--from", "2024-01-01"], "--from and --to are required (or --demo)"),
        (["--demo", "--capital", "0"], "the capital must be more than 0, not 0"),
        (["--demo", "--slippage-bps", "x"], "--slippage-bps 'x' is not a number"),
        (["--demo", "--sweep", "sizing.usdd=1"], "did you mean sizing.usd?"),
        (["--demo", "--dask-scheduler", "tcp://127.0.0.1:1"], "--dask-scheduler runs a sweep"),
        (
            ["--demo", "--sweep", "sizing.usd=1,2", "--out", "notes.txt/report"],
            "--out notes.txt/report: notes.txt is not a directory",
        ),
    ],
)
def test_bad_arguments_are_one_error_line_with_exit_2_before_anything_is_fetched(
    args: list[str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("a file where --out wants a directory\n")

    result = run_cli("backtest", *args, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not (tmp_path / "demo-data").exists()


def test_a_period_without_bars_says_to_fetch_them(migrated_url: str, tmp_path: Path) -> None:
    result = run_cli(
        "backtest",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-31",
        env={"DATABASE_URL": migrated_url},
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no daily bars are stored from 2024-01-02 to 2024-01-31: run "
        "`trading-automation history prices --from 2024-01-02` first"
    )
