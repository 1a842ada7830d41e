"""A local HTTP server on 127.0.0.1 running in a background thread, with faults and a request log.

Subclasses implement `route()` (the API) and may extend `control()` (the `/_sandbox/...`
endpoints, which need no credentials and are never subject to faults).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from trading_automation.domain.jsonvalues import dumps, loads
from trading_automation.sandbox.faults import AFTER_ACCEPT_KINDS, BEFORE_KINDS, Fault, FaultPlan

CONTROL_PREFIX = "/_sandbox/"
LOOPBACK = "127.0.0.1"

# Realistic default bodies for scripted statuses.
_STATUS_BODIES: dict[int, dict[str, Any]] = {
    429: {"code": 42910000, "message": "rate limit exceeded"},
    500: {"code": 50010000, "message": "internal server error occurred"},
    502: {"message": "Bad Gateway"},
    503: {"message": "Service Unavailable"},
    504: {"message": "Gateway Timeout"},
}


@dataclass
class Request:
    """What a handler sees of one request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON, numbers exact (ValueError when it is not JSON)."""
        return loads(self.body) if self.body else None


@dataclass
class Reply:
    """What a handler answers: a JSON value (or raw bytes), a status and extra headers."""

    status: int = 200
    payload: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    accepted_order: bool = False

    def body(self) -> bytes:
        """The bytes to send (a `Decimal` goes out as a number with all its digits)."""
        if self.raw is not None:
            return self.raw
        return dumps(self.payload).encode()


@dataclass(frozen=True)
class LoggedRequest:
    """One request a server received (never its headers: they hold credentials)."""

    method: str
    path: str
    query: dict[str, str]
    status: int | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
        }


class _Dropped(Exception):
    """The connection was closed on purpose, without an answer."""


class SandboxServer:
    """One API server; start it, point a client at `url`, stop it."""

    name = "sandbox"

    def __init__(self, *, port: int = 0, log: Callable[[str], None] | None = None) -> None:
        self._port = port
        self._log = log
        self.faults = FaultPlan()
        self._requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._held = threading.Condition()
        self._generation = 0
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on 127.0.0.1 (port 0: the OS picks a free one) and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer((LOOPBACK, self._port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"sandbox-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held answers, close every connection and the listening socket."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        self.release()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _close_quietly(connection)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError(f"the {self.name} sandbox is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{LOOPBACK}:{self.port}"

    # --- inspection ---------------------------------------------------------------------------

    def requests(self) -> list[LoggedRequest]:
        """Every API request received so far (control requests excluded), oldest first."""
        with self._lock:
            return list(self._requests)

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """How many API requests matched `method` and `path` (exact; None matches any)."""
        return sum(
            1
            for logged in self.requests()
            if (method is None or logged.method == method) and (path is None or logged.path == path)
        )

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._requests.clear()

    def release(self) -> None:
        """Let every answer held now (`hold_after_accept`) go at once."""
        with self._held:
            self._generation += 1
            self._held.notify_all()

    def _hold(self, seconds: float) -> None:
        with self._held:
            generation = self._generation
            self._held.wait_for(
                lambda: self._generation != generation or self._stopping.is_set(), timeout=seconds
            )

    def reset(self) -> None:
        """Clear faults and the request log; subclasses also reset their state."""
        self.faults.clear()
        self.clear_requests()

    # --- to implement -------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        """Answer an API request."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> Reply | None:
        """None when the request's credentials are right, else the refusal."""
        return None

    def control(self, request: Request) -> Reply | None:
        """Answer a `/_sandbox/...` request; None when the path is unknown."""
        name = request.path.removeprefix(CONTROL_PREFIX).strip("/")
        if name == "faults":
            if request.method == "POST":
                body = request.json()
                items = body if isinstance(body, list) else [body]
                self.faults.add(*(Fault.from_json(item) for item in items))
                return Reply(201, {"faults": [f.to_json() for f in self.faults.pending()]})
            if request.method == "DELETE":
                self.faults.clear()
                return Reply(200, {"faults": []})
            return Reply(200, {"faults": [f.to_json() for f in self.faults.pending()]})
        if name == "requests":
            if request.method == "DELETE":
                self.clear_requests()
            return Reply(200, {"requests": [logged.to_json() for logged in self.requests()]})
        if name == "release" and request.method == "POST":
            self.release()
            return Reply(200, {"released": True})
        if name == "reset" and request.method == "POST":
            self.reset()
            return Reply(200, {"reset": True})
        return None

    # --- request handling ---------------------------------------------------------------------

    def _serve(self, handler: _Handler, request: Request) -> None:
        if request.path.startswith(CONTROL_PREFIX):
            try:
                reply = self.control(request) or Reply(404, {"message": "unknown control path"})
            except (ValueError, TypeError, KeyError) as error:
                reply = Reply(400, {"message": f"bad control request: {error}"})
            handler.send(reply)
            return
        index = self._record(request)
        # The log is final before the client can see the answer (or the dropped connection).
        try:
            reply = self._answer(request)
        except _Dropped:
            self._complete(index, None, request)
            raise
        except Exception:
            self._complete(index, 500, request)
            handler.send(Reply(500, {"message": "sandbox error"}))
            raise
        self._complete(index, reply.status, request)
        handler.send(reply)

    def _answer(self, request: Request) -> Reply:
        fault = self.faults.take(request.method, request.path, BEFORE_KINDS)
        if fault is not None:
            if fault.kind == "latency":
                self._stopping.wait(fault.seconds)
            elif fault.kind == "drop":
                raise _Dropped
            elif fault.kind == "status":
                status = fault.status or 503
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                payload = loads(fault.body) if fault.body else _STATUS_BODIES.get(status, {})
                return Reply(status, payload, headers=headers)
            elif fault.kind == "malformed":
                raw = (fault.body if fault.body is not None else "").encode()
                return Reply(fault.status or 200, raw=raw)
        reply = self.authenticate(request) or self.route(request)
        if reply.accepted_order:
            after = self.faults.take(request.method, request.path, AFTER_ACCEPT_KINDS)
            if after is not None:
                if after.kind == "drop_after_accept":
                    raise _Dropped
                if after.kind == "error_after_accept":
                    status = after.status or 500
                    return Reply(status, _STATUS_BODIES.get(status, {}))
                if after.kind == "hold_after_accept":
                    self._hold(after.seconds)
        return reply

    def _record(self, request: Request) -> int:
        with self._lock:
            self._requests.append(LoggedRequest(request.method, request.path, request.query, None))
            return len(self._requests) - 1

    def _complete(self, index: int, status: int | None, request: Request) -> None:
        with self._lock:
            if index < len(self._requests):
                logged = self._requests[index]
                self._requests[index] = LoggedRequest(
                    logged.method, logged.path, logged.query, status
                )
        if self._log is not None:
            shown = "dropped" if status is None else str(status)
            self._log(f"{self.name:<12} {request.method:<6} {request.path} -> {shown}")

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "trading-automation-sandbox"
    sys_version = ""
    timeout = 60
    # Headers and body go out in two writes; without this, Nagle's algorithm and delayed ACKs
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    sandbox: SandboxServer

    def setup(self) -> None:
        super().setup()
        self.sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.sandbox._track(self.connection, add=False)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query={key: values[-1] for key, values in parse_qs(parts.query).items()},
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        try:
            self.sandbox._serve(self, request)
        except _Dropped:
            self.close_connection = True
            _close_quietly(self.connection)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (killed, or timed out) while an answer was held.
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _dispatch

    def send(self, reply: Reply) -> int:
        body = reply.body()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-ID", uuid.uuid4().hex)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        return reply.status

    def log_message(self, format: str, *args: Any) -> None:
        # Requests are logged by the sandbox itself, without headers.
        return

    def log_error(self, format: str, *args: Any) -> None:
        if not self.sandbox._stopping.is_set():
            print(f"sandbox {self.sandbox.name}: {format % args}", file=sys.stderr)


def _handler_for(sandbox: SandboxServer) -> type[_Handler]:
    return type(f"{type(sandbox).__name__}Handler", (_Handler,), {"sandbox": sandbox})


def _close_quietly(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.close()
