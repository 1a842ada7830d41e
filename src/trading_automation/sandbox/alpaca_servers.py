"""The HTTP face of the sandbox broker: Alpaca's trading API and its market-data API, two servers
over one shared `AlpacaBroker`, each requiring Alpaca's key headers exactly."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import unquote

from trading_automation import fixtures
from trading_automation.sandbox.alpaca import AlpacaBroker
from trading_automation.sandbox.market_data import BarsEndpoint
from trading_automation.sandbox.order_requests import parse_instant
from trading_automation.sandbox.orders import OrderScript
from trading_automation.sandbox.server import Reply, Request, SandboxServer


class _AlpacaServer(SandboxServer):
    """A server over the shared broker, requiring Alpaca's key headers exactly."""

    def __init__(self, broker: AlpacaBroker, **options: Any) -> None:
        super().__init__(**options)
        self.broker = broker

    def authenticate(self, request: Request) -> Reply | None:
        """None for both exact key headers, else Alpaca's 401."""
        key_id = request.headers.get("apca-api-key-id")
        secret = request.headers.get("apca-api-secret-key")
        if key_id == self.broker.key_id and secret == self.broker.secret_key:
            return None
        return Reply(401, fixtures.alpaca_error("unauthorized_401"))


class AlpacaTradingServer(_AlpacaServer):
    """Alpaca's trading API (`ALPACA_BASE_URL`) over an `AlpacaBroker`."""

    name = "alpaca"

    def route(self, request: Request) -> Reply:
        """The trading endpoints this system uses."""
        path, method, broker = request.path, request.method, self.broker
        if method == "GET" and path == "/v2/clock":
            return Reply(200, broker.clock())
        if method == "GET" and path == "/v2/calendar":
            return broker.calendar_days(request.query)
        if path == "/v2/orders":
            if method == "POST":
                return broker.submit(request)
            if method == "GET":
                return broker.list_orders(request.query)
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            return broker.order_by_client_id(request.query)
        if method == "GET" and path.startswith("/v2/orders/"):
            return broker.order_by_id(path.removeprefix("/v2/orders/"))
        if method == "GET" and path.startswith("/v2/assets/"):
            return broker.asset(unquote(path.removeprefix("/v2/assets/")))
        if method == "GET" and path == "/v2/account":
            return Reply(200, broker.account())
        if method == "GET" and path == "/v2/positions":
            return Reply(200, broker.positions())
        return Reply(404, {"code": 40410000, "message": "endpoint not found"})

    def control(self, request: Request) -> Reply | None:
        """Adds `orders`, `clock`, `prices`, `scripts`, `non_fractionable` and `positions` (GET;
        POST `positions/SYMBOL` with `{"qty": "-3"}` trades shares by hand) to the common ones."""
        name = request.path.removeprefix("/_sandbox/").strip("/")
        broker = self.broker
        if name == "orders" and request.method == "GET":
            return Reply(200, {"orders": broker.orders(), **broker.state()})
        if name == "clock" and request.method == "POST":
            body = request.json()
            instant = parse_instant(str(body["now"]))
            if instant is None:
                raise ValueError(f"not a timestamp: {body['now']!r}")
            broker.set_now(instant, ticks=body.get("ticks"))
            return Reply(200, broker.clock())
        if name == "prices" and request.method == "POST":
            broker.set_prices(request.json())
            return Reply(200, {symbol: str(price) for symbol, price in broker.prices.items()})
        if name == "scripts" and request.method == "POST":
            body = dict(request.json())
            symbol = body.pop("symbol", None)
            broker.set_script(OrderScript(**body), symbol)
            return Reply(200, {"symbol": symbol, **OrderScript(**body).to_json()})
        if name == "non_fractionable" and request.method == "POST":
            broker.set_non_fractionable(request.json()["symbols"])
            return Reply(200, {"symbols": sorted(broker.non_fractionable)})
        if name == "positions" and request.method == "GET":
            return Reply(200, {"positions": broker.positions(), **broker.state()})
        if name.startswith("positions/") and request.method == "POST":
            symbol = unquote(name.removeprefix("positions/"))
            position = broker.adjust_position(symbol, request.json()["qty"])
            return Reply(200, {"position": position, **broker.state()})
        return super().control(request)

    def reset(self) -> None:
        """Clear faults, the request log, and the account."""
        super().reset()
        self.broker.reset()


class AlpacaDataServer(_AlpacaServer):
    """Alpaca's market-data API (`ALPACA_DATA_BASE_URL`): latest trades from the price table,
    and daily bars (`GET /v2/stocks/bars`) from `bars` when given."""

    name = "alpaca-data"

    def __init__(
        self, broker: AlpacaBroker, *, bars: BarsEndpoint | None = None, **options: Any
    ) -> None:
        super().__init__(broker, **options)
        self.bars = bars

    def route(self, request: Request) -> Reply:
        """`GET /v2/stocks/{symbol}/trades/latest` and `GET /v2/stocks/bars`."""
        if request.path == "/v2/stocks/bars" and request.method == "GET" and self.bars:
            return self.bars.answer(request)
        parts = request.path.strip("/").split("/")
        if (
            request.method == "GET"
            and len(parts) == 5
            and parts[:2] == ["v2", "stocks"]
            and parts[3:] == ["trades", "latest"]
        ):
            return self.broker.latest_trade(parts[2])
        return Reply(404, {"message": "Not Found"})

    def control(self, request: Request) -> Reply | None:
        """Adds `splits` (POST `{"symbol": "ABC", "day": "2024-06-18", "ratio": 2}`) and
        `rate_limit` (POST `{"per_minute": 5}`, null for none) to the common ones."""
        name = request.path.removeprefix("/_sandbox/").strip("/")
        if self.bars is not None and request.method == "POST" and name == "splits":
            body = request.json()
            self.bars.bars.add_split(
                str(body["symbol"]).upper(), date.fromisoformat(body["day"]), int(body["ratio"])
            )
            return Reply(
                200,
                {
                    "splits": {
                        k: [[d.isoformat(), r] for d, r in v]
                        for k, v in self.bars.bars.splits.items()
                    }
                },
            )
        if self.bars is not None and request.method == "POST" and name == "rate_limit":
            per_minute = request.json().get("per_minute")
            self.bars.window.set_limit(None if per_minute is None else int(per_minute))
            return Reply(200, {"per_minute": per_minute})
        return super().control(request)
