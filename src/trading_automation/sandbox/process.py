"""The sandbox in a subprocess, and a small HTTP client of its `/_sandbox/...` control endpoints.

with SandboxProcess.start("--today", "2024-06-20") as sandbox:
    sandbox.alpaca.add_fault(Fault.http_status(503, times=2))
    run_the_worker(env=sandbox.env)
    assert sandbox.alpaca.orders()["accepted"] == 3
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self
from urllib.parse import quote

from trading_automation.domain.jsonvalues import dumps, loads
from trading_automation.sandbox.faults import Fault
from trading_automation.sandbox.quiver import DayBody, encode_day

if TYPE_CHECKING:
    from trading_automation.sandbox.orders import OrderScript


class SandboxControlError(RuntimeError):
    """A control request was refused: the message holds the sandbox's explanation."""


class SandboxControl:
    """Scripts one sandbox server (in-process or in a subprocess) over HTTP."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SandboxControl({self.url!r})"

    def call(self, method: str, name: str, body: Any = None, *, raw: bytes | None = None) -> Any:
        """Send one control request; return its JSON answer."""
        data = raw if raw is not None else (None if body is None else dumps(body).encode())
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            f"{self.url}/_sandbox/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise SandboxControlError(
                f"{method} /_sandbox/{name}: HTTP {error.code} {detail}"
            ) from None

    # --- every server -------------------------------------------------------------------------

    def add_fault(self, *faults: Fault) -> list[dict[str, Any]]:
        """Script faults; returns every pending fault."""
        answer = self.call("POST", "faults", [fault.to_json() for fault in faults])
        return list(answer["faults"])

    def faults(self) -> list[dict[str, Any]]:
        """The faults not yet used up."""
        return list(self.call("GET", "faults")["faults"])

    def requests(self) -> list[dict[str, Any]]:
        """Every API request the server received (method, path, query, status)."""
        return list(self.call("GET", "requests")["requests"])

    def release(self) -> None:
        """Let held answers go now."""
        self.call("POST", "release", {})

    def reset(self) -> None:
        """Clear faults, the request log and (Alpaca) the account, (Quiver) day overrides."""
        self.call("POST", "reset", {})

    # --- Alpaca trading server ----------------------------------------------------------------

    def orders(self) -> dict[str, Any]:
        """`orders` (as the API shows them), `accepted`, `submissions` per client order id,
        `cash`, `buying_power`, `now`."""
        answer: dict[str, Any] = self.call("GET", "orders")
        return answer

    def set_clock(self, now: datetime, *, ticks: bool | None = None) -> dict[str, Any]:
        """Move the sandbox clock; returns the new `/v2/clock` answer."""
        body: dict[str, Any] = {"now": now.isoformat()}
        if ticks is not None:
            body["ticks"] = ticks
        answer: dict[str, Any] = self.call("POST", "clock", body)
        return answer

    def set_prices(self, prices: Mapping[str, Decimal | str]) -> None:
        """Set latest trade prices."""
        self.call("POST", "prices", {symbol: str(price) for symbol, price in prices.items()})

    def set_script(self, script: OrderScript, symbol: str | None = None) -> None:
        """How new orders (of `symbol`, or all) move along."""
        self.call("POST", "scripts", {"symbol": symbol, **script.to_json()})

    def set_non_fractionable(self, symbols: list[str]) -> None:
        """Which symbols refuse notional and fractional orders."""
        self.call("POST", "non_fractionable", {"symbols": symbols})

    def positions(self) -> list[dict[str, Any]]:
        """The positions as `GET /v2/positions` shows them (without credentials)."""
        return list(self.call("GET", "positions")["positions"])

    def adjust_position(self, symbol: str, delta: Decimal | int | str) -> dict[str, Any] | None:
        """Buy (`delta` > 0) or sell (< 0) shares by hand, outside any order, like a user at the
        broker; returns the position after (None once none is left)."""
        answer = self.call("POST", f"positions/{quote(symbol, safe='')}", {"qty": str(delta)})
        position: dict[str, Any] | None = answer["position"]
        return position

    # --- Quiver server ------------------------------------------------------------------------

    def set_day(self, day: date, body: DayBody) -> None:
        """Serve `body` for `day` (records are encoded as JSON; bytes and text are sent as is)."""
        self.call("POST", f"days/{day.isoformat()}", raw=encode_day(body))


class SandboxProcess:
    """`trading-automation sandbox --json` in a subprocess; stop it with `stop()` (SIGTERM)."""

    def __init__(self, process: subprocess.Popen[bytes], info: dict[str, Any], log: IO[bytes]):
        self.process = process
        self.info = info
        self._log = log
        self.env: dict[str, str] = dict(info["env"])
        self.alpaca = SandboxControl(info["alpaca"])
        self.alpaca_data = SandboxControl(info["alpaca_data"])
        self.quiver = SandboxControl(info["quiver_server"])

    @classmethod
    def start(
        cls,
        *options: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> SandboxProcess:
        """Start the sandbox with command-line `options`; return once it listens."""
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "trading_automation", "sandbox", "--json", *options],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else dict(os.environ),
        )
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                line = process.stdout.readline()
                break
        if not line:
            process.kill()
            process.wait()
            log.seek(0)
            errors = log.read().decode(errors="replace")
            log.close()
            raise RuntimeError(f"the sandbox subprocess did not start: {errors.strip()}")
        return cls(process, json.loads(line), log)

    def stop(self, timeout: float = 10.0) -> int:
        """Ask the sandbox to stop (SIGTERM), kill it after `timeout`; return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        return int(self.process.returncode)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
