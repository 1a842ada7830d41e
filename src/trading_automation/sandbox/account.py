"""The account the sandbox broker's fills add up to: positions and balances as Alpaca's API shows
them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from trading_automation import fixtures
from trading_automation.sandbox.orders import CENTS, SHARES, SandboxOrder, money, plain

_RATIO = Decimal("0.0000000000000001")


def positions_payload(
    orders: Iterable[SandboxOrder], prices: Mapping[str, Decimal]
) -> list[dict[str, Any]]:
    """`GET /v2/positions`: the orders' fills per symbol, valued at `prices`."""
    held: dict[str, tuple[Decimal, Decimal, str]] = {}
    for order in orders:
        if order.filled_qty.is_zero():
            continue
        qty, cost, asset_id = held.get(order.symbol, (Decimal(0), Decimal(0), ""))
        held[order.symbol] = (
            qty + order.filled_qty,
            cost + order.filled_qty * order.price,
            order.asset_id,
        )
    rows = []
    for symbol, (qty, cost, asset_id) in sorted(held.items()):
        price = prices[symbol]
        cost_basis = cost.quantize(CENTS, rounding=ROUND_HALF_UP)
        value = (qty * price).quantize(CENTS, rounding=ROUND_HALF_UP)
        gain = value - cost_basis
        ratio = plain((gain / cost_basis).quantize(_RATIO)) if cost_basis else "0"
        rows.append(
            {
                "asset_id": asset_id,
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
                "qty_available": plain(qty),
            }
        )
    return rows


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
