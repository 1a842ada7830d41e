"""When a lot is closed, and how much of it: a pure function of values (no database, no HTTP).

A lot is a filled BUY, owned by the filing (and so the member) behind it. Once per run, at the
open, `decide_exits` looks at every open lot and says which to sell:

- **Mirrored sale.** A member's SELL disclosure closes that member's open lots in that ticker,
  oldest first, never anyone else's; a sale dated before a lot's purchase does not close it.
  "Sale (Partial)" closes all of them, half, or none (`ExitPolicy.partial_sale`); a sale already
  carried out on a lot (a sell that filled, or is still working) is not applied again.
- **Stops.** The latest trade price at or below fill x (1 - `stop_loss_pct`%), or at or above
  fill x (1 + `take_profit_pct`%), closes the lot. Checked once per run: no intraday monitoring.
- **Holding limit.** A lot held `max_hold_days` trading days (counted from the day it was filled)
  is closed.

One exit per lot per run; a cause that closes the whole lot wins over a partial sale, in the
order mirrored sale, stop loss, take profit, holding limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from trading_automation.domain.enums import CloseCause
from trading_automation.domain.filings import NormalizedFiling, is_partial_sale
from trading_automation.domain.money import EXACT, format_price

QUANTUM = Decimal("0.000000001")  # the ledger's quantities have 9 decimal places
_HUNDRED = Decimal(100)


class PartialSale(StrEnum):
    """What a member's partial sale does to their lots (EXIT_ON_PARTIAL_SALE)."""

    ALL = "all"
    HALF = "half"
    NONE = "none"


@dataclass(frozen=True)
class ExitPolicy:
    """The exit settings: partial sales, the holding limit and the stops (None: off)."""

    partial_sale: PartialSale = PartialSale.ALL
    max_hold_days: int | None = None
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None


@dataclass(frozen=True)
class OpenLot:
    """A lot with quantity still open.

    `member` is the member's key (see `member_key`); `purchased_on` the purchase's trade date as
    disclosed (its filing date when the trade date is missing); `filled_on` the New York day our
    buy filled; `whole_shares` when it was bought in whole shares (its asset trades no fractions).
    """

    id: uuid.UUID
    key: str
    symbol: str
    member: str
    purchased_on: date
    filled_on: date
    open_qty: Decimal
    fill_price: Decimal
    whole_shares: bool = False


@dataclass(frozen=True)
class SaleSignal:
    """A member's SELL disclosure: `sold_on` is its trade date (its filing date when missing)."""

    key: str
    member: str
    symbol: str
    sold_on: date
    partial: bool
    feed_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ExitDecision:
    """Sell `quantity` of a lot, for `cause`; `ref` tells apart exits of one lot for one cause
    (the sale's key for a mirrored sale); `reason` says why in words."""

    lot_id: uuid.UUID
    cause: CloseCause
    quantity: Decimal
    reason: str
    ref: str = ""
    feed_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ExitPlan:
    """The run's exits, and the sales that matched no open lot of their member."""

    decisions: list[ExitDecision] = field(default_factory=list)
    sales_without_lot: list[SaleSignal] = field(default_factory=list)


def sale_signal(filing: NormalizedFiling) -> SaleSignal:
    """The signal of a well-formed SELL disclosure."""
    assert filing.source_hash is not None
    assert filing.ticker is not None
    assert filing.filing_date is not None
    return SaleSignal(
        key=filing.source_hash,
        member=member_key(filing.member_name),
        symbol=filing.ticker,
        sold_on=filing.trade_date or filing.filing_date,
        partial=is_partial_sale(filing.raw),
    )


def member_key(name: str | None) -> str:
    """A member's name as compared across filings: trimmed, spaces collapsed, case folded."""
    return " ".join((name or "").split()).casefold()


def decide_exits(
    lots: Sequence[OpenLot],
    sales: Iterable[SaleSignal],
    policy: ExitPolicy,
    *,
    today: date,
    trading_days: Sequence[date] = (),
    prices: Mapping[str, Decimal] | None = None,
    applied: Mapping[uuid.UUID, frozenset[str]] | None = None,
) -> ExitPlan:
    """The exits of this run (see the module docstring).

    `trading_days` are the market's sessions (for the holding limit), `prices` the latest trade
    per symbol (for the stops), `applied` the sale keys already carried out on each lot.
    """
    applied = applied or {}
    prices = prices or {}
    by_owner: dict[tuple[str, str], list[OpenLot]] = {}
    for lot in sorted(lots, key=lambda item: (item.purchased_on, item.filled_on, str(item.id))):
        if lot.open_qty > 0:
            by_owner.setdefault((lot.member, lot.symbol), []).append(lot)
    chosen: dict[uuid.UUID, ExitDecision] = {}
    plan = ExitPlan()
    for sale in sorted(sales, key=lambda item: (item.sold_on, item.key)):
        owned = by_owner.get((sale.member, sale.symbol), [])
        eligible = [
            lot
            for lot in owned
            if lot.purchased_on <= sale.sold_on and sale.key not in applied.get(lot.id, frozenset())
        ]
        if not owned:
            plan.sales_without_lot.append(sale)
        for lot, quantity in _sale_quantities(eligible, sale, policy, chosen):
            chosen[lot.id] = ExitDecision(
                lot.id,
                CloseCause.MIRRORED_SALE,
                quantity,
                _sale_reason(sale, quantity == lot.open_qty),
                ref=sale.key,
                feed_id=sale.feed_id,
            )
    for owned in by_owner.values():
        for lot in owned:
            whole = _whole_lot_exit(lot, policy, today, trading_days, prices)
            current = chosen.get(lot.id)
            if whole is not None and (current is None or current.quantity < lot.open_qty):
                chosen[lot.id] = whole
    plan.decisions.extend(sorted(chosen.values(), key=lambda item: str(item.lot_id)))
    return plan


def _sale_quantities(
    lots: list[OpenLot],
    sale: SaleSignal,
    policy: ExitPolicy,
    chosen: Mapping[uuid.UUID, ExitDecision],
) -> list[tuple[OpenLot, Decimal]]:
    """How much of each lot (oldest first) a sale closes."""
    remaining = [(lot, lot.open_qty - _taken(chosen, lot)) for lot in lots]
    remaining = [(lot, left) for lot, left in remaining if left > 0]
    if not sale.partial or policy.partial_sale is PartialSale.ALL:
        return [(lot, left + _taken(chosen, lot)) for lot, left in remaining]
    if policy.partial_sale is PartialSale.NONE:
        return []
    target = EXACT.divide(sum((left for _, left in remaining), Decimal(0)), Decimal(2))
    out: list[tuple[OpenLot, Decimal]] = []
    for lot, left in remaining:
        if target <= 0:
            break
        take = _sellable(min(left, target), lot)
        if take > 0:
            out.append((lot, take + _taken(chosen, lot)))
            target -= take
    return out


def _taken(chosen: Mapping[uuid.UUID, ExitDecision], lot: OpenLot) -> Decimal:
    decision = chosen.get(lot.id)
    return decision.quantity if decision is not None else Decimal(0)


def _sellable(quantity: Decimal, lot: OpenLot) -> Decimal:
    """`quantity` rounded down to what can be sold: whole shares, or the ledger's 9 places."""
    step = Decimal(1) if lot.whole_shares else QUANTUM
    return quantity.quantize(step, rounding=ROUND_DOWN)


def _whole_lot_exit(
    lot: OpenLot,
    policy: ExitPolicy,
    today: date,
    trading_days: Sequence[date],
    prices: Mapping[str, Decimal],
) -> ExitDecision | None:
    price = prices.get(lot.symbol)
    if price is not None and policy.stop_loss_pct is not None:
        floor = EXACT.multiply(lot.fill_price, 1 - EXACT.divide(policy.stop_loss_pct, _HUNDRED))
        if price <= floor:
            return ExitDecision(
                lot.id,
                CloseCause.STOP_LOSS,
                lot.open_qty,
                f"latest price {format_price(price)} is at or below the stop "
                f"{format_price(_cents_up(floor))} (fill {format_price(lot.fill_price)} less "
                f"STOP_LOSS_PCT {policy.stop_loss_pct}%)",
            )
    if price is not None and policy.take_profit_pct is not None:
        ceiling = EXACT.multiply(lot.fill_price, 1 + EXACT.divide(policy.take_profit_pct, _HUNDRED))
        if price >= ceiling:
            return ExitDecision(
                lot.id,
                CloseCause.TAKE_PROFIT,
                lot.open_qty,
                f"latest price {format_price(price)} is at or above the target "
                f"{format_price(_cents_up(ceiling))} (fill {format_price(lot.fill_price)} plus "
                f"TAKE_PROFIT_PCT {policy.take_profit_pct}%)",
            )
    if policy.max_hold_days is not None:
        held = trading_days_held(lot.filled_on, today, trading_days)
        if held >= policy.max_hold_days:
            return ExitDecision(
                lot.id,
                CloseCause.HOLDING_LIMIT,
                lot.open_qty,
                f"held {held} trading days since {lot.filled_on}; MAX_HOLD_DAYS is "
                f"{policy.max_hold_days}",
            )
    return None


def trading_days_held(filled_on: date, today: date, trading_days: Sequence[date]) -> int:
    """Trading days from the day after `filled_on` through `today`."""
    return sum(1 for day in trading_days if filled_on < day <= today)


def _sale_reason(sale: SaleSignal, whole: bool) -> str:
    kind = "partial sale" if sale.partial else "sale"
    part = "" if whole else " (half of the member's open quantity)"
    return f"the member's {kind} of {sale.symbol} traded {sale.sold_on}{part}"


def _cents_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))
