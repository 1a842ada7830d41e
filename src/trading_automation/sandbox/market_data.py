"""The sandbox's `GET /v2/stocks/bars`: synthetic daily bars, paged and rate limited like Alpaca.

Bars come from `SyntheticBars`, ordered by symbol then day, at most `limit` (1 to 10,000) per
page, with an opaque `next_page_token` while more remain; symbols without bars in the range are
left out. Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (the Unix time the minute's allowance refills); past the limit the answer is
Alpaca's 429. Only bars requests count against it. The window runs on the sandbox's `monotonic`
clock and the reset is written on its `wall` clock, so tests drive both with a fake clock.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from datetime import date

from trading_automation.sandbox.history_bars import SyntheticBars, bar_json
from trading_automation.sandbox.order_requests import error
from trading_automation.sandbox.server import Reply, Request

DEFAULT_REQUESTS_PER_MINUTE = 200
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
_ADJUSTMENTS = ("raw", "split", "dividend", "all")


class RateWindow:
    """A fixed one-minute window of `limit` requests (None: unlimited, headers still sent)."""

    def __init__(
        self,
        limit: int | None = DEFAULT_REQUESTS_PER_MINUTE,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        period_s: float = 60.0,
    ) -> None:
        self.limit = limit
        self.period_s = period_s
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._started = monotonic()
        self._used = 0

    def take(self) -> tuple[bool, dict[str, str]]:
        """Count one request: whether it is within the limit, and the headers to answer with."""
        with self._lock:
            now = self._monotonic()
            if now - self._started >= self.period_s:
                self._started, self._used = now, 0
            self._used += 1
            shown = self.limit if self.limit is not None else 10_000
            remaining = max(0, shown - self._used)
            reset = self._wall() + (self._started + self.period_s - now)
            headers = {
                "X-RateLimit-Limit": str(shown),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(int(reset)),
            }
            return self.limit is None or self._used <= self.limit, headers

    def set_limit(self, limit: int | None) -> None:
        """Allow `limit` requests a minute from now on (None: no limit); starts a new window."""
        with self._lock:
            self.limit = limit
            self._started, self._used = self._monotonic(), 0


class BarsEndpoint:
    """Answers `GET /v2/stocks/bars` from synthetic bars, as of the sandbox's `today`."""

    def __init__(
        self, bars: SyntheticBars, *, today: Callable[[], date], window: RateWindow
    ) -> None:
        self.bars = bars
        self.today = today
        self.window = window

    def answer(self, request: Request) -> Reply:
        """The page the query asks for, or Alpaca's error for a bad query or too many requests."""
        allowed, headers = self.window.take()
        if not allowed:
            return Reply(429, {"code": 42910000, "message": "too many requests"}, headers=headers)
        reply = self._page(request.query)
        reply.headers.update(headers)
        return reply

    def _page(self, query: dict[str, str]) -> Reply:
        symbols = sorted({s.strip().upper() for s in query.get("symbols", "").split(",") if s})
        if not symbols:
            return error(400, "symbols is required", code=40010001)
        invalid = [symbol for symbol in symbols if not _SYMBOL.match(symbol)]
        if invalid:
            return error(400, f"invalid symbol: {invalid[0]}", code=40010001)
        if query.get("timeframe") != "1Day":
            return error(400, "the sandbox serves timeframe=1Day only", code=40010001)
        adjustment = query.get("adjustment", "raw")
        if adjustment not in _ADJUSTMENTS:
            return error(400, f"invalid adjustment: {adjustment}", code=40010001)
        try:
            start = date.fromisoformat(query["start"][:10])
            end = date.fromisoformat(query.get("end", self.today().isoformat())[:10])
            limit = int(query.get("limit", DEFAULT_LIMIT))
            position = _decode(query["page_token"]) if query.get("page_token") else None
        except (KeyError, ValueError):
            return error(400, "start, end, limit or page_token is invalid", code=40010001)
        if not 1 <= limit <= MAX_LIMIT:
            return error(400, f"limit must be 1 to {MAX_LIMIT}", code=40010001)
        body = self._body(
            symbols, start=start, end=end, adjustment=adjustment, limit=limit, position=position
        )
        return Reply(200, raw=body)

    def _body(
        self,
        symbols: list[str],
        *,
        start: date,
        end: date,
        adjustment: str,
        limit: int,
        position: tuple[str, date] | None,
    ) -> bytes:
        today = self.today()
        parts: list[str] = []
        taken = 0
        token: str | None = None
        for symbol in symbols:
            if position is not None and symbol < position[0]:
                continue
            first = position[1] if position is not None and symbol == position[0] else start
            items: list[str] = []
            for bar in self.bars.bars(symbol, first, end, adjustment=adjustment, today=today):
                if taken == limit:
                    token = _encode(symbol, bar.day)
                    break
                items.append(bar_json(bar))
                taken += 1
            if items:
                parts.append(f'"{symbol}":[{",".join(items)}]')
            if token is not None:
                break
        next_token = f'"{token}"' if token else "null"
        return f'{{"bars":{{{",".join(parts)}}},"next_page_token":{next_token}}}'.encode()


def _encode(symbol: str, day: date) -> str:
    return base64.urlsafe_b64encode(f"{symbol}|{day.isoformat()}".encode()).decode()


def _decode(token: str) -> tuple[str, date]:
    symbol, _, day = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
    return symbol, date.fromisoformat(day)
