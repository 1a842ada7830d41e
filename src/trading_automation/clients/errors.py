"""Errors of the HTTP clients: one class per thing a caller can act on.

Every error carries the service (`alpaca`, `alpaca-data`, `quiver`), the request (method and path,
never headers), the HTTP status when there was a response, Alpaca's error `code` and `message` when
the body had them, and the `X-Request-ID` response header when present (quote it to Alpaca support).
Messages never contain credentials: the clients send those in headers, which no error shows.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from trading_automation.domain.jsonvalues import loads
from trading_automation.errors import TradingAutomationError

REQUEST_ID_HEADER = "X-Request-ID"
_BODY_EXCERPT = 200


class ApiError(TradingAutomationError):
    """A call to an external API failed; the subclass says why and what to do."""

    def __init__(
        self,
        summary: str,
        *,
        service: str,
        method: str,
        path: str,
        status_code: int | None = None,
        code: int | str | None = None,
        api_message: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.summary = summary
        self.service = service
        self.method = method
        self.path = path
        self.status_code = status_code
        self.code = code
        self.api_message = api_message
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [f"{self.service} {self.method} {self.path}: {self.summary}"]
        details = []
        if self.status_code is not None:
            details.append(f"HTTP {self.status_code}")
        if self.code is not None:
            details.append(f"code {self.code}")
        if self.api_message:
            details.append(repr(self.api_message))
        if self.attempts > 1:
            details.append(f"after {self.attempts} attempts")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        if details:
            parts.append(f" ({', '.join(details)})")
        return "".join(parts)

    def with_attempts(self, attempts: int) -> ApiError:
        """This error, recording how many attempts were made before giving up."""
        self.attempts = attempts
        self.args = (self._render(),)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (multiprocessing, test runners) despite the keyword-only init.
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[ApiError], state: dict[str, Any]) -> ApiError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._render())
    return error


class ValidationRefusedError(ApiError):
    """The service refused the request as invalid (HTTP 422): fix what `api_message` names.

    For an order this is final for that request: sending it again unchanged fails the same way
    (e.g. a notional or fractional order for an asset that is not fractionable: trade whole shares
    instead).
    """

    @property
    def is_duplicate_client_order_id(self) -> bool:
        """True when Alpaca refused an order because its `client_order_id` is already used."""
        message = (self.api_message or "").lower()
        return "client_order_id" in message and ("unique" in message or "already" in message)


class InsufficientBuyingPowerError(ApiError):
    """Alpaca refused an order for lack of buying power (HTTP 403): fund the account, or trade
    smaller amounts (TRADE_NOTIONAL_USD) or fewer filings (DAILY_MAX_FILINGS)."""


class InsufficientQuantityError(ApiError):
    """Alpaca refused a sell for more shares than the position has available (HTTP 403): the
    position is smaller than the order (e.g. shares were sold by hand, or another open sell order
    holds them); sell what is there (`available_qty`, or the position's `qty_available`).

    `requested_qty` and `available_qty` are the quantities Alpaca's message names, when it does.
    """

    requested_qty: Decimal | None = None
    available_qty: Decimal | None = None


class AuthenticationError(ApiError):
    """Credentials were refused (HTTP 401, or 403 for another reason): check the key variables and
    that the keys belong to the endpoint in use (paper keys for the paper endpoint)."""


class NotFoundError(ApiError):
    """The requested object does not exist (HTTP 404): check the id, symbol or date asked for."""


class RateLimitedError(ApiError):
    """Still rate limited (HTTP 429) after the allowed retries: wait a minute, or make fewer calls.

    `retry_after_s` is the wait the service asked for, when it said; `reset_at` the Unix time
    (seconds) its allowance refills, when an `X-RateLimit-Reset` header said (Alpaca).
    """

    retry_after_s: float | None = None
    reset_at: float | None = None


class RequestBudgetSpentError(RateLimitedError):
    """The request was not sent: the API's shared request budget is used up (no request left in
    its window, or a `Retry-After` still pending). Run again at `retry_at`."""

    retry_at: datetime | None = None


class ServiceUnavailableError(ApiError):
    """The service did not answer usefully (5xx, timeouts, refused or dropped connections) within
    the retry budget: check its status page and the network, then run the command again."""


class OrderOutcomeUnknownError(ServiceUnavailableError):
    """An order was sent but whether the broker placed it could not be established.

    Do not resend it with a new `client_order_id`: look it up by `client_order_id` once Alpaca
    answers again (the `reconcile` command or the next run does), since it may well exist.
    """

    client_order_id: str = ""


class UnexpectedResponseError(ApiError):
    """The service answered with something this client does not understand (a body that is not
    the documented JSON, or an unexpected status): check the base URL points at the real API, and
    report the request id if it persists."""


def parse_error_body(response: httpx.Response) -> tuple[int | str | None, str | None]:
    """Alpaca's `code` and `message` (or Quiver's `detail`) from an error body, when present."""
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        text = response.text.strip()
        return None, text[:_BODY_EXCERPT] or None
    if isinstance(body, dict):
        code = body.get("code")
        message = body.get("message", body.get("detail"))
        return (
            code if isinstance(code, int | str) else None,
            str(message) if message is not None else None,
        )
    return None, None


def error_from_response(
    response: httpx.Response, *, service: str, method: str, path: str
) -> ApiError:
    """The error a non-2xx response stands for (see the classes above)."""
    status = response.status_code
    code, message = parse_error_body(response)
    request_id = response.headers.get(REQUEST_ID_HEADER)
    common: dict[str, Any] = {
        "service": service,
        "method": method,
        "path": path,
        "status_code": status,
        "code": code,
        "api_message": message,
        "request_id": request_id,
    }
    if status == 422:
        return ValidationRefusedError("request refused as invalid", **common)
    if status == 403 and message and "buying power" in message.lower():
        return InsufficientBuyingPowerError("insufficient buying power", **common)
    if status == 403 and message and "insufficient qty" in message.lower():
        shortfall = InsufficientQuantityError("insufficient quantity to sell", **common)
        shortfall.requested_qty, shortfall.available_qty = _sell_quantities(message)
        return shortfall
    if status in (401, 403):
        return AuthenticationError("credentials refused", **common)
    if status == 404:
        return NotFoundError("not found", **common)
    if status == 429:
        error = RateLimitedError("rate limited", **common)
        error.retry_after_s = retry_after_seconds(response)
        error.reset_at = _reset_at(response)
        return error
    if status >= 500:
        return ServiceUnavailableError("service error", **common)
    return UnexpectedResponseError("unexpected status", **common)


def _sell_quantities(message: str) -> tuple[Decimal | None, Decimal | None]:
    # Alpaca: "insufficient qty available for order (requested: 10, available: 4)".
    found = {
        name: Decimal(match.group(1))
        for name in ("requested", "available")
        if (match := re.search(rf"{name}:\s*(\d+(?:\.\d+)?)", message))
    }
    return found.get("requested"), found.get("available")


def _reset_at(response: httpx.Response) -> float | None:
    """The Unix time an `X-RateLimit-Reset` header names, when it names one."""
    try:
        return float(response.headers.get("X-RateLimit-Reset", "").strip())
    except ValueError:
        return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    from trading_automation.domain.timestamps import utcnow

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())
