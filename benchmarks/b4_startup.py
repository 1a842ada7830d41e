"""B4: `trading-automation --help` cold start against `python -c pass`."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import Figure


def _median_ms(command: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def run(_workdir: Path, *, repeat: int = 40) -> list[Figure]:
    python = sys.executable
    script = shutil.which("trading-automation", path=str(Path(python).parent)) or shutil.which(
        "trading-automation"
    )
    if script is None:
        raise RuntimeError("the trading-automation command is not installed next to this python")
    for command in ([python, "-c", "pass"], [script, "--help"]):  # warm the page cache
        _median_ms(command, 3)
    baseline = _median_ms([python, "-c", "pass"], repeat)
    click_only = _median_ms([python, "-c", "import click"], repeat)
    help_ms = _median_ms([script, "--help"], repeat)
    command_help = _median_ms([script, "config", "--help"], repeat)
    return [
        Figure(
            id="B4",
            what="`trading-automation --help`, cold start",
            value=help_ms,
            unit="ms",
            baseline=baseline,
            baseline_what="`python -c pass` (same interpreter)",
            ratio=help_ms / baseline,
            target="≤ 4×",
            holds=help_ms / baseline <= 4,
            notes=[
                f"`python -c 'import click'` alone: {click_only:.1f} ms "
                f"({click_only / baseline:.2f}×), which `--help` no longer pays (its text is "
                "kept in `trading_automation.entry`)",
                f"`trading-automation config --help` (Click and one command): "
                f"{command_help:.1f} ms ({command_help / baseline:.2f}×)",
            ],
        )
    ]
