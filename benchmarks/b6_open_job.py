"""B6: the open-job for 200 filings against the sandbox with 50 ms of added broker latency."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from benchmarks.common import Figure, migrated, scratch_postgres, scratch_sqlite
from trading_automation.sandbox import Fault, OrderScript, Sandbox
from trading_automation.worker.open_job import OpenJob, OpenJobOptions

FILINGS = 200
LATENCY_S = 0.05
OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


def _quiver_days(directory: Path) -> dict[str, Decimal]:
    prices = {}
    records = []
    for number in range(FILINGS):
        symbol = f"B{number:03d}"
        prices[symbol] = Decimal("50") + number
        records.append(
            {
                "Ticker": symbol,
                "Name": f"Member {number % 40}",
                "Filed": "2024-06-20",
                "Traded": "2024-06-10",
                "Transaction": "Purchase",
                "Party": "DRI"[number % 3],
            }
        )
    (directory / "2024-06-18.json").write_text("[]")
    (directory / "2024-06-19.json").write_text("[]")
    (directory / "2024-06-20.json").write_text(json.dumps(records))
    return prices


def _run_once(url: str, directory: Path, prices: dict[str, Decimal]) -> tuple[float, int]:
    with Sandbox(
        now=OPEN,
        quiver_directory=directory,
        prices=prices,
        cash="1000000",
        script=OrderScript(fill_after_polls=1),
    ) as sandbox:
        for server in (sandbox.alpaca, sandbox.alpaca_data):
            server.faults.add(Fault.latency(LATENCY_S, times=None))
        database = migrated(url)
        settings = sandbox.settings(database_url=url, log_level="WARNING")
        with sandbox.alpaca_client() as alpaca, sandbox.quiver_client() as quiver:
            job = OpenJob(settings=settings, database=database, alpaca=alpaca, quiver=quiver)
            started = time.perf_counter()
            result = job.run(OpenJobOptions(poll_budget_s=60))
            elapsed = time.perf_counter() - started
        database.dispose()
        assert result.exit_code == 0, result.lines
        return elapsed, sandbox.broker.accepted_count


def run(workdir: Path, *, repeat: int = 3) -> list[Figure]:
    directory = workdir / "b6-quiver"
    directory.mkdir(exist_ok=True)
    prices = _quiver_days(directory)
    floor = FILINGS * LATENCY_S
    figures = []
    for backend in ("postgresql", "sqlite"):
        samples = []
        orders = 0
        for _ in range(repeat):
            context = scratch_postgres() if backend == "postgresql" else scratch_sqlite(workdir)
            with context as url:
                elapsed, orders = _run_once(url, directory, prices)
            samples.append(elapsed)
        median = sorted(samples)[len(samples) // 2]
        label = "PostgreSQL" if backend == "postgresql" else "SQLite"
        figures.append(
            Figure(
                id="B6",
                what=f"{label}: open-job for {FILINGS} filings, 50 ms broker latency, "
                "reconciliation included",
                value=median,
                unit="s",
                baseline=floor,
                baseline_what=f"{FILINGS} × 50 ms (sequential order calls)",
                ratio=median / floor,
                target="≤ 1.5×",
                holds=median / floor <= 1.5,
                notes=[f"{orders} orders placed and filled"],
            )
        )
    return figures
