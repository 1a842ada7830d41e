"""The account the sandbox broker's fills add up to: a ledger of the shares held per symbol, and
positions and balances as Alpaca's API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from trading_automation import fixtures
from trading_automation.sandbox.orders import CENTS, SHARES, asset_id, money, plain

_RATIO = Decimal("0.0000000000000001")


class ShortSaleError(ValueError):
    """More shares would leave the account than it holds: the sandbox never goes short."""


@dataclass
class Holding:
    """One symbol's shares and what they cost (exact, at the average entry price)."""

    qty: Decimal
    cost: Decimal


class Holdings:
    """The shares the account holds per symbol: buys add at their price, sells take away at the
    average entry price (which they leave unchanged, as Alpaca does). Not thread-safe: the broker
    holds its lock."""

    def __init__(self) -> None:
        self._held: dict[str, Holding] = {}

    def qty(self, symbol: str) -> Decimal:
        """Shares of `symbol` held (0 when none)."""
        holding = self._held.get(symbol)
        return holding.qty if holding else Decimal(0)

    def add(self, symbol: str, qty: Decimal, price: Decimal) -> None:
        """`qty` more shares of `symbol`, bought at `price`."""
        holding = self._held.setdefault(symbol, Holding(Decimal(0), Decimal(0)))
        holding.qty += qty
        holding.cost += qty * price

    def remove(self, symbol: str, qty: Decimal) -> None:
        """`qty` fewer shares of `symbol`; the position closes at zero (`ShortSaleError` below)."""
        holding = self._held.get(symbol)
        held = holding.qty if holding else Decimal(0)
        if holding is None or qty > held:
            raise ShortSaleError(f"cannot take {plain(qty)} {symbol} from {plain(held)} held")
        if qty == held:
            del self._held[symbol]
            return
        holding.cost = holding.cost / holding.qty * (holding.qty - qty)
        holding.qty -= qty

    def trade_by_hand(
        self,
        symbol: str,
        shares: Decimal,
        price: Decimal,
        *,
        fractionable: bool,
        buying_power: Decimal,
        held_for_orders: Decimal,
    ) -> Decimal:
        """Buy (`shares` > 0) or sell (< 0) at `price` outside any order; returns what it costs
        (negative: what it brings in). `ValueError` for what Alpaca would refuse."""
        if shares != shares.to_integral_value() and not fractionable:
            raise ValueError(f"{symbol} is not fractionable: trade it by whole shares")
        amount = (abs(shares) * price).quantize(CENTS, rounding=ROUND_HALF_UP)
        if shares > 0:
            if amount > buying_power:
                raise ValueError(f"{plain(shares)} {symbol} cost more than the buying power")
            self.add(symbol, shares, price)
            return amount
        available = self.qty(symbol) - held_for_orders
        if -shares > available:
            raise ShortSaleError(
                f"cannot sell {plain(-shares)} {symbol}: {plain(available)} available"
            )
        self.remove(symbol, -shares)
        return -amount

    def payload(
        self, prices: Mapping[str, Decimal], held_for_orders: Mapping[str, Decimal]
    ) -> list[dict[str, Any]]:
        """`GET /v2/positions`, valued at `prices`; `held_for_orders` are the shares open sell
        orders hold (not available to another sell)."""
        return [
            position_payload(symbol, holding, prices[symbol], held_for_orders.get(symbol))
            for symbol, holding in sorted(self._held.items())
        ]


def position_payload(
    symbol: str, holding: Holding, price: Decimal, held_for_orders: Decimal | None = None
) -> dict[str, Any]:
    """One position of `GET /v2/positions`, valued at `price`."""
    qty, cost = holding.qty, holding.cost
    cost_basis = cost.quantize(CENTS, rounding=ROUND_HALF_UP)
    value = (qty * price).quantize(CENTS, rounding=ROUND_HALF_UP)
    gain = value - cost_basis
    ratio = plain((gain / cost_basis).quantize(_RATIO)) if cost_basis else "0"
    return {
        "asset_id": asset_id(symbol),
        "symbol": symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": True,
        "qty": plain(qty),
        "avg_entry_price": plain((cost / qty).quantize(SHARES)),
        "side": "long",
        "market_value": money(value),
        "cost_basis": money(cost_basis),
        "unrealized_pl": money(gain),
        "unrealized_plpc": ratio,
        "unrealized_intraday_pl": money(gain),
        "unrealized_intraday_plpc": ratio,
        "current_price": plain(price),
        "lastday_price": plain(price),
        "change_today": "0",
        "qty_available": plain(qty - (held_for_orders or Decimal(0))),
    }


def account_payload(
    *,
    cash: Decimal,
    starting_cash: Decimal,
    buying_power: Decimal,
    positions: list[dict[str, Any]],
    balance_asof: date,
) -> dict[str, Any]:
    """`GET /v2/account` of a cash account holding `positions` (the fixture's other fields)."""
    long_value = sum((Decimal(p["market_value"]) for p in positions), start=Decimal(0))
    power = money(buying_power)
    equity = cash + long_value
    account = fixtures.alpaca_account()
    account.update(
        {
            "buying_power": power,
            "regt_buying_power": power,
            "effective_buying_power": power,
            "non_marginable_buying_power": power,
            "options_buying_power": power,
            "daytrading_buying_power": "0",
            "cash": money(cash),
            "portfolio_value": money(equity),
            "equity": money(equity),
            "last_equity": money(starting_cash),
            "sma": money(starting_cash),
            "long_market_value": money(long_value),
            "position_market_value": money(long_value),
            "short_market_value": "0",
            "initial_margin": money(long_value),
            "maintenance_margin": money(long_value * Decimal("0.3")),
            "multiplier": "1",
            "shorting_enabled": False,
            "balance_asof": balance_asof.isoformat(),
        }
    )
    return account
