"""`trading-automation web`, run as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx

from tests.test_cli import help_probe, run_cli
from trading_automation.demo import LATER_PRICES
from trading_automation.web.server import bind

WEB_STACK = {"starlette", "uvicorn", "jinja2", "sqlalchemy", "httpx", "pydantic", "anyio"}


def test_help_imports_neither_the_web_stack_nor_the_database_nor_http() -> None:
    result = help_probe("trading_automation.cli")

    assert "web" in result.stdout  # the command is listed
    assert {name.split(".")[0] for name in result.modules} & WEB_STACK == set()


def test_web_refuses_a_public_address_without_basic_auth_and_exits_2(tmp_path: Path) -> None:
    result = run_cli("web", "--host", "0.0.0.0", "--port", "0", cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "DASHBOARD_HOST: 0.0.0.0 is reachable from other machines" in result.stderr
    assert "DASHBOARD_USERNAME and DASHBOARD_PASSWORD" in result.stderr


def test_web_with_half_the_credentials_is_refused_without_showing_the_password(
    tmp_path: Path,
) -> None:
    result = run_cli("web", env={"DASHBOARD_PASSWORD": "never-shown-1234"}, cwd=tmp_path)

    assert result.returncode == 2
    assert "set both for HTTP basic auth, or neither" in result.stderr
    assert "never-shown-1234" not in result.stdout + result.stderr


def test_web_says_so_when_its_port_is_taken(tmp_path: Path) -> None:
    (tmp_path / "app.db").touch()
    taken = bind("127.0.0.1", 0)
    try:
        port = str(taken.getsockname()[1])
        result = run_cli(
            "web", "--port", port, env={"DATABASE_URL": "sqlite:///app.db"}, cwd=tmp_path
        )
    finally:
        taken.close()

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@contextmanager
def web_process(*args: str, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DASHBOARD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "trading_automation", "web", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=environment,
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("dashboard: "):
                url = line.split()[1].removesuffix("/overview")
                break
        assert url, process.stderr.read() if process.stderr else ""
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_web_demo_serves_the_demo_database_with_its_sandbox_until_interrupted(
    tmp_path: Path,
) -> None:
    with web_process("--demo", "--port", "0", "--dir", "demo", cwd=tmp_path) as (process, url):
        positions = httpx.get(f"{url}/api/positions", timeout=20).json()
        trades = httpx.get(f"{url}/api/trades", timeout=20).json()
        overview = httpx.get(f"{url}/overview", timeout=20)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
        assert process.stderr is not None
        logged = process.stderr.read()

    assert code == 0
    assert "alembic.runtime.plugins" not in logged  # no set-up chatter
    assert (tmp_path / "demo" / "trading_automation.db").exists()
    assert positions["broker"]["ok"] is True
    held = {p["symbol"]: p for p in positions["portfolio"]["positions"]}
    # The second demo day sold Nancy Pelosi's AAPL (the only AAPL lot) on her sale.
    assert set(held) == set(LATER_PRICES) - {"AAPL"}
    for symbol in held:
        assert Decimal(held[symbol]["current_price"]) == LATER_PRICES[symbol]
    filled = [t for t in trades["trades"] if t["status"] == "FILLED"]
    # Day one: 11 buys filled, BRK.A skipped; day two: two sells and a new member's MSFT buy.
    assert len(filled) == 14
    assert trades["matching"] == 15
    # Every lot still open is priced by a live position; the two closed lots are not.
    lots = [t for t in filled if t["side"] == "BUY"]
    assert len(lots) == 12
    assert all(t["unrealized_pl"] is not None for t in lots if Decimal(t["open_qty"]) > 0)
    assert sum(Decimal(t["open_qty"]) == 0 for t in lots) == 2
    assert overview.status_code == 200
    assert "Broker data unavailable" not in overview.text


def test_web_without_alpaca_keys_serves_the_database_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    database = tmp_path / "empty.db"
    assert run_cli("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{database}"}).returncode == 0
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{database}\nDASHBOARD_PORT=0\n")

    with web_process(cwd=tmp_path) as (process, url):
        health = httpx.get(f"{url}/api/health", timeout=20)
        page = httpx.get(f"{url}/overview", timeout=20)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)

    assert code == 0
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["database"]["ok"] is True
    assert "Alpaca is not configured: ALPACA_KEY_ID: required" in health.json()["broker"]["error"]
    assert "Broker data unavailable" in page.text
    assert "No trades yet" in page.text


def test_the_demos_last_line_names_the_command_and_directory_as_they_can_be_run_again(
    tmp_path: Path,
) -> None:
    script = Path(sys.executable).parent / "trading-automation"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_",))}
    environment["PATH"] = "/usr/bin:/bin"  # the virtual environment is not on PATH

    result = subprocess.run(
        [str(script), "demo", "--dir", "demo data"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.rstrip()
        .splitlines()[-1]
        .startswith(f"open the dashboard on this demo: {script} web --demo --dir 'demo data' (")
    )
