"""Scriptable faults: what a sandbox server does wrong, to which requests, how many times.

A fault matches requests by method and path prefix (None matches any) and applies to the next
`times` matching requests (None: until cleared), after letting the first `skip` of them through
untouched (`skip=1`: fail a resend but not the first send). Faults of the `*_after_accept` kinds
apply only once an order was accepted, to the answer of its `POST /v2/orders`: the
outcome-unknown case.

| kind | effect |
| --- | --- |
| `latency` | wait `seconds`, then answer normally |
| `status` | answer `status` (e.g. 503, or 429 with `retry_after`) without doing anything |
| `drop` | close the connection without answering, without doing anything |
| `malformed` | answer `status` (default 200) with `body` (default: truncated JSON) |
| `drop_after_accept` | accept the order, then close the connection without answering |
| `error_after_accept` | accept the order, then answer `status` (default 500) |
| `hold_after_accept` | accept the order, then hold the answer `seconds` (or until released) |
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

FaultKind = Literal[
    "latency",
    "status",
    "drop",
    "malformed",
    "drop_after_accept",
    "error_after_accept",
    "hold_after_accept",
]
BEFORE_KINDS: frozenset[str] = frozenset({"latency", "status", "drop", "malformed"})
AFTER_ACCEPT_KINDS: frozenset[str] = frozenset(
    {"drop_after_accept", "error_after_accept", "hold_after_accept"}
)
DEFAULT_MALFORMED_BODY = '{"id": "9f1c2a", "status": "acc'
ORDERS_PATH = "/v2/orders"


@dataclass
class Fault:
    """One scripted misbehaviour (see the module docstring for the kinds)."""

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    seconds: float = 0.0
    status: int | None = None
    retry_after: str | None = None
    body: str | None = None
    skip: int = 0

    def __post_init__(self) -> None:
        if self.kind not in BEFORE_KINDS | AFTER_ACCEPT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        if self.skip < 0:
            raise ValueError("skip must not be negative")
        if self.method:
            self.method = self.method.upper()
        if self.kind in AFTER_ACCEPT_KINDS:
            self.method = self.method or "POST"
            self.path = self.path or ORDERS_PATH

    @classmethod
    def latency(cls, seconds: float, **match: Any) -> Fault:
        """Delay matching requests by `seconds`."""
        return cls("latency", seconds=seconds, **match)

    @classmethod
    def http_status(
        cls, status: int, *, retry_after: float | str | None = None, **match: Any
    ) -> Fault:
        """Answer matching requests with `status` (a 5xx burst, or 429 with `Retry-After`)."""
        after = None if retry_after is None else str(retry_after)
        return cls("status", status=status, retry_after=after, **match)

    @classmethod
    def drop(cls, **match: Any) -> Fault:
        """Close the connection of matching requests without answering or acting."""
        return cls("drop", **match)

    @classmethod
    def malformed(
        cls, body: str = DEFAULT_MALFORMED_BODY, status: int = 200, **match: Any
    ) -> Fault:
        """Answer matching requests with a body that is not what the API sends."""
        return cls("malformed", body=body, status=status, **match)

    @classmethod
    def drop_after_accept(cls, **match: Any) -> Fault:
        """Accept the next order, then drop the connection: the client cannot know."""
        return cls("drop_after_accept", **match)

    @classmethod
    def error_after_accept(cls, status: int = 500, **match: Any) -> Fault:
        """Accept the next order, then answer a server error."""
        return cls("error_after_accept", status=status, **match)

    @classmethod
    def hold_after_accept(cls, seconds: float, **match: Any) -> Fault:
        """Accept the next order, then hold the answer for `seconds`."""
        return cls("hold_after_accept", seconds=seconds, **match)

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to a request."""
        if self.method and self.method != method.upper():
            return False
        return not self.path or path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what `POST /_sandbox/faults` takes)."""
        return {
            key: value
            for key, value in asdict(self).items()
            if value is not None and not (key == "skip" and value == 0)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """The fault a `POST /_sandbox/faults` body describes."""
        known = {field.name for field in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        if values.get("retry_after") is not None:
            values["retry_after"] = str(values["retry_after"])
        return cls(**values)


class FaultPlan:
    """The faults scripted on one server, consumed as requests arrive (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, *faults: Fault) -> None:
        """Script faults; they apply in the order added.

        The plan keeps copies: counting uses never changes the caller's `Fault` objects, so one
        can be scripted again (on another server, or in another test).
        """
        with self._lock:
            self._faults.extend(replace(fault) for fault in faults)

    def clear(self) -> None:
        """Remove every scripted fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults not yet used up."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str, kinds: frozenset[str]) -> Fault | None:
        """The first fault of `kinds` matching the request, counting one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None
