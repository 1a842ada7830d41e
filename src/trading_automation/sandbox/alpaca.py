"""An in-memory Alpaca: a paper account, its orders and fills, clock, calendar and latest trades,
served by a trading API server and a market-data API server that share it
(`trading_automation.sandbox.alpaca_servers`).

Orders behave like Alpaca's as far as this system uses them: market DAY buys by notional or qty
and sells by qty, unique `client_order_id` (a reuse is refused with Alpaca's 422), notional or
fractional orders for assets marked not fractionable refused with a 422 (`GET /v2/assets/{symbol}`
says which are), buys costing more than the buying power refused with Alpaca's 403, and sells of
more than the position's shares not held by other open sells refused with Alpaca's 403 (the
account never goes short). An accepted order moves on each *poll* (a GET of it by id or client
order id, or its appearance in a list): `new` after the first, optionally `partially_filled`, then
`filled` (or canceled / expired / rejected) per its symbol's `OrderScript`. Fills are at the latest
trade price when the order was accepted; cash, buying power (cash less what open buys reserve),
positions and equity follow. `adjust_position` trades shares by hand, outside any order.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from trading_automation import fixtures
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox.account import Holdings, account_payload
from trading_automation.sandbox.market import OPEN, MarketCalendar, latest_trade_payload
from trading_automation.sandbox.order_requests import (
    OrderQuery,
    error,
    insufficient_qty,
    order_refusal,
)
from trading_automation.sandbox.orders import (
    OrderScript,
    SandboxOrder,
    Side,
    asset_id,
    money,
    order_timestamp,
    parse_decimal,
)
from trading_automation.sandbox.server import Reply, Request

DEFAULT_KEY_ID = "sandbox-key-id"
DEFAULT_SECRET_KEY = "sandbox-secret-key"  # noqa: S105 - a well-known local sandbox credential
DEFAULT_CASH = Decimal(100_000)


class AlpacaBroker:
    """The in-memory brokerage behind the Alpaca sandbox servers (thread-safe).

    `orders` are Alpaca order payloads the account already holds when it starts (and after a
    reset): their fills are paid from `cash` and held as positions, and open ones move along like
    any other order.
    """

    def __init__(
        self,
        *,
        key_id: str = DEFAULT_KEY_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        now: datetime | None = None,
        clock_ticks: bool = True,
        calendar: MarketCalendar | None = None,
        prices: Mapping[str, Decimal | str] | None = None,
        non_fractionable: Iterable[str] = fixtures.NON_FRACTIONABLE_SYMBOLS,
        cash: Decimal | str = DEFAULT_CASH,
        script: OrderScript | None = None,
        orders: Iterable[Mapping[str, Any]] = (),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_id = key_id
        self.secret_key = secret_key
        self._lock = threading.RLock()
        self.calendar = calendar or MarketCalendar()
        base = now or datetime.combine(fixtures.DEMO_TRADING_DAY, OPEN, NEW_YORK)
        if base.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._base = base.astimezone(UTC)
        self._monotonic = monotonic
        self._anchor = monotonic()
        self._ticks = clock_ticks
        self._initial_prices = {
            symbol.upper(): Decimal(str(price))
            for symbol, price in (prices or fixtures.latest_trade_prices()).items()
        }
        self._initial_non_fractionable = frozenset(s.upper() for s in non_fractionable)
        self._initial_cash = Decimal(str(cash))
        self._initial_script = script or OrderScript()
        self._history = [dict(order) for order in orders]
        self._accepted = threading.Condition(self._lock)
        self._reset_state()

    def _reset_state(self) -> None:
        self.prices = dict(self._initial_prices)
        self.non_fractionable = set(self._initial_non_fractionable)
        self.default_script = replace(self._initial_script)
        self.scripts: dict[str, OrderScript] = {}
        self.cash = self._initial_cash
        self.holdings = Holdings()
        self._orders: dict[str, SandboxOrder] = {}
        self._by_client_id: dict[str, str] = {}
        self._submissions: Counter[str] = Counter()
        self._sequence = 0
        for payload in self._history:
            self._preload(payload)

    def _preload(self, payload: Mapping[str, Any]) -> None:
        symbol = str(payload.get("symbol", "")).strip().upper()
        script = replace(self.scripts.get(symbol, self.default_script))
        order = SandboxOrder.from_api(payload, prices=self.prices, script=script)
        if order.client_order_id in self._by_client_id or order.id in self._orders:
            raise ValueError(f"order {order.id} ({order.client_order_id}) is given twice")
        self._orders[order.id] = order
        self._by_client_id[order.client_order_id] = order.id
        self._settle(order, Decimal(0))

    def reset(self) -> None:
        """Back to the initial account: its preloaded orders only, initial cash, prices and
        scripts."""
        with self._lock:
            self._reset_state()

    # --- configuration -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's current instant (aware, UTC)."""
        with self._lock:
            if not self._ticks:
                return self._base
            return self._base + timedelta(seconds=self._monotonic() - self._anchor)

    def set_now(self, instant: datetime, *, ticks: bool | None = None) -> None:
        """Move the sandbox clock to `instant`; it ticks on from there unless `ticks=False`."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        with self._lock:
            self._base = instant.astimezone(UTC)
            self._anchor = self._monotonic()
            if ticks is not None:
                self._ticks = ticks

    def set_prices(self, prices: Mapping[str, Decimal | str]) -> None:
        """Set latest trade prices (new fills and position values use them)."""
        with self._lock:
            self.prices.update({s.upper(): Decimal(str(p)) for s, p in prices.items()})

    def set_script(self, script: OrderScript, symbol: str | None = None) -> None:
        """How orders (of `symbol`, or all without their own script) move along from now on."""
        with self._lock:
            if symbol is None:
                self.default_script = script
            else:
                self.scripts[symbol.upper()] = script

    def set_non_fractionable(self, symbols: Iterable[str]) -> None:
        """Which symbols refuse notional and fractional orders."""
        with self._lock:
            self.non_fractionable = {s.upper() for s in symbols}

    # --- inspection --------------------------------------------------------------------------

    def orders(self) -> list[dict[str, Any]]:
        """Every order placed, oldest first, as the API shows them (without counting a poll)."""
        with self._lock:
            return [order.to_api() for order in self._orders.values()]

    @property
    def accepted_count(self) -> int:
        """How many orders were accepted."""
        with self._lock:
            return len(self._orders)

    def orders_for(self, client_order_id: str) -> int:
        """How many orders were accepted with `client_order_id` (Alpaca allows at most one)."""
        with self._lock:
            return sum(1 for o in self._orders.values() if o.client_order_id == client_order_id)

    def submissions(self, client_order_id: str | None = None) -> int:
        """How many order POSTs carried `client_order_id` (or any), accepted or refused."""
        with self._lock:
            if client_order_id is None:
                return sum(self._submissions.values())
            return self._submissions[client_order_id]

    def wait_for_accepted(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least `count` orders were accepted; False on timeout."""
        with self._accepted:
            return self._accepted.wait_for(lambda: len(self._orders) >= count, timeout=timeout)

    def state(self) -> dict[str, Any]:
        """Counts and balances, for `GET /_sandbox/orders`."""
        with self._lock:
            return {
                "now": order_timestamp(self.now()),
                "accepted": len(self._orders),
                "submissions": dict(self._submissions),
                "cash": money(self.cash),
                "buying_power": money(self._buying_power()),
            }

    # --- API ---------------------------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        """`GET /v2/clock`."""
        with self._lock:
            now, sequence = self.now(), self._next_sequence()
        return self.calendar.clock_payload(now, sequence)

    def calendar_days(self, query: Mapping[str, str]) -> Reply:
        """`GET /v2/calendar?start=&end=` (default: today to a year from today)."""
        today = self.now().astimezone(NEW_YORK).date()
        try:
            start = date.fromisoformat(query["start"]) if query.get("start") else today
            end = (
                date.fromisoformat(query["end"])
                if query.get("end")
                else start.replace(year=start.year + 1)
            )
        except ValueError:
            return error(400, "start and end must be dates (YYYY-MM-DD)", code=40010000)
        return Reply(200, self.calendar.calendar_payload(start, end))

    def submit(self, request: Request) -> Reply:
        """`POST /v2/orders`."""
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return error(400, "request body format is invalid", code=40010000)
        with self._lock:
            cid = str(body.get("client_order_id") or "").strip()
            if cid:
                self._submissions[cid] += 1
            refusal = order_refusal(
                body,
                cid,
                prices=self.prices,
                non_fractionable=self.non_fractionable,
                client_order_ids=self._by_client_id,
            )
            if refusal is not None:
                return refusal
            symbol = str(body["symbol"]).strip().upper()
            side: Side = "sell" if str(body["side"]).lower() == "sell" else "buy"
            order = SandboxOrder(
                id=str(uuid.uuid4()),
                client_order_id=cid or str(uuid.uuid4()),
                symbol=symbol,
                notional=parse_decimal(body.get("notional")),
                qty=parse_decimal(body.get("qty")),
                price=self.prices[symbol],
                script=replace(self.scripts.get(symbol, self.default_script)),
                created_at=self.now(),
                nanos=self._next_sequence(),
                asset_id=asset_id(symbol),
                side=side,
            )
            if side == "sell":
                existing, holding = self.holdings.qty(symbol), self._holding_orders(symbol)
                if order.target_qty > existing - sum(holding.values(), start=Decimal(0)):
                    return insufficient_qty(symbol, order.target_qty, existing, holding)
            elif order.cost_basis > self._buying_power():
                return error(
                    403,
                    "insufficient buying power",
                    code=40310000,
                    buying_power=money(self._buying_power()),
                    cost_basis=money(order.cost_basis),
                )
            self._orders[order.id] = order
            self._by_client_id[order.client_order_id] = order.id
            self._accepted.notify_all()
            return Reply(200, order.to_api(), accepted_order=True)

    def order_by_id(self, order_id: str) -> Reply:
        """`GET /v2/orders/{id}` (a poll)."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return Reply(404, fixtures.alpaca_error("order_not_found_404"))
            return Reply(200, self._poll(order))

    def order_by_client_id(self, query: Mapping[str, str]) -> Reply:
        """`GET /v2/orders:by_client_order_id?client_order_id=` (a poll)."""
        cid = query.get("client_order_id", "")
        if not cid:
            return error(422, "client_order_id is required")
        with self._lock:
            order_id = self._by_client_id.get(cid)
            if order_id is None:
                return Reply(404, fixtures.alpaca_error("order_not_found_404"))
            return Reply(200, self._poll(self._orders[order_id]))

    def list_orders(self, query: Mapping[str, str]) -> Reply:
        """`GET /v2/orders` with the real filters (each listed order counts as a poll)."""
        filters = OrderQuery.parse(query)
        if isinstance(filters, Reply):
            return filters
        with self._lock:
            chosen = filters.select(self._orders.values())
            return Reply(200, [self._poll(order) for order in chosen])

    def asset(self, symbol_or_id: str) -> Reply:
        """`GET /v2/assets/{symbol_or_asset_id}`: every symbol with a price is an asset, not
        fractionable when so configured; any other is Alpaca's 404."""
        wanted = symbol_or_id.strip().upper()
        with self._lock:
            by_id = {asset_id(symbol).upper(): symbol for symbol in self.prices}
            symbol = wanted if wanted in self.prices else by_id.get(wanted)
            if symbol is None:
                return Reply(404, fixtures.alpaca_error("asset_not_found_404"))
            fractionable = symbol not in self.non_fractionable
        asset = fixtures.alpaca_asset("fractionable" if fractionable else "not_fractionable")
        asset.update({"id": asset_id(symbol), "symbol": symbol, "name": f"{symbol} Common Stock"})
        return Reply(200, asset)

    def account(self) -> dict[str, Any]:
        """`GET /v2/account`, derived from cash and fills."""
        with self._lock:
            today = self.now().astimezone(NEW_YORK).date()
            return account_payload(
                cash=self.cash,
                starting_cash=self._initial_cash,
                buying_power=self._buying_power(),
                positions=self.positions(),
                balance_asof=self.calendar.previous_trading_day(today),
            )

    def positions(self) -> list[dict[str, Any]]:
        """`GET /v2/positions`, from fills and trades by hand, valued at the latest prices."""
        with self._lock:
            held: dict[str, Decimal] = {}
            for order in self._orders.values():
                held[order.symbol] = held.get(order.symbol, Decimal(0)) + order.held_qty
            return self.holdings.payload(self.prices, held)

    def adjust_position(self, symbol: str, delta: Decimal | int | str) -> dict[str, Any] | None:
        """Buy (`delta` > 0) or sell (< 0) shares of `symbol` by hand, outside any order, at the
        latest trade price, like a user trading at the broker directly; cash follows. Returns the
        position after (None once none is left); `ValueError` for what Alpaca would refuse."""
        shares, wanted = parse_decimal(delta), symbol.strip().upper()
        with self._lock:
            if shares is None or shares.is_zero() or wanted not in self.prices:
                raise ValueError(f"cannot adjust {wanted or '?'} by {delta!r}")
            self.cash -= self.holdings.trade_by_hand(
                wanted,
                shares,
                self.prices[wanted],
                fractionable=wanted not in self.non_fractionable,
                buying_power=self._buying_power(),
                held_for_orders=sum(self._holding_orders(wanted).values(), start=Decimal(0)),
            )
            return next((p for p in self.positions() if p["symbol"] == wanted), None)

    def latest_trade(self, symbol: str) -> Reply:
        """`GET /v2/stocks/{symbol}/trades/latest` (market-data API)."""
        with self._lock:
            price = self.prices.get(symbol.upper())
            if price is None:
                return Reply(404, {"code": 40410000, "message": f"no trade found for {symbol}"})
            trade = latest_trade_payload(price, self.now(), self._next_sequence())
            return Reply(200, {"symbol": symbol.upper(), "trade": trade})

    # --- internals ---------------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def _buying_power(self) -> Decimal:
        reserved = sum((o.reserved for o in self._orders.values()), start=Decimal(0))
        return self.cash - reserved

    def _holding_orders(self, symbol: str) -> dict[str, Decimal]:
        """Open sells of `symbol` by order id, and the shares each still holds."""
        return {
            o.id: o.held_qty for o in self._orders.values() if o.symbol == symbol and o.held_qty
        }

    def _poll(self, order: SandboxOrder) -> dict[str, Any]:
        before = order.filled_qty
        order.poll(self.now())
        self._settle(order, before)
        return order.to_api()

    def _settle(self, order: SandboxOrder, before: Decimal) -> None:
        # Pay for (or cash in) what `order` filled since `before`, and move the shares.
        shares = order.filled_qty - before
        if shares <= 0:
            return
        amount = order.qty_cost(order.filled_qty) - order.qty_cost(before)
        if order.side == "sell":
            self.holdings.remove(order.symbol, shares)
            self.cash += amount
        else:
            self.holdings.add(order.symbol, shares, order.price)
            self.cash -= amount
