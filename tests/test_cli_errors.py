"""Bad command lines end in one `error:` line and exit 2, never a traceback or a usage block."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
import pytest
from alembic.script import ScriptDirectory

from tests.conftest import make_settings
from tests.test_cli import run_cli
from trading_automation import __version__
from trading_automation.cli.params import DATE
from trading_automation.db import migrate


def one_error_line(stderr: str) -> str:
    """The single `error:` line a failed command printed (and nothing else)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def migrated_empty_url(backend: str, make_empty_url: Callable[[str], str]) -> str:
    url = make_empty_url(backend)
    migrate.upgrade(migrate.alembic_config(make_settings(url)))
    return url


@pytest.mark.parametrize(
    ("args", "revision"),
    [
        (("db", "upgrade", "9999"), "9999"),
        (("db", "downgrade", "abc"), "abc"),
        (("db", "upgrade", "+1"), "+1"),
    ],
)
def test_a_revision_that_does_not_exist_or_cannot_be_reached_is_one_line_naming_it(
    migrated_empty_url: str, tmp_path: Path, args: tuple[str, ...], revision: str
) -> None:
    result = run_cli(*args, env={"DATABASE_URL": migrated_empty_url}, cwd=tmp_path)

    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert revision in line
    assert "`trading-automation db history`" in line


def test_db_downgrade_minus_one_steps_one_revision_down(
    migrated_empty_url: str, tmp_path: Path
) -> None:
    config = migrate.alembic_config(make_settings(migrated_empty_url))
    scripts = ScriptDirectory.from_config(config)
    head = scripts.get_revision(migrate.head_revision(config))
    assert head is not None
    below = str(head.down_revision)

    result = run_cli(
        "db", "downgrade", "-1", env={"DATABASE_URL": migrated_empty_url}, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"is at {below}")
    assert migrate.current(config).split()[0] == below


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("bogus",), "no such command 'bogus'"),
        (("--bogus",), "no such option"),
        (("db", "downgrade"), "missing argument 'REVISION'"),
        (("open-job", "--date", "2024-02-30"), "2024-02-30 is not a date: day is out of range"),
        (("open-job", "--date", "June 20"), "'June 20' is not a date: expected YYYY-MM-DD"),
        (("reconcile", "--today", "2024-13-01"), "2024-13-01 is not a date: month must be in"),
        (("sandbox", "--holiday", "2024-06-31"), "2024-06-31 is not a date"),
        (("web", "--port", "99999"), "'--port'"),
    ],
)
def test_a_usage_error_is_one_line_that_points_to_the_commands_help(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    result = run_cli(*args, cwd=tmp_path)

    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert said in line
    assert line.endswith("--help`)")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [("--version",), ("-V",), ("version",)])
def test_the_version_is_shown_by_every_spelling_people_try(args: tuple[str, ...]) -> None:
    result = run_cli(*args)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"trading-automation, version {__version__}\n"


def test_a_taken_sandbox_port_is_one_error_line_naming_the_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sandbox", "--alpaca-port", str(port), cwd=tmp_path)

    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert line.startswith("error: could not start the sandbox on 127.0.0.1: ")
    assert f"--alpaca-port {port}" in line


@pytest.mark.parametrize(
    ("command", "directory", "reason"),
    [
        ("demo", "afile/sub", "afile is not a directory"),
        ("demo", "/proc/no-such-place", "cannot be created"),
        ("demo", "/proc/1", "not writable"),
        ("web --demo --port 0", "afile/sub", "afile is not a directory"),
    ],
)
def test_a_demo_directory_that_cannot_hold_the_demo_is_refused_with_the_reason(
    tmp_path: Path, command: str, directory: str, reason: str
) -> None:
    (tmp_path / "afile").write_text("not a directory\n")

    result = run_cli(*command.split(), "--dir", directory, cwd=tmp_path)

    assert result.returncode == 2
    assert one_error_line(result.stderr).startswith(f"error: --dir {directory}: {reason}")
    assert not (tmp_path / "afile" / "sub").exists()


def _every_command() -> list[tuple[str, click.Command]]:
    from trading_automation.cli import cli

    found: list[tuple[str, click.Command]] = []
    stack: list[tuple[str, click.Command]] = [("trading-automation", cli)]
    while stack:
        path, command = stack.pop()
        found.append((path, command))
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                stack.append((f"{path} {name}", sub))
    return found


def test_every_date_option_takes_yyyy_mm_dd_through_the_one_date_type() -> None:
    dated = {
        f"{path} {option.opts[0]}": (option, command)
        for path, command in _every_command()
        for option in command.params
        if isinstance(option.type, click.DateTime) or option.type is DATE
    }

    assert {
        "trading-automation open-job --date",
        "trading-automation reconcile --today",
        "trading-automation sandbox --today",
        "trading-automation sandbox --holiday",
        "trading-automation sandbox --half-day",
    } <= set(dated)
    for name, (option, command) in dated.items():
        assert option.type is DATE, name
        assert f"{option.opts[0]} YYYY-MM-DD" in command.get_help(click.Context(command)), name


def test_every_verbose_option_says_what_it_shows() -> None:
    verbose = [
        (path, option)
        for path, command in _every_command()
        for option in command.params
        if isinstance(option, click.Option) and "--verbose" in option.opts
    ]

    assert verbose
    for path, option in verbose:
        assert option.help, path


def test_the_date_type_returns_a_date_and_names_the_impossible_day() -> None:
    assert DATE.convert("2024-02-29", None, None) == date(2024, 2, 29)
    assert DATE.convert(date(2024, 6, 20), None, None) == date(2024, 6, 20)
    with pytest.raises(click.BadParameter, match="2023-02-29 is not a date: day is out of range"):
        DATE.convert("2023-02-29", None, None)
    with pytest.raises(click.BadParameter, match="expected YYYY-MM-DD"):
        DATE.convert("20240620", None, None)
