"""Alpaca trading and market-data client (SPEC §5).

Orders are parsed by `AlpacaOrder.from_api`, the project's one order parser; other responses by the
models of `trading_automation.clients.models`. Errors are the classes of
`trading_automation.clients.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import ValidationError

from trading_automation import __version__
from trading_automation.clients.alpaca_params import (
    MAX_LIST_LIMIT,
    Direction,
    OrderStatusFilter,
    Side,
    order_list_params,
    order_payload,
    required,
    symbol_param,
)
from trading_automation.clients.bars import (
    MAX_BARS_LIMIT,
    BarsPage,
    bars_params,
    request_bars,
)
from trading_automation.clients.errors import (
    REQUEST_ID_HEADER,
    ApiError,
    InsufficientBuyingPowerError,
    InsufficientQuantityError,
    NotFoundError,
    OrderOutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    ValidationRefusedError,
)
from trading_automation.clients.http import (
    HeaderAuth,
    JsonHttp,
    PooledClient,
    RequestOutcomeUnknown,
    RetryPolicy,
    Timeouts,
)
from trading_automation.clients.models import (
    Account,
    Asset,
    CalendarDay,
    Clock,
    LatestTrade,
    Position,
)
from trading_automation.domain.bars import Adjustment
from trading_automation.domain.orders import AlpacaOrder
from trading_automation.errors import ConfigurationError, InvalidValueError
from trading_automation.urls import PAPER_ALPACA_BASE_URL, is_paper_alpaca_url

if TYPE_CHECKING:
    from trading_automation.config import Settings

__all__ = ["DEFAULT_DATA_BASE_URL", "MAX_LIST_LIMIT", "AlpacaClient"]

log = structlog.get_logger(__name__)

DEFAULT_DATA_BASE_URL = "https://data.alpaca.markets"
KEY_ID_HEADER = "APCA-API-KEY-ID"
SECRET_KEY_HEADER = "APCA-API-SECRET-KEY"  # noqa: S105 - a header name, not a secret


_M = TypeVar("_M", Clock, CalendarDay, Account, Asset, Position, LatestTrade, AlpacaOrder)

_TRADING = "alpaca"
_DATA = "alpaca-data"


class AlpacaClient(PooledClient):
    """Alpaca's trading API (clock, calendar, orders, assets, account, positions) and its
    latest-trade market-data endpoint, over one pool of connections.

    With `paper=True` (the default) a base URL other than the paper endpoint or a local sandbox is
    refused, whatever the settings said.
    """

    def __init__(
        self,
        *,
        key_id: str,
        secret_key: str,
        base_url: str = PAPER_ALPACA_BASE_URL,
        data_base_url: str = DEFAULT_DATA_BASE_URL,
        paper: bool = True,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        data_feed: str | None = "iex",
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if paper and not is_paper_alpaca_url(base_url):
            raise ConfigurationError(
                [
                    f"ALPACA_BASE_URL: {base_url} is not the paper endpoint "
                    f"({PAPER_ALPACA_BASE_URL}) or a local sandbox, and paper trading is on; "
                    "refusing to build a client that could trade a live account"
                ]
            )
        if not key_id or not secret_key:
            raise InvalidValueError("key_id/secret_key", "both Alpaca keys are required")
        self.base_url = base_url.rstrip("/")
        self.data_base_url = data_base_url.rstrip("/")
        self.paper = paper
        self.data_feed = data_feed
        self.retry = retry or RetryPolicy()
        self._http = JsonHttp(
            service=_TRADING,
            auth=HeaderAuth({KEY_ID_HEADER: key_id, SECRET_KEY_HEADER: secret_key}),
            timeouts=timeouts or Timeouts(),
            retry=self.retry,
            user_agent=f"trading-automation/{__version__}",
            sleep=sleep,
            monotonic=monotonic,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AlpacaClient:
        """A client configured by ALPACA_* and HTTP_* settings; keyword overrides win."""
        missing = [
            name
            for name, value in (
                ("ALPACA_KEY_ID", settings.alpaca_key_id),
                ("ALPACA_SECRET_KEY", settings.alpaca_secret_key),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise ConfigurationError([f"{name}: required to call Alpaca" for name in missing])
        assert settings.alpaca_key_id is not None
        assert settings.alpaca_secret_key is not None
        options: dict[str, Any] = {
            "key_id": settings.alpaca_key_id.get_secret_value(),
            "secret_key": settings.alpaca_secret_key.get_secret_value(),
            "base_url": settings.alpaca_base_url,
            "data_base_url": settings.alpaca_data_base_url,
            "paper": settings.paper_trading,
            "data_feed": settings.alpaca_data_feed,
            "timeouts": Timeouts.from_settings(settings),
            "retry": RetryPolicy.from_settings(settings),
        }
        return cls(**(options | overrides))

    def __repr__(self) -> str:
        return (
            f"AlpacaClient(base_url={self.base_url!r}, data_base_url={self.data_base_url!r}, "
            f"paper={self.paper})"
        )

    # --- market calendar ---------------------------------------------------------------------

    def clock(self) -> Clock:
        """The broker's time, whether the market is open, and the next open and close."""
        return self._model(Clock, self._get("/v2/clock"), "/v2/clock")

    def calendar(self, start: date, end: date) -> list[CalendarDay]:
        """Trading days from `start` to `end` inclusive (holidays are absent, half days close
        early)."""
        if end < start:
            raise InvalidValueError("end", f"{end} is before start {start}")
        path = "/v2/calendar"
        body = self._get(path, params={"start": start.isoformat(), "end": end.isoformat()})
        return [self._model(CalendarDay, item, path) for item in self._array(body, path)]

    # --- orders ------------------------------------------------------------------------------

    def submit_order(
        self,
        *,
        symbol: str,
        client_order_id: str,
        notional: Decimal | int | str | None = None,
        qty: Decimal | int | str | None = None,
        side: Side = "buy",
    ) -> AlpacaOrder:
        """Place a market DAY buy for `notional` dollars or `qty` shares, or with `side="sell"` a
        market DAY sell of `qty` shares (fractional allowed); return the order.

        The order is never sent twice blindly. When the outcome of the POST is unknown (timeout,
        dropped connection, 5xx, unreadable answer), the order is looked up by `client_order_id`
        (a retried GET) and returned if it exists; only when Alpaca says it does not (404) is it
        sent again. Sending again is safe because Alpaca refuses a second order with the same
        `client_order_id` (422), so at most one order can ever be accepted for it; that 422
        resolves to the existing order too.

        Besides the order, the outcomes are: a refusal (`ValidationRefusedError`,
        `InsufficientBuyingPowerError`, `InsufficientQuantityError`, `AuthenticationError`:
        nothing placed);
        `ServiceUnavailableError` or `RateLimitedError` when no request can have placed it; and
        `OrderOutcomeUnknownError` when one may have and the lookup could not tell.
        """
        payload = order_payload(symbol, client_order_id, notional, qty, side)
        last_reason = ""  # set once an earlier submission's outcome was unknown
        for submission in range(1, self.retry.max_attempts + 1):
            refused: ApiError | None = None
            try:
                return self._post_order(payload, last_reason)
            except (InsufficientBuyingPowerError, InsufficientQuantityError) as error:
                # An earlier submission's order, if placed, holds the money or shares this one
                # was refused for: only the lookup below can tell the refusal is final.
                if not last_reason:
                    raise
                refused = error
            except RequestOutcomeUnknown as unknown:
                last_reason = unknown.reason
                log.warning(
                    "order_outcome_unknown",
                    client_order_id=client_order_id,
                    symbol=payload["symbol"],
                    side=side,
                    submission=submission,
                    reason=unknown.reason,
                )
            try:
                return self._existing_order(payload)
            except NotFoundError:
                if refused is not None:
                    raise refused from None
                log.warning(
                    "order_not_placed",
                    client_order_id=client_order_id,
                    submission=submission,
                    will_resend=submission < self.retry.max_attempts,
                )
            except ValidationRefusedError:
                raise  # the client_order_id belongs to another order: ours was not placed
            except ApiError as lookup_error:
                raise self._outcome_unknown(
                    payload, f"{last_reason}; then the lookup failed: {lookup_error}"
                ) from lookup_error
        raise self._outcome_unknown(
            payload,
            f"{self.retry.max_attempts} submissions without an answer ({last_reason}); "
            "not found by client_order_id yet",
        )

    def _post_order(self, payload: Mapping[str, str], last_reason: str) -> AlpacaOrder:
        # One POST: the order placed, or the one its client_order_id already names (a repeat).
        path = "/v2/orders"
        try:
            response = self._http.request(
                "POST", self.base_url + path, path=path, body=payload, idempotent=False
            )
            return self._order_from(response, path)
        except ValidationRefusedError as error:
            if not error.is_duplicate_client_order_id:
                raise
            log.info("order_already_exists", client_order_id=payload["client_order_id"])
            try:
                existing = self._existing_order(payload, cause=error)
            except (ServiceUnavailableError, RateLimitedError) as lookup_error:
                raise self._outcome_unknown(
                    payload, f"already placed, but the lookup failed: {lookup_error}"
                ) from lookup_error
            # Refused as a repeat on the first try: an earlier run placed it, not this call.
            return existing.marked_placed_before() if not last_reason else existing
        except (ServiceUnavailableError, RateLimitedError) as error:
            # Surely not placed by this request; but an earlier one may have been.
            if last_reason:
                raise self._outcome_unknown(
                    payload, f"{last_reason}; then resending failed: {error}"
                ) from error
            raise

    def get_order(self, order_id: str) -> AlpacaOrder:
        """The order with Alpaca's `id`."""
        path = f"/v2/orders/{quote(required(order_id, 'order_id'), safe='')}"
        return self._order(self._get(path), path)

    def get_order_by_client_order_id(self, client_order_id: str) -> AlpacaOrder:
        """The order placed with `client_order_id`; `NotFoundError` when there is none."""
        path = "/v2/orders:by_client_order_id"
        body = self._get(
            path, params={"client_order_id": required(client_order_id, "client_order_id")}
        )
        return self._order(body, path)

    def list_orders(
        self,
        *,
        status: OrderStatusFilter = "open",
        after: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        direction: Direction | None = None,
        symbols: Iterable[str] | None = None,
        side: Side | None = None,
        nested: bool | None = None,
    ) -> list[AlpacaOrder]:
        """One page of orders, like the API: `status` open/closed/all, submitted strictly between
        `after` and `until`, at most `limit` (≤ 500), newest first unless `direction="asc"`."""
        params = order_list_params(
            status=status,
            after=after,
            until=until,
            limit=limit,
            direction=direction,
            symbols=symbols,
            side=side,
            nested=nested,
        )
        path = "/v2/orders"
        return [self._order(item, path) for item in self._array(self._get(path, params), path)]

    # --- market data, account, positions -----------------------------------------------------

    def latest_trade(self, symbol: str) -> LatestTrade:
        """The latest trade of `symbol` (market-data API), price as an exact Decimal."""
        path = f"/v2/stocks/{quote(symbol_param(symbol), safe='.')}/trades/latest"
        params = {"feed": self.data_feed} if self.data_feed else None
        response = self._http.request(
            "GET", self.data_base_url + path, path=path, service=_DATA, params=params
        )
        body = self._http.json(response, path=path, service=_DATA)
        return self._model(LatestTrade, body, path, service=_DATA, response=response)

    def bars(
        self,
        symbols: Iterable[str],
        *,
        start: date,
        end: date,
        adjustment: Adjustment = "all",
        limit: int = MAX_BARS_LIMIT,
        page_token: str | None = None,
        timeframe: str = "1Day",
    ) -> BarsPage:
        """One page of daily bars of `symbols` from `start` to `end` inclusive (market-data API,
        the configured feed), prices exact; pass `next_page_token` back as `page_token` for the
        next page. The page's `rate_limit` holds the response's X-RateLimit-* headers."""
        params = bars_params(
            symbols,
            start=start,
            end=end,
            timeframe=timeframe,
            adjustment=adjustment,
            feed=self.data_feed,
            limit=limit,
            page_token=page_token,
        )
        return request_bars(self._http, self.data_base_url, params, service=_DATA)

    def asset(self, symbol: str) -> Asset:
        """What the broker knows of `symbol`: tradable, fractionable, …; `NotFoundError` when it
        knows no such asset."""
        path = f"/v2/assets/{quote(symbol_param(symbol), safe='.')}"
        return self._model(Asset, self._get(path), path)

    def account(self) -> Account:
        """The account's balances."""
        return self._model(Account, self._get("/v2/account"), "/v2/account")

    def positions(self) -> list[Position]:
        """Every open position."""
        path = "/v2/positions"
        return [self._model(Position, item, path) for item in self._array(self._get(path), path)]

    # --- plumbing ----------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = self._http.request("GET", self.base_url + path, path=path, params=params)
        return self._http.json(response, path=path)

    def _array(self, body: Any, path: str) -> list[Any]:
        if not isinstance(body, list):
            raise UnexpectedResponseError(
                f"expected a JSON array, got {_kind(body)}",
                service=_TRADING,
                method="GET",
                path=path,
            )
        return body

    def _model(
        self,
        model: type[_M],
        body: Any,
        path: str,
        *,
        service: str = _TRADING,
        method: str = "GET",
        response: httpx.Response | None = None,
        parse: Callable[[dict[str, Any]], _M] | None = None,
    ) -> _M:
        if not isinstance(body, dict):
            raise UnexpectedResponseError(
                f"expected a JSON object for {model.__name__}, got {_kind(body)}",
                service=service,
                method=method,
                path=path,
            )
        try:
            return (parse or model.model_validate)(body)
        except ValidationError as error:
            raise UnexpectedResponseError(
                f"unreadable {model.__name__}: {_first_problem(error)}",
                service=service,
                method=method,
                path=path,
                request_id=response.headers.get(REQUEST_ID_HEADER) if response else None,
            ) from None

    def _order(self, body: Any, path: str, method: str = "GET") -> AlpacaOrder:
        return self._model(AlpacaOrder, body, path, method=method, parse=AlpacaOrder.from_api)

    def _order_from(self, response: httpx.Response, path: str) -> AlpacaOrder:
        # The order was accepted (2xx) but an unreadable answer leaves its details unknown.
        try:
            return self._order(self._http.json(response, path=path), path, method="POST")
        except UnexpectedResponseError as error:
            raise RequestOutcomeUnknown(f"unreadable answer: {error.summary}") from error

    def _existing_order(
        self, payload: Mapping[str, str], *, cause: ApiError | None = None
    ) -> AlpacaOrder:
        order = self.get_order_by_client_order_id(payload["client_order_id"])
        side = (order.side or "buy").lower()
        if order.symbol.upper() != payload["symbol"] or side != payload["side"]:
            raise ValidationRefusedError(
                f"client_order_id {payload['client_order_id']!r} already belongs to a "
                f"{side} order for {order.symbol} (id {order.id}), not this "
                f"{payload['symbol']} {payload['side']}",
                service=_TRADING,
                method="POST",
                path="/v2/orders",
                status_code=cause.status_code if cause else None,
                code=cause.code if cause else None,
                api_message=cause.api_message if cause else None,
                request_id=cause.request_id if cause else None,
            )
        return order

    def _outcome_unknown(self, payload: Mapping[str, str], reason: str) -> OrderOutcomeUnknownError:
        error = OrderOutcomeUnknownError(
            f"outcome of {payload['side']} order {payload['client_order_id']!r} "
            f"({payload['symbol']}) unknown: {reason}",
            service=_TRADING,
            method="POST",
            path="/v2/orders",
        )
        error.client_order_id = payload["client_order_id"]
        return error


def _kind(body: Any) -> str:
    if body is None:
        return "an empty body"
    if isinstance(body, dict):
        return "an object"
    if isinstance(body, list):
        return "an array"
    return type(body).__name__


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{location}: {first.get('msg', 'invalid')}"
