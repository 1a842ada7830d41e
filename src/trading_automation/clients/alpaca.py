"""Alpaca trading and market-data client (SPEC §5).

Orders are parsed by `AlpacaOrder.from_api`, the project's one order parser; other responses by the
models of `trading_automation.clients.models`. Errors are the classes of
`trading_automation.clients.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import structlog

from trading_automation import __version__
from trading_automation.clients.alpaca_orders import OrderSubmission
from trading_automation.clients.alpaca_params import (
    MAX_LIST_LIMIT,
    Direction,
    OrderStatusFilter,
    Side,
    order_list_params,
    required,
    symbol_param,
)
from trading_automation.clients.bars import (
    MAX_BARS_LIMIT,
    BarsPage,
    bars_params,
    request_bars,
)
from trading_automation.clients.http import (
    HeaderAuth,
    JsonHttp,
    PooledClient,
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
from trading_automation.clients.responses import json_array, parse_model
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


_TRADING = "alpaca"
_DATA = "alpaca-data"


class AlpacaClient(OrderSubmission, PooledClient):
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
        return parse_model(Clock, self._get("/v2/clock"), "/v2/clock", service=_TRADING)

    def calendar(self, start: date, end: date) -> list[CalendarDay]:
        """Trading days from `start` to `end` inclusive (holidays are absent, half days close
        early)."""
        if end < start:
            raise InvalidValueError("end", f"{end} is before start {start}")
        path = "/v2/calendar"
        body = self._get(path, params={"start": start.isoformat(), "end": end.isoformat()})
        return [
            parse_model(CalendarDay, item, path, service=_TRADING)
            for item in json_array(body, path, service=_TRADING)
        ]

    # --- orders (placing one: `OrderSubmission.submit_order`) ---------------------------------

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
        return [
            self._order(item, path)
            for item in json_array(self._get(path, params), path, service=_TRADING)
        ]

    # --- market data, account, positions -----------------------------------------------------

    def latest_trade(self, symbol: str) -> LatestTrade:
        """The latest trade of `symbol` (market-data API), price as an exact Decimal."""
        path = f"/v2/stocks/{quote(symbol_param(symbol), safe='.')}/trades/latest"
        params = {"feed": self.data_feed} if self.data_feed else None
        response = self._http.request(
            "GET", self.data_base_url + path, path=path, service=_DATA, params=params
        )
        body = self._http.json(response, path=path, service=_DATA)
        return parse_model(LatestTrade, body, path, service=_DATA, response=response)

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
        return parse_model(Asset, self._get(path), path, service=_TRADING)

    def account(self) -> Account:
        """The account's balances."""
        return parse_model(Account, self._get("/v2/account"), "/v2/account", service=_TRADING)

    def positions(self) -> list[Position]:
        """Every open position."""
        path = "/v2/positions"
        return [
            parse_model(Position, item, path, service=_TRADING)
            for item in json_array(self._get(path), path, service=_TRADING)
        ]

    # --- plumbing ----------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = self._http.request("GET", self.base_url + path, path=path, params=params)
        return self._http.json(response, path=path)

    def _order(self, body: Any, path: str, method: str = "GET") -> AlpacaOrder:
        return parse_model(
            AlpacaOrder, body, path, service=_TRADING, method=method, parse=AlpacaOrder.from_api
        )
