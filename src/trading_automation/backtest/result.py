"""What a backtest produces: its fills, the lots it closed, the skips, and the equity at each close.

Money and quantities are exact decimals, as in the live ledger; the metrics computed from them
(`trading_automation.backtest.metrics`) are statistics, in floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from trading_automation.domain.enums import CloseCause, OrderSide

DELISTED_REASON = "delisted"


@dataclass(frozen=True)
class Params:
    """How a backtest runs: the period, the starting cash, the slippage every fill pays (in
    basis points of the open: buys pay more, sells get less) and the yearly risk-free rate the
    Sharpe and Sortino ratios subtract."""

    start: date
    end: date
    capital: Decimal = Decimal(100_000)
    slippage_bps: Decimal = Decimal(5)
    risk_free_rate: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.capital <= 0:
            raise ValueError(f"the capital must be more than 0, not {self.capital}")
        if not Decimal(0) <= self.slippage_bps < Decimal(10_000):
            raise ValueError(
                f"the slippage must be from 0 to 9999 basis points, not {self.slippage_bps}"
            )


@dataclass(frozen=True)
class Who:
    """Whose filing a lot came from, for the attribution tables."""

    member: str
    party: str
    chamber: str


@dataclass(frozen=True)
class Fill:
    """One order the backtest filled at a day's open: `amount` is what changed hands (cash paid for
    a buy, received for a sell), `price` the open with slippage."""

    day: date
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    amount: Decimal
    lot: int
    who: Who
    cause: CloseCause | None = None
    reason: str = ""


@dataclass(frozen=True)
class ClosedPart:
    """A part of a lot closed: by a sell (`price` its fill) or, for a delisted symbol, at its last
    close. `pnl` is the proceeds less the part's share of the lot's cost."""

    lot: int
    symbol: str
    who: Who
    cause: CloseCause
    opened: date
    closed: date
    held_days: int
    quantity: Decimal
    cost: Decimal
    proceeds: Decimal
    reason: str = ""

    @property
    def pnl(self) -> Decimal:
        return self.proceeds - self.cost


@dataclass(frozen=True)
class Skip:
    """A filing the backtest did not buy, and why (the strategy's rule, or `no_bar`)."""

    day: date
    symbol: str
    rule: str
    reason: str


@dataclass(frozen=True)
class EquityDay:
    """The portfolio at one close: cash, the market value of what is held, and the benchmark's
    close that day (None when it has no bar)."""

    day: date
    cash: Decimal
    market_value: Decimal
    benchmark_close: Decimal | None = None

    @property
    def equity(self) -> Decimal:
        return self.cash + self.market_value


@dataclass(frozen=True)
class OpenPosition:
    """A lot still open at the end: its open quantity, the cost of that quantity, and its value
    at the last close known."""

    lot: int
    symbol: str
    who: Who
    opened: date
    quantity: Decimal
    cost: Decimal
    value: Decimal

    @property
    def pnl(self) -> Decimal:
        return self.value - self.cost


@dataclass
class BacktestResult:
    """Everything one backtest run produced, oldest first."""

    params: Params
    strategy_sha256: str
    benchmark: str
    equity: list[EquityDay] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    closed: list[ClosedPart] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    # Sales whose member held no open lot of the ticker: recorded and counted, nothing more.
    sales_without_lot: int = 0
    # What is still held at the end, valued at the last close known.
    open_lots: list[OpenPosition] = field(default_factory=list)
    # (fills, skips) when the per-trade lists were left out (`summary`).
    counted: tuple[int, int] | None = None

    @property
    def fill_count(self) -> int:
        return self.counted[0] if self.counted is not None else len(self.fills)

    @property
    def skip_count(self) -> int:
        return self.counted[1] if self.counted is not None else len(self.skips)

    def summary(self) -> BacktestResult:
        """The result without its per-trade lists (fills, closes, skips, open lots), their
        counts kept: the equity at each close and the parameters are what a stored run needs."""
        return replace(
            self,
            fills=[],
            closed=[],
            skips=[],
            open_lots=[],
            counted=(self.fill_count, self.skip_count),
        )

    @property
    def final_equity(self) -> Decimal:
        return self.equity[-1].equity if self.equity else self.params.capital
