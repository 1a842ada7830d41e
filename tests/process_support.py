"""Running `trading-automation` commands as real processes: start, wait for a moment the sandbox
makes observable, SIGKILL, finish."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def start_command(env: dict[str, str], *argv: str, cwd: Path) -> subprocess.Popen[str]:
    """`python -m trading_automation ARGV...` in the background, its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "trading_automation", *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for the process; its exit status, standard output and standard error."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    """Poll `condition` until it holds; fail when the process exits first or after a minute."""
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the command exited before {what}: {process.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL, and wait until the process is gone."""
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
