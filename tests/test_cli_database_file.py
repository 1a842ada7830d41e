"""A mistyped SQLite path is refused in one line and never created, except by `db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import run_cli
from tests.test_cli_errors import one_error_line
from trading_automation.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox_env() -> Iterator[dict[str, str]]:
    """Broker and Quiver variables for a running sandbox, so commands get as far as the
    database."""
    with Sandbox() as sandbox:
        yield sandbox.env()


@pytest.mark.parametrize(
    "args",
    [
        ("db", "status"),
        ("db", "current"),
        ("db", "check"),
        ("db", "downgrade", "base"),
        ("db", "seed"),
        ("db", "revision", "-m", "probe"),
        ("open-job",),
        ("open-job", "--date", "2024-06-20"),
        ("reconcile",),
        ("web", "--port", "0"),
    ],
)
def test_a_command_on_a_missing_sqlite_file_says_so_and_creates_nothing(
    tmp_path: Path, sandbox_env: dict[str, str], args: tuple[str, ...]
) -> None:
    env = {**sandbox_env, "DATABASE_URL": "sqlite:///mistyped/tradng.db"}
    (tmp_path / "mistyped").mkdir()

    result = run_cli(*args, env=env, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "mistyped/tradng.db does not exist" in line
    assert "`trading-automation db upgrade` creates it" in line
    assert list((tmp_path / "mistyped").iterdir()) == []


def test_the_migration_url_is_checked_and_named_when_it_is_set(tmp_path: Path) -> None:
    existing = tmp_path / "app.db"
    existing.touch()
    env = {"DATABASE_URL": f"sqlite:///{existing}", "DIRECT_DATABASE_URL": "sqlite:///direct.db"}

    result = run_cli("db", "current", env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert "(check DIRECT_DATABASE_URL)" in one_error_line(result.stderr)
    assert not (tmp_path / "direct.db").exists()


def test_db_upgrade_creates_the_sqlite_file_and_then_every_command_opens_it(
    tmp_path: Path,
) -> None:
    env = {"DATABASE_URL": "sqlite:///new.db"}

    upgraded = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    status = run_cli("db", "status", env=env, cwd=tmp_path)

    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "new.db").is_file()
    assert status.returncode == 0, status.stderr
    assert "up to date" in status.stdout


def test_db_history_reads_no_database_at_all(tmp_path: Path) -> None:
    result = run_cli("db", "history", env={"DATABASE_URL": "sqlite:///none.db"}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "<base> -> 0001" in result.stdout
    assert not (tmp_path / "none.db").exists()
