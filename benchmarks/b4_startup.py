"""B4: start-up of three command lines, as users run them, against `python -c pass`."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import Figure

TARGET = 6.0
GOAL = 4.0
COMMANDS = (["--help"], ["config", "show"], ["open-job", "--help"])


def _once(command: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env, check=True
    )
    return time.perf_counter() - started


def _medians_ms(
    commands: list[list[str]], repeat: int, *, cwd: Path, env: dict[str, str]
) -> list[float]:
    """Median wall time of each command; the commands take turns, so a change in the machine's
    load during the run weighs on all of them alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for index, command in enumerate(commands):
            samples[index].append(_once(command, cwd=cwd, env=env))
    return [statistics.median(times) * 1000 for times in samples]


def run(workdir: Path, *, repeat: int = 40) -> list[Figure]:
    python = sys.executable
    script = shutil.which("trading-automation", path=str(Path(python).parent)) or shutil.which(
        "trading-automation"
    )
    if script is None:
        raise RuntimeError("the trading-automation command is not installed next to this python")
    # An empty directory and no project variables: `config show` reads no .env and shows defaults.
    cwd = workdir / "b4"
    cwd.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DB_", "ALPACA_", "QUIVER_", "DASHBOARD_", "TRADE"))
    }
    floors = [[python, "-c", "import click"], [python, "-c", "import pydantic_settings"]]
    commands = [[python, "-c", "pass"], *([script, *line] for line in COMMANDS), *floors]
    _medians_ms(commands, 3, cwd=cwd, env=env)  # warm the page cache
    baseline, *measured = _medians_ms(commands, repeat, cwd=cwd, env=env)
    click_ms, settings_ms = measured[len(COMMANDS) :]
    floor_notes = [
        f"floors, measured alongside: `python -c 'import click'` {click_ms:.1f} ms "
        f"({click_ms / baseline:.2f}×); `python -c 'import pydantic_settings'` "
        f"{settings_ms:.1f} ms ({settings_ms / baseline:.2f}×), which `config show` pays to "
        "validate the settings",
    ]
    figures = []
    for line, value in zip(COMMANDS, measured[: len(COMMANDS)], strict=True):
        ratio = value / baseline
        figures.append(
            Figure(
                id="B4",
                what=f"`trading-automation {' '.join(line)}`, start-up",
                value=value,
                unit="ms",
                baseline=baseline,
                baseline_what="`python -c pass` (same interpreter)",
                ratio=ratio,
                target=f"≤ {TARGET:g}× (goal {GOAL:g}×)",
                holds=ratio <= TARGET,
            )
        )
    figures[0].notes = floor_notes
    return figures
