"""B5: 16 processes claiming the same job run, 50 times over: exactly one winner every time."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, migrated, scratch_postgres, scratch_sqlite, settings_for
from trading_automation.db import Database, JobType
from trading_automation.db.repositories.job_runs import WON

PROCESSES = 16
REPETITIONS = 50
FIRST_DAY = date(2024, 1, 1)


def _claimer(url: str, index: int, barrier: Any, results: Any) -> None:
    database = Database.from_settings(settings_for(url, db_busy_timeout_ms=60_000, db_pool_size=1))
    for repetition in range(REPETITIONS):
        day = FIRST_DAY + timedelta(days=repetition)
        barrier.wait()
        started = time.perf_counter()
        with database.transaction() as uow:
            outcome = uow.job_runs.claim(JobType.OPEN_JOB, day, owner=f"bench-{index}").outcome
        results.put((repetition, outcome.value, time.perf_counter() - started))
    database.dispose()


def _race(url: str) -> tuple[list[int], list[float]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_claimer, args=(url, index, barrier, results))
        for index in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=300) for _ in range(PROCESSES * REPETITIONS)]
    for process in processes:
        process.join(timeout=60)
    winners = [0] * REPETITIONS
    latencies = []
    for repetition, outcome, seconds in collected:
        # Every outcome that hands the run to its caller counts, not only the first creation.
        winners[repetition] += outcome in {won.value for won in WON}
        latencies.append(seconds)
    return winners, latencies


def run(workdir: Path) -> list[Figure]:
    figures = []
    for backend in ("postgresql", "sqlite"):
        context = scratch_postgres() if backend == "postgresql" else scratch_sqlite(workdir)
        with context as url:
            migrated(url).dispose()
            winners, latencies = _race(url)
        label = "PostgreSQL" if backend == "postgresql" else "SQLite"
        exactly_one = all(count == 1 for count in winners)
        median = statistics.median(latencies) * 1000
        figures.append(
            Figure(
                id="B5",
                what=f"{label}: {PROCESSES} processes claim the same job run, "
                f"{REPETITIONS} repetitions",
                value=median,
                unit="ms (median claim latency)",
                target="exactly one winner every time",
                holds=exactly_one,
                notes=[
                    f"winners per repetition: {sorted(set(winners))}; "
                    f"p95 claim latency {sorted(latencies)[int(0.95 * len(latencies))] * 1000:.1f}"
                    " ms"
                ],
            )
        )
    return figures
