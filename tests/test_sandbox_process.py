"""The sandbox as a subprocess (`trading-automation sandbox`): started, scripted over its control
endpoints, used by the real clients, and stopped cleanly by a signal."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from tests.sandbox_support import FAST_RETRY
from trading_automation.clients import AlpacaClient, QuiverClient
from trading_automation.config import load_settings
from trading_automation.db.seed import alpaca_orders
from trading_automation.sandbox import Fault, SandboxProcess


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def test_a_subprocess_sandbox_serves_the_clients_and_obeys_its_control_endpoints() -> None:
    with SandboxProcess.start(
        "--today", "2024-06-19", "--frozen-clock", "--cash", "5000", "--no-seed-orders"
    ) as box:
        settings = load_settings(
            _env_file=None, **{name.lower(): value for name, value in box.env.items()}
        )
        box.alpaca.add_fault(Fault.http_status(503, times=1, path="/v2/account"))
        with (
            AlpacaClient.from_settings(settings, retry=FAST_RETRY) as alpaca,
            QuiverClient.from_settings(settings, retry=FAST_RETRY) as quiver,
        ):
            clock = alpaca.clock()
            account = alpaca.account()
            order = alpaca.submit_order(symbol="KKR", client_order_id="sub-1", qty=9)
            records = quiver.congress_trading(date(2024, 6, 19))
        state = box.alpaca.orders()
        requests = box.alpaca.requests()
        code = box.stop()

    assert clock.is_open is False, "Juneteenth"
    assert account.cash == 5000
    assert order.client_order_id == "sub-1"
    assert len(records) == 5
    assert state["accepted"] == 1
    assert [r["status"] for r in requests if r["path"] == "/v2/account"] == [503, 200]
    assert code == 0


def test_the_command_starts_the_account_with_the_seed_orders_unless_told_not_to() -> None:
    with (
        SandboxProcess.start("--quiet") as seeded,
        SandboxProcess.start("--no-seed-orders") as empty,
    ):
        held = seeded.alpaca.orders()
        none = empty.alpaca.orders()

    expected = {order["client_order_id"]: order["id"] for order in alpaca_orders()}
    assert {order["client_order_id"]: order["id"] for order in held["orders"]} == expected
    assert Decimal(held["cash"]) < 100_000
    assert (none["orders"], Decimal(none["cash"])) == ([], 100_000)


def test_stopping_the_subprocess_closes_its_ports() -> None:
    box = SandboxProcess.start("--quiet")
    ports = [port_of(box.info["alpaca"]), port_of(box.info["quiver"])]

    code = box.stop()

    assert code == 0
    for port in ports:
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", port), timeout=1),
        ):
            pass


def test_the_command_prints_the_urls_and_variables_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "trading_automation", "sandbox", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + 20
    # Unbuffered reads: what a buffered reader took would be lost to communicate().
    while time.monotonic() < deadline and b"QUIVER_API_KEY" not in seen:
        ready, _, _ = select.select([descriptor], [], [], 0.2)
        if ready:
            chunk = os.read(descriptor, 65536)
            if not chunk:
                break
            seen += chunk
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=10)
    printed = (seen + rest).decode()
    err = errors.decode()

    assert process.returncode == 0, err
    assert "Sandbox running on 127.0.0.1" in printed
    for name in (
        "ALPACA_BASE_URL=http://127.0.0.1:",
        "ALPACA_DATA_BASE_URL=http://127.0.0.1:",
        "QUIVER_BASE_URL=http://127.0.0.1:",
        "ALPACA_KEY_ID=sandbox-key-id",
        "ALPACA_SECRET_KEY=sandbox-secret-key",
        "QUIVER_API_KEY=sandbox-quiver-key",
        "PAPER_TRADING=true",
    ):
        assert f"export {name}" in printed
    assert "sandbox stopped" in printed
    assert "Traceback" not in err


def test_help_does_not_import_the_http_or_database_libraries() -> None:
    # sys.modules, not -X importtime: the latter does not see importlib.import_module, which is
    # how the command line loads a subcommand.
    code = (
        "import sys\n"
        "from trading_automation.cli import main\n"
        "try:\n"
        "    main(['sandbox', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    imported = set(result.stdout.splitlines())

    assert "--fixtures" in result.stdout
    assert "trading_automation.cli.sandbox_command" in imported
    for heavy in ("httpx", "pydantic", "sqlalchemy", "trading_automation.sandbox"):
        assert heavy not in imported
