"""The HTTP plumbing both clients share: one connection pool, timeouts, bounded retries.

Retry policy: connection errors, timeouts, 5xx and 429 are retried with exponential backoff and
jitter (the n-th wait is a random value between half and all of `backoff_s * 2**(n-1)`, capped at
`backoff_max_s`); a `Retry-After` header replaces the computed wait. Retrying stops at
`max_attempts` attempts or when the next wait would end past `budget_s` since the first attempt,
whichever comes first; each attempt's timeouts are also cut to what is left of the budget. Other
statuses are never retried. The waits and the budget go through the `sleep` and `monotonic` given
to `JsonHttp` (the clients pass theirs on), so tests drive them with a fake clock.

A request that is not idempotent (an order) is retried only when it surely never reached the
server (the connection could not be opened). When it may have reached it (read timeout, dropped
connection, 5xx, a 2xx whose body cannot be read) `RequestOutcomeUnknown` is raised instead, for the
caller to resolve (see `AlpacaClient.submit_order`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpx
import structlog

from trading_automation.clients.errors import (
    REQUEST_ID_HEADER,
    ApiError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    error_from_response,
    retry_after_seconds,
)
from trading_automation.domain.jsonvalues import loads

if TYPE_CHECKING:
    from trading_automation.config import Settings

log = structlog.get_logger(__name__)

# Errors raised before any byte of the request was sent: retrying them cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MIN_ATTEMPT_TIMEOUT_S = 0.05
_BODY_EXCERPT = 120


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a request is retried (see the module docstring)."""

    max_attempts: int = 4
    budget_s: float = 30.0
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.budget_s <= 0 or self.backoff_s < 0 or self.backoff_max_s < 0:
            raise ValueError("budget_s must be positive and the backoffs not negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy of HTTP_RETRY_ATTEMPTS, HTTP_RETRY_BUDGET_S and HTTP_RETRY_BACKOFF_S."""
        return cls(
            max_attempts=settings.http_retry_attempts,
            budget_s=settings.http_retry_budget_s,
            backoff_s=settings.http_retry_backoff_s,
        )

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before retry number `retry` (1 for the first retry), with jitter."""
        ceiling = min(self.backoff_max_s, self.backoff_s * 2.0 ** (retry - 1))
        return ceiling * (0.5 + 0.5 * rand())


@dataclass(frozen=True)
class Timeouts:
    """Seconds to open a connection and to wait for a response."""

    connect_s: float = 5.0
    read_s: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        """HTTP_CONNECT_TIMEOUT_S and HTTP_READ_TIMEOUT_S."""
        return cls(settings.http_connect_timeout_s, settings.http_read_timeout_s)

    def cut_to(self, remaining_s: float) -> httpx.Timeout:
        """httpx timeouts no longer than `remaining_s`."""
        connect = max(_MIN_ATTEMPT_TIMEOUT_S, min(self.connect_s, remaining_s))
        read = max(_MIN_ATTEMPT_TIMEOUT_S, min(self.read_s, remaining_s))
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


class RequestGate(Protocol):
    """Admits each attempt of a request against a budget shared by every process.

    `admit` returns a ticket or raises `RequestBudgetSpentError`; `settle` is told how the
    attempt ended (its HTTP status, None without an answer, and a 429's `Retry-After`).
    """

    def admit(self, what: str) -> object: ...

    def settle(
        self, ticket: object, status_code: int | None, retry_after_s: float | None
    ) -> None: ...


class RequestOutcomeUnknown(Exception):
    """A non-idempotent request may or may not have been carried out by the server."""

    def __init__(self, reason: str, *, status_code: int | None = None) -> None:
        self.reason = reason
        self.status_code = status_code
        super().__init__(reason)


class HeaderAuth(httpx.Auth):
    """Adds credential headers to each request without exposing them in any repr."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(sorted(self._headers))}: ********)"


class JsonHttp:
    """One service's pooled HTTP connections, with the retry policy applied to every request."""

    def __init__(
        self,
        *,
        service: str,
        auth: httpx.Auth,
        timeouts: Timeouts,
        retry: RetryPolicy,
        user_agent: str,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.service = service
        self.timeouts = timeouts
        self.retry = retry
        self._sleep = sleep
        self._monotonic = monotonic
        self._client = httpx.Client(
            auth=auth,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=timeouts.cut_to(retry.budget_s),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        path: str,
        service: str | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        gate: RequestGate | None = None,
    ) -> httpx.Response:
        """Send a request, retrying per the policy; return the 2xx response or raise `ApiError`.

        `path` is what errors and logs show (never the query string or headers). With a `gate`,
        every attempt (retries included) is admitted by it first and reported to it after.
        """
        service = service or self.service
        started = self._monotonic()
        attempt = 0
        while True:
            attempt += 1
            remaining = self.retry.budget_s - (self._monotonic() - started)
            failure: ApiError
            retry_after: float | None = None
            ticket = gate.admit(path) if gate is not None else None
            try:
                response = self._client.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    timeout=self.timeouts.cut_to(remaining),
                )
            except httpx.TransportError as exc:
                if gate is not None:
                    gate.settle(ticket, None, None)
                reason = _describe_transport_error(exc)
                if not idempotent and not isinstance(exc, _NOT_SENT):
                    raise RequestOutcomeUnknown(reason) from exc
                failure = ServiceUnavailableError(reason, service=service, method=method, path=path)
            else:
                if gate is not None:
                    gate.settle(ticket, response.status_code, retry_after_seconds(response))
                if response.is_success:
                    return response
                failure = error_from_response(response, service=service, method=method, path=path)
                if response.status_code >= 500 and not idempotent:
                    raise RequestOutcomeUnknown(
                        f"HTTP {response.status_code} from the server",
                        status_code=response.status_code,
                    )
                if not isinstance(failure, ServiceUnavailableError | RateLimitedError):
                    raise failure
                retry_after = retry_after_seconds(response)
            delay = retry_after if retry_after is not None else self.retry.backoff(attempt)
            elapsed = self._monotonic() - started
            if attempt >= self.retry.max_attempts or elapsed + delay >= self.retry.budget_s:
                raise failure.with_attempts(attempt)
            log.warning(
                "http_retry",
                service=service,
                method=method,
                path=path,
                attempt=attempt,
                status=failure.status_code,
                reason=failure.summary,
                wait_s=round(delay, 3),
            )
            self._sleep(delay)

    def json(self, response: httpx.Response, *, path: str, service: str | None = None) -> Any:
        """The JSON body of a successful response, numbers exact (`Decimal` for fractions);
        `UnexpectedResponseError` when it is not JSON."""
        try:
            return loads(response.content) if response.content.strip() else None
        except (ValueError, RecursionError) as error:
            excerpt = response.text.strip()[:_BODY_EXCERPT]
            what = "nested too deeply to read" if isinstance(error, RecursionError) else "not JSON"
            raise UnexpectedResponseError(
                f"the response body is {what}: {excerpt!r}",
                service=service or self.service,
                method=response.request.method,
                path=path,
                status_code=response.status_code,
                request_id=response.headers.get(REQUEST_ID_HEADER),
            ) from None


class PooledClient:
    """What both clients share: one `JsonHttp` pool, closed by `close()` or a `with` block."""

    _http: JsonHttp

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a pooled connection"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return "timed out waiting for the response"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection was closed without a complete response"
    return f"connection failed ({type(exc).__name__})"
