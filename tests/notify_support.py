"""Real receivers for alerts: a JSON webhook server and an SMTP server, both on 127.0.0.1.

Apprise delivers to them exactly as to a real service (`json://` POSTs a JSON document,
`mailto://` speaks SMTP), so the tests assert the messages that arrive. A webhook can also fail
(HTTP 500) or hang until the test ends, to show that neither holds a run back.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Webhooks:
    """A local HTTP server: POST /ok/... records the JSON body, /fail/... answers 500, /hang/...
    never answers until the test ends."""

    port: int
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, mode: str = "ok", name: str = "hook") -> str:
        """An Apprise URL of this server (`mode`: ok, fail or hang)."""
        return f"json://127.0.0.1:{self.port}/{mode}/{name}"

    def bodies(self, name: str = "hook") -> list[dict[str, Any]]:
        """The JSON documents received by the `ok` hook `name`."""
        return [body for path, body in self.received if path == f"/ok/{name}"]


@pytest.fixture
def webhooks() -> Iterator[Webhooks]:
    """JSON webhooks on 127.0.0.1, stopped (and any hanging request released) after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    hooks = Webhooks(server.server_address[1])
    server.hooks = hooks  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        hooks.release.set()
        server.shutdown()
        server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        hooks: Webhooks = self.server.hooks  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path.startswith("/hang/"):
            hooks.release.wait()
        if self.path.startswith("/fail/"):
            self.send_response(500)
            self.end_headers()
            return
        hooks.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Mailbox:
    """A local SMTP server's port and the messages it accepted."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def url(self, to: str = "ops@example.com") -> str:
        """An Apprise mailto:// URL that delivers to this server in plain SMTP."""
        return f"mailto://127.0.0.1:{self.port}?from=trader@example.com&to={to}&mode=insecure"


class _SmtpHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.messages.append(message)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server (aiosmtpd) on 127.0.0.1, stopped after the test."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd needs a port number before it starts
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(port)
    controller = Controller(_SmtpHandler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def plain_text(message: EmailMessage) -> str:
    """The text of a received e-mail."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
