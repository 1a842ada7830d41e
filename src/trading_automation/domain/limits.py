"""The portfolio's limits, checked before every buy: a pure function of an account snapshot.

`AccountSnapshot` is what the limits read: equity and cash, the market value held per symbol, and
the buys already placed or planned that the positions do not show yet (`pending`, in dollars).
Every decision that buys adds its amount to `pending` (`with_buy`), so a run checks each filing
against everything bought before it. The live run builds `pending` under the per-day lock from
the trades every run has recorded, so concurrent runs cannot exceed a limit between them.

- `max_open_positions`: symbols held or being bought; buying more of one of them is not a new one.
- `max_symbol_pct`: what a symbol holds and is being bought for, at most this share of equity.
- `max_gross_exposure_pct`: everything held and being bought, at most this share of equity.
- `cash_floor_usd`: cash less what is being bought never goes below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from trading_automation.domain.money import CENT, EXACT, exact_sum, format_usd
from trading_automation.domain.strategy import Decision, Strategy

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class AccountSnapshot:
    """The account as the limits read it (see the module docstring)."""

    equity: Decimal
    cash: Decimal
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    pending: Mapping[str, Decimal] = field(default_factory=dict)

    def with_buy(self, symbol: str, amount: Decimal) -> AccountSnapshot:
        """The snapshot once `amount` dollars of `symbol` are being bought too."""
        pending = dict(self.pending)
        pending[symbol] = EXACT.add(pending.get(symbol, Decimal(0)), amount)
        return AccountSnapshot(self.equity, self.cash, dict(self.positions), pending)

    def exposure(self, symbol: str) -> Decimal:
        """What `symbol` holds and is being bought for."""
        held = abs(self.positions.get(symbol, Decimal(0)))
        return EXACT.add(held, self.pending.get(symbol, Decimal(0)))

    @property
    def gross(self) -> Decimal:
        """Everything held (long or short, at market value) and being bought."""
        held = exact_sum(abs(value) for value in self.positions.values())
        return EXACT.add(held, self.pending_total)

    @property
    def pending_total(self) -> Decimal:
        """Dollars being bought that the positions do not show yet."""
        return exact_sum(self.pending.values())

    @property
    def open_symbols(self) -> frozenset[str]:
        """Symbols held, or being bought."""
        held = {symbol for symbol, value in self.positions.items() if value != 0}
        return frozenset(held | {symbol for symbol, value in self.pending.items() if value > 0})


@dataclass(frozen=True)
class PendingBuy:
    """A buy the broker's positions may not show yet: still open (its planned dollars count), or
    filled after the positions were read (what it filled for counts)."""

    symbol: str
    open: bool
    planned: Decimal | None
    filled_value: Decimal


def pending_by_symbol(buys: Iterable[PendingBuy], default: Decimal) -> dict[str, Decimal]:
    """Dollars being bought per symbol; an open buy without a planned amount counts `default`."""
    pending: dict[str, Decimal] = {}
    for buy in buys:
        amount = (buy.planned if buy.planned is not None else default) if buy.open else None
        if amount is None:
            amount = buy.filled_value
        if amount > 0:
            pending[buy.symbol] = EXACT.add(pending.get(buy.symbol, Decimal(0)), amount)
    return pending


def apply_limits(
    symbol: str, amount: Decimal, how: str, strategy: Strategy, account: AccountSnapshot
) -> Decision:
    """The buy of `amount` dollars of `symbol` within the limits: as is, reduced to the room
    left, or skipped by the limit that leaves less than `sizing.min_usd`."""
    limits = strategy.limits
    smallest = strategy.sizing.smallest_order
    cap_positions = limits.max_open_positions
    if cap_positions is not None:
        held = account.open_symbols
        if symbol not in held and len(held) >= cap_positions:
            return Decision.skip(
                "limits.max_open_positions",
                f"{len(held)} positions held or being bought; limits.max_open_positions is "
                f"{cap_positions}",
            )
    for rule, left, words in _rooms(symbol, strategy, account):
        room = max(left, Decimal(0)).quantize(CENT, rounding=ROUND_FLOOR, context=EXACT)
        if room >= amount:
            continue
        if room < smallest:
            return Decision.skip(rule, f"{words}: {format_usd(room)} left")
        how += f", reduced to {format_usd(room)} by {rule} ({words})"
        amount = room
    return Decision(amount, None, how)


def _rooms(
    symbol: str, strategy: Strategy, account: AccountSnapshot
) -> list[tuple[str, Decimal, str]]:
    """Each limit that is set: its rule, the dollars it leaves for this buy, and why in words."""
    limits = strategy.limits
    equity = account.equity
    rooms = []
    if limits.max_symbol_pct is not None:
        cap = _share(equity, limits.max_symbol_pct)
        used = account.exposure(symbol)
        rooms.append(
            (
                "limits.max_symbol_pct",
                EXACT.subtract(cap, used),
                f"{symbol} holds and is being bought for {format_usd(used)}; "
                f"limits.max_symbol_pct {limits.max_symbol_pct}% of equity "
                f"{format_usd(equity)} is {format_usd(cap)}",
            )
        )
    if limits.max_gross_exposure_pct is not None:
        cap = _share(equity, limits.max_gross_exposure_pct)
        used = account.gross
        rooms.append(
            (
                "limits.max_gross_exposure_pct",
                EXACT.subtract(cap, used),
                f"held and being bought {format_usd(used)}; limits.max_gross_exposure_pct "
                f"{limits.max_gross_exposure_pct}% of equity {format_usd(equity)} is "
                f"{format_usd(cap)}",
            )
        )
    if limits.cash_floor_usd is not None:
        spendable = EXACT.subtract(account.cash, account.pending_total)
        rooms.append(
            (
                "limits.cash_floor_usd",
                EXACT.subtract(spendable, limits.cash_floor_usd),
                f"cash {format_usd(account.cash)} less {format_usd(account.pending_total)} "
                f"being bought; limits.cash_floor_usd keeps {format_usd(limits.cash_floor_usd)}",
            )
        )
    return rooms


def _share(equity: Decimal, percent: Decimal) -> Decimal:
    return EXACT.multiply(equity, EXACT.divide(percent, _HUNDRED))
