"""Alpaca's historical bars (`GET /v2/stocks/bars`, market-data API): the query, the response
models and the rate-limit headers every market-data answer carries.

One request asks for many symbols over one date range; the answer holds up to `limit` bars in
all, ordered by symbol then time, and a `next_page_token` while more remain. Symbols without bars
in the range are absent from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from trading_automation.clients.alpaca_params import symbol_param
from trading_automation.clients.errors import REQUEST_ID_HEADER, UnexpectedResponseError
from trading_automation.clients.http import JsonHttp
from trading_automation.domain.bars import ADJUSTMENTS, Adjustment
from trading_automation.domain.payloads import ApiDatetime, ApiDecimal, MaybeDecimal, api_number
from trading_automation.errors import InvalidValueError

BARS_PATH = "/v2/stocks/bars"
MAX_BARS_LIMIT = 10_000
FEEDS = ("iex", "sip")
TIMEFRAMES = ("1Day",)
LIMIT_HEADER = "X-RateLimit-Limit"
REMAINING_HEADER = "X-RateLimit-Remaining"
RESET_HEADER = "X-RateLimit-Reset"


class Bar(BaseModel):
    """One bar of `GET /v2/stocks/bars`, numbers exact; Alpaca's one-letter keys read as words
    (`t` timestamp, `o` open, `h` high, `l` low, `c` close, `v` volume, `n` trades, `vw` VWAP)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    timestamp: ApiDatetime = Field(alias="t")
    open: ApiDecimal = Field(alias="o")
    high: ApiDecimal = Field(alias="h")
    low: ApiDecimal = Field(alias="l")
    close: ApiDecimal = Field(alias="c")
    volume: ApiDecimal = Field(alias="v")
    trade_count: Annotated[int | None, BeforeValidator(api_number)] = Field(default=None, alias="n")
    vwap: MaybeDecimal = Field(default=None, alias="vw")


def _no_bars(value: object) -> object:
    # The API writes `"bars": null` (or leaves it out) when no symbol has a bar in the range.
    return {} if value is None else value


class BarsPage(BaseModel):
    """One page of `GET /v2/stocks/bars`: bars by symbol, and the token of the next page."""

    model_config = ConfigDict(extra="allow", frozen=True)

    bars: Annotated[dict[str, list[Bar]], BeforeValidator(_no_bars)] = Field(default_factory=dict)
    next_page_token: str | None = None
    # What the response's X-RateLimit-* headers said (not part of the body).
    rate_limit: RateLimit | None = Field(default=None, exclude=True)

    @property
    def bar_count(self) -> int:
        """How many bars the page holds, over every symbol."""
        return sum(len(items) for items in self.bars.values())


@dataclass(frozen=True)
class RateLimit:
    """Alpaca's X-RateLimit-* headers: requests allowed a minute, left now, and the Unix time
    (seconds) the allowance refills."""

    limit: int | None
    remaining: int | None
    reset_at: float | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """The headers' values; None when the response carried none of them."""
        values = [_number(headers.get(name)) for name in (LIMIT_HEADER, REMAINING_HEADER)]
        reset = _number(headers.get(RESET_HEADER))
        if values == [None, None] and reset is None:
            return None
        limit, remaining = (None if value is None else int(value) for value in values)
        return cls(limit=limit, remaining=remaining, reset_at=reset)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None


def bars_params(
    symbols: Iterable[str],
    *,
    start: date,
    end: date,
    timeframe: str,
    adjustment: Adjustment,
    feed: str | None,
    limit: int,
    page_token: str | None,
) -> dict[str, str]:
    """The query of `GET /v2/stocks/bars`, each argument checked."""
    names = sorted({symbol_param(name) for name in symbols})
    if not names:
        raise InvalidValueError("symbols", "give at least one symbol")
    if end < start:
        raise InvalidValueError("end", f"{end} is before start {start}")
    if timeframe not in TIMEFRAMES:
        raise InvalidValueError("timeframe", f"expected one of {', '.join(TIMEFRAMES)}")
    if adjustment not in ADJUSTMENTS:
        raise InvalidValueError("adjustment", f"expected one of {', '.join(ADJUSTMENTS)}")
    if feed is not None and feed not in FEEDS:
        raise InvalidValueError("feed", f"expected one of {', '.join(FEEDS)}")
    if not 1 <= limit <= MAX_BARS_LIMIT:
        raise InvalidValueError("limit", f"must be 1 to {MAX_BARS_LIMIT}, got {limit}")
    params = {
        "symbols": ",".join(names),
        "timeframe": timeframe,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "adjustment": adjustment,
        "limit": str(limit),
    }
    if feed is not None:
        params["feed"] = feed
    if page_token:
        params["page_token"] = page_token
    return params


def request_bars(
    http: JsonHttp, base_url: str, params: dict[str, str], *, service: str
) -> BarsPage:
    """Send one `GET /v2/stocks/bars` and read its page; `UnexpectedResponseError` when the body
    is not one."""
    response = http.request(
        "GET", base_url + BARS_PATH, path=BARS_PATH, service=service, params=params
    )
    body = http.json(response, path=BARS_PATH, service=service)
    problem = None
    if isinstance(body, dict):
        try:
            page = BarsPage.model_validate(body)
            return page.model_copy(update={"rate_limit": RateLimit.from_headers(response.headers)})
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "body"
            problem = f"unreadable bars: {where}: {first.get('msg', 'invalid')}"
    raise UnexpectedResponseError(
        problem or f"expected a JSON object of bars, got {type(body).__name__}",
        service=service,
        method="GET",
        path=BARS_PATH,
        status_code=response.status_code,
        request_id=response.headers.get(REQUEST_ID_HEADER),
    )


BarsPage.model_rebuild()
