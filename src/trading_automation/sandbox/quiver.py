"""Quiver's `bulk/congresstrading` endpoint, serving day files byte for byte.

A day file is named `YYYY-MM-DD.json` and holds the response body for `?date=YYYYMMDD` exactly
(so a file may hold `null`, `[]` or even garbage, to exercise the client). A day without a file
is an empty array. Without `date`, every day's records are served, newest day first, paged by
`page` (from 1) and `page_size` when given.

With a synthetic `history` (`SyntheticDisclosures`), it serves that instead: `?date=` the
records uploaded that day, and without `date` the whole history newest first, in pages of
`page_size` (default 1,000); a day set with `set_day` changes what `?date=` answers only.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from trading_automation import fixtures
from trading_automation.domain.jsonvalues import dumps, loads
from trading_automation.sandbox.history_disclosures import SyntheticDisclosures
from trading_automation.sandbox.server import Reply, Request, SandboxServer

DEFAULT_QUIVER_KEY = "sandbox-quiver-key"
BASE_PATH = "/beta"
ENDPOINT = f"{BASE_PATH}/bulk/congresstrading"
HISTORY_PAGE_SIZE = 1000

DayBody = bytes | str | list[dict[str, Any]] | None


def encode_day(body: DayBody) -> bytes:
    """A day's response body: bytes and text as given, records (or None) as JSON."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return dumps(body).encode()


class QuiverServer(SandboxServer):
    """Quiver's API over a directory of day files (the packaged fixtures by default)."""

    name = "quiver"

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_QUIVER_KEY,
        directory: Traversable | Path | None = None,
        history: SyntheticDisclosures | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.api_key = api_key
        self.history = history
        self.directory: Traversable | Path = directory or fixtures.quiver_directory()
        self._days_lock = threading.Lock()
        self._overrides: dict[date, bytes] = {}

    @property
    def base_url(self) -> str:
        """The `QUIVER_BASE_URL` to use: `http://127.0.0.1:PORT/beta`."""
        return self.url + BASE_PATH

    def set_day(self, day: date, body: DayBody) -> None:
        """Serve `body` for `day` instead of its file (records are encoded as JSON)."""
        with self._days_lock:
            self._overrides[day] = encode_day(body)

    def clear_days(self) -> None:
        """Serve the directory's files again."""
        with self._days_lock:
            self._overrides.clear()

    def day_body(self, day: date) -> bytes:
        """What `?date=` answers for `day`."""
        with self._days_lock:
            if day in self._overrides:
                return self._overrides[day]
        if self.history is not None:
            return dumps(self.history.day(day)).encode()
        entry = self.directory / f"{day.isoformat()}.json"
        return entry.read_bytes() if entry.is_file() else b"[]"

    def _days(self) -> list[date]:
        found = set(self._overrides)
        for entry in self.directory.iterdir():
            try:
                found.add(date.fromisoformat(entry.name.removesuffix(".json")))
            except ValueError:
                continue
        return sorted(found, reverse=True)

    def authenticate(self, request: Request) -> Reply | None:
        """`Authorization: Bearer <key>`, exactly."""
        header = request.headers.get("authorization")
        if header is None:
            return Reply(401, {"detail": "Authentication credentials were not provided."})
        if header != f"Bearer {self.api_key}":
            return Reply(401, {"detail": "Invalid token."})
        return None

    def route(self, request: Request) -> Reply:
        """`GET /beta/bulk/congresstrading[?date=YYYYMMDD]`."""
        if request.path.rstrip("/") != ENDPOINT or request.method != "GET":
            return Reply(404, {"detail": "Not found."})
        stamp = request.query.get("date")
        if stamp is None:
            return self._history(request.query)
        try:
            day = datetime.strptime(stamp, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            return Reply(400, {"detail": "Invalid date. Use the format YYYYMMDD."})
        return Reply(200, raw=self.day_body(day))

    def _history(self, query: dict[str, str]) -> Reply:
        """Every record, newest day first: one page of them when `page` or `page_size` is given
        (always with a synthetic history)."""
        paged = self.history is not None or "page" in query or "page_size" in query
        try:
            page = int(query.get("page", "1"))
            size = int(query.get("page_size", str(HISTORY_PAGE_SIZE)))
        except ValueError:
            return Reply(400, {"detail": "page and page_size must be whole numbers."})
        if page < 1 or size < 1:
            return Reply(400, {"detail": "page and page_size start at 1."})
        if self.history is not None:
            return Reply(200, self.history.page(page, size))
        records: list[Any] = []
        for day in self._days():
            try:
                body = loads(self.day_body(day) or b"null")
            except ValueError:
                continue
            records.extend(body if isinstance(body, list) else [])
        if not paged:
            return Reply(200, records)
        return Reply(200, records[(page - 1) * size : page * size])

    def control(self, request: Request) -> Reply | None:
        """Adds `days/YYYY-MM-DD` (POST a body to serve for that day; DELETE `days` to undo)."""
        name = request.path.removeprefix("/_sandbox/").strip("/")
        if name.startswith("days/") and request.method == "POST":
            day = date.fromisoformat(name.removeprefix("days/"))
            self.set_day(day, request.body)
            return Reply(200, {"day": day.isoformat(), "bytes": len(request.body)})
        if name == "days" and request.method == "DELETE":
            self.clear_days()
            return Reply(200, {"days": "reset"})
        return super().control(request)

    def reset(self) -> None:
        """Clear faults, the request log and day overrides."""
        super().reset()
        self.clear_days()
