"""Serving the dashboard with uvicorn, on a socket bound before the server starts.

Binding first lets port 0 pick a free port and lets the caller print the real address (and fail
with a clear message when the port is taken) before anything else happens.
"""

from __future__ import annotations

import signal
import socket
import threading
from types import FrameType, TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from trading_automation.errors import TradingAutomationError


class AddressInUseError(TradingAutomationError):
    """The dashboard's address could not be bound: pick another DASHBOARD_PORT (or --port), or
    stop whatever listens there."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Naming the protocol matters: asyncio sets TCP_NODELAY only on sockets whose proto is TCP,
    # and without it a response's header and body writes wait ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        raise AddressInUseError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL a browser on this machine can open for a bound socket."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104 - describing the bound address, not binding it
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def config(app: ASGIApp, *, access_log: bool = True) -> uvicorn.Config:
    """uvicorn's settings for the dashboard: our logging, no server header."""
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=access_log,
        server_header=False,
        lifespan="on",
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )


class _Stopped(Exception):
    """Raised by the signal uvicorn passes on once it has shut down gracefully."""


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    raise _Stopped


def serve(app: ASGIApp, sock: socket.socket) -> None:
    """Serve until SIGINT (Ctrl-C) or SIGTERM, then return normally.

    uvicorn handles both signals itself and, after a graceful shutdown, raises the signal again
    for the previous handler: that handler is ours, so the command can clean up (stop the demo's
    sandbox, close the database) and exit 0 instead of dying with the signal.
    """
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(config(app)).run(sockets=[sock])
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class BackgroundServer:
    """The dashboard served from a thread (tests, tools): `with BackgroundServer(app) as server`."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = bind(host, port)
        self.url = url_of(self._socket)
        self._server = uvicorn.Server(config(app, access_log=False))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the dashboard server stopped while starting")
            self._thread.join(0.005)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()
