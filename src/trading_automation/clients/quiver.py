"""Quiver Quantitative client: congressional trading disclosures (SPEC §5)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx

from trading_automation import __version__
from trading_automation.clients.errors import REQUEST_ID_HEADER, UnexpectedResponseError
from trading_automation.clients.http import (
    HeaderAuth,
    JsonHttp,
    PooledClient,
    RequestGate,
    RetryPolicy,
    Timeouts,
)
from trading_automation.errors import ConfigurationError, InvalidValueError

if TYPE_CHECKING:
    from trading_automation.config import Settings

DEFAULT_QUIVER_BASE_URL = "https://api.quiverquant.com/beta"
_SERVICE = "quiver"


class QuiverClient(PooledClient):
    """Quiver's `bulk/congresstrading` endpoint, over one pool of connections."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_QUIVER_BASE_URL,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise InvalidValueError("api_key", "the Quiver API key is required")
        self.base_url = base_url.rstrip("/")
        self._http = JsonHttp(
            service=_SERVICE,
            auth=HeaderAuth({"Authorization": f"Bearer {api_key}"}),
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            user_agent=f"trading-automation/{__version__}",
            sleep=sleep,
            monotonic=monotonic,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> QuiverClient:
        """A client configured by QUIVER_* and HTTP_* settings; keyword overrides win."""
        key = settings.quiver_api_key
        if key is None or not key.get_secret_value():
            raise ConfigurationError(["QUIVER_API_KEY: required to call Quiver"])
        options: dict[str, Any] = {
            "api_key": key.get_secret_value(),
            "base_url": settings.quiver_base_url,
            "timeouts": Timeouts.from_settings(settings),
            "retry": RetryPolicy.from_settings(settings),
        }
        return cls(**(options | overrides))

    def __repr__(self) -> str:
        return f"QuiverClient(base_url={self.base_url!r})"

    def congress_trading(self, day: date, *, gate: RequestGate | None = None) -> list[Any]:
        """The disclosure records Quiver publishes for `day`, exactly as received.

        An empty or `null` body is a day without records. Anything but a JSON array raises
        `UnexpectedResponseError` naming the day: a silent empty list would lose filings. An
        element of the array that is not an object is returned too (the feed stores it flagged):
        one bad record never costs the day's others. `gate` admits each attempt against the bulk
        endpoints' shared budget (`RequestBudgetSpentError` when it is used up).
        """
        stamp = day.strftime("%Y%m%d")
        path = f"/bulk/congresstrading?date={stamp}"
        response = self._http.request(
            "GET",
            f"{self.base_url}/bulk/congresstrading",
            path=path,
            params={"date": stamp},
            gate=gate,
        )
        records, problem = _records(self._http, response, path)
        if problem is not None:
            raise UnexpectedResponseError(
                f"congress trading for {day.isoformat()} is unreadable: {problem}",
                service=_SERVICE,
                method="GET",
                path=path,
                status_code=response.status_code,
                request_id=response.headers.get(REQUEST_ID_HEADER),
            )
        return records

    def congress_trading_page(
        self, page: int, page_size: int, *, gate: RequestGate | None = None
    ) -> list[Any]:
        """One page of Quiver's whole congress-trading history (the bulk endpoint without
        `date`), exactly as received; an empty page is past the end. `gate` as for
        `congress_trading`: every page counts against the bulk endpoints' shared budget."""
        if page < 1:
            raise InvalidValueError("page", f"pages are numbered from 1, got {page}")
        if page_size < 1:
            raise InvalidValueError("page_size", f"must be at least 1, got {page_size}")
        path = f"/bulk/congresstrading?page={page}&page_size={page_size}"
        response = self._http.request(
            "GET",
            f"{self.base_url}/bulk/congresstrading",
            path=path,
            params={"page": str(page), "page_size": str(page_size)},
            gate=gate,
        )
        records, problem = _records(self._http, response, path)
        if problem is not None:
            raise UnexpectedResponseError(
                f"congress trading history page {page} is unreadable: {problem}",
                service=_SERVICE,
                method="GET",
                path=path,
                status_code=response.status_code,
                request_id=response.headers.get(REQUEST_ID_HEADER),
            )
        return records


def _records(http: JsonHttp, response: httpx.Response, path: str) -> tuple[list[Any], str | None]:
    """The records of a response, or what is wrong with it."""
    try:
        body = http.json(response, path=path)
    except UnexpectedResponseError as error:
        return [], error.summary
    if body is None:
        return [], None
    if not isinstance(body, list):
        return [], f"expected a JSON array, got a JSON {_json_type(body)}"
    return body, None


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(type(value), "number")
