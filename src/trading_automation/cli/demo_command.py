"""`trading-automation demo`: the offline demonstration (the project's main job)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from trading_automation.cli.context import CommandError

DEFAULT_DEMO_DIR = Path("demo-data")


demo_directory_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DEMO_DIR,
    show_default=True,
    help="Where the demo's SQLite database is written (replaced on each run).",
)


@click.command()
@demo_directory_option
def demo(directory: Path) -> None:
    """Run the open-job against the local sandbox on an embedded database, twice.

    No credentials and no network beyond 127.0.0.1.
    """
    from trading_automation.demo import dashboard_hint, run_demo
    from trading_automation.logs import configure_logging

    prepare_directory(directory)
    configure_logging("WARNING")
    result = run_demo(directory, echo=click.echo)
    click.echo(f"\ndatabase file: {result.database_file}")
    click.echo(dashboard_hint(_program(), None if directory == DEFAULT_DEMO_DIR else directory))
    sys.exit(0 if result.ok else 1)


def prepare_directory(directory: Path, option: str = "--dir") -> None:
    """Create the directory an option names if needed; refuse, in one line, one that cannot
    hold what the command writes."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (NotADirectoryError, FileExistsError):
        blocking = next(
            (path for path in (directory, *directory.parents) if path.exists()), directory
        )
        raise CommandError(f"{option} {directory}: {blocking} is not a directory") from None
    except OSError as error:
        raise CommandError(
            f"{option} {directory}: cannot be created ({error.strerror or error})"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {directory}: not writable")


def _program() -> str:
    """How the user can run this command again: the bare name when it is on PATH, else the path
    it was started by (e.g. .venv/bin/trading-automation after `make demo`)."""
    from trading_automation.demo import PROGRAM

    started = Path(sys.argv[0])
    if started.name != PROGRAM:
        return PROGRAM  # python -m trading_automation, a test runner, ...
    found = shutil.which(PROGRAM)
    if found and Path(found).resolve() == started.resolve():
        return PROGRAM
    return os.path.relpath(started) if not started.is_absolute() else str(started)
