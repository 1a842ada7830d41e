"""Protections around the dashboard, as plain ASGI middleware.

- `ReadOnlyMethods`: only GET and HEAD exist; anything else is 405, whatever the path.
- `BasicAuth`: HTTP basic auth (required off loopback), compared in constant time; a client that
  keeps sending wrong credentials is refused with 429 for a while, so passwords cannot be guessed
  at full speed.
- `RateLimit`: a token bucket per client address on `/api/`; 429 with Retry-After when empty.
- `SecurityHeaders`: no caching, no framing, no sniffing, and a policy allowing only our own assets.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "HEAD")
API_PREFIX = "/api/"
REALM = "trading-automation dashboard"
MAX_TRACKED_CLIENTS = 10_000
FAILED_LOGINS_PER_MINUTE = 10

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


async def _plain(
    send: Send, status: int, text: str, headers: dict[str, str] | None = None, *, json_body: bool
) -> None:
    body = (json.dumps({"error": text}) if json_body else text + "\n").encode()
    content_type = "application/json" if json_body else "text/plain; charset=utf-8"
    raw = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class ReadOnlyMethods:
    """Refuse every method but GET and HEAD with 405, before any other work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ALLOWED_METHODS:
            await _plain(
                send,
                405,
                "the dashboard is read-only: only GET and HEAD are allowed",
                {"Allow": ", ".join(ALLOWED_METHODS)},
                json_body=scope["path"].startswith(API_PREFIX),
            )
            return
        await self.app(scope, receive, send)


class BasicAuth:
    """Require HTTP basic auth with one user name and password on every path."""

    def __init__(self, app: ASGIApp, *, username: str, password: str) -> None:
        self.app = app
        self._expected = f"{username}:{password}".encode()
        self.failures = TokenBuckets(FAILED_LOGINS_PER_MINUTE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = _client(scope)
        wait = self.failures.wait(client)
        if wait is not None:
            await _plain(
                send,
                429,
                "too many failed logins: wait before trying again",
                {"Retry-After": str(max(1, math.ceil(wait)))},
                json_body=scope["path"].startswith(API_PREFIX),
            )
            return
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        if any(name == b"authorization" for name, _value in scope["headers"]):
            self.failures.take(client)  # a wrong guess; asking without credentials is not one
        await _plain(
            send,
            401,
            "authentication required",
            {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
            json_body=scope["path"].startswith(API_PREFIX),
        )

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, encoded = value.partition(b" ")
                if scheme.lower() != b"basic":
                    return False
                try:
                    given = base64.b64decode(encoded.strip(), validate=True)
                except (binascii.Error, ValueError):
                    return False
                # Constant time over the whole "user:password", so neither part leaks by timing.
                return hmac.compare_digest(given, self._expected)
        return False


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Per-client token buckets: `per_minute` requests a minute, refilled continuously."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float | None:
        """Take one token for `client`: None if allowed, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= MAX_TRACKED_CLIENTS:
                    self._forget_idle(now)
                bucket = self._buckets[client] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / self.rate

    def wait(self, client: str) -> float | None:
        """Like `take` without taking: None while `client` has a token left."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                return None
            tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            return None if tokens >= 1 else (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # A bucket that would be full again carries no information: drop it.
        full_after = self.capacity / self.rate
        for client in [c for c, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[client]


class RateLimit:
    """Limit `/api/` requests per client address; 429 with Retry-After (whole seconds)."""

    def __init__(self, app: ASGIApp, *, per_minute: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            wait = self.buckets.take(_client(scope))
            if wait is not None:
                await _plain(
                    send,
                    429,
                    "too many requests: slow down",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                    json_body=True,
                )
                return
        await self.app(scope, receive, send)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class SecurityHeaders:
    """Add headers that keep pages out of caches and frames and lock down what they may load."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
