"""What each page shows: database rows and the broker snapshot combined into plain dataclasses.

The same objects feed the HTML templates and the JSON API (through `jsonout.jsonable`), so a page
and its `/api/` twin can never disagree. Money is rounded to the cent here (`domain.money.cents`),
from exact sums; a figure the broker could not provide is None ("unavailable"), never zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from trading_automation.clients import Account, Position
from trading_automation.domain.money import exact_sum
from trading_automation.web.broker import BrokerSnapshot
from trading_automation.web.equity import EquityCurve
from trading_automation.web.ledger_pnl import LedgerPnl
from trading_automation.web.pnl import percent
from trading_automation.web.queries import JobRunRecord
from trading_automation.web.read_models import Activity


@dataclass(frozen=True)
class BrokerStatus:
    """Whether Alpaca answered, and if not what failed and since when."""

    ok: bool
    error: str | None
    failing_since: datetime | None
    checked_at: datetime
    cache_s: float


@dataclass(frozen=True)
class AccountView:
    """The account balances shown on the overview."""

    status: str | None
    currency: str | None
    equity: Decimal | None
    cash: Decimal | None
    buying_power: Decimal | None


@dataclass(frozen=True)
class PositionView:
    """One live position."""

    symbol: str
    qty: Decimal
    avg_entry_price: Decimal | None
    current_price: Decimal | None
    market_value: Decimal | None
    cost_basis: Decimal | None
    unrealized_pl: Decimal | None
    unrealized_pl_pct: Decimal | None


@dataclass(frozen=True)
class Portfolio:
    """Every live position and their totals (a total is None when a position lacks its part)."""

    positions: list[PositionView]
    market_value: Decimal | None
    cost_basis: Decimal | None
    unrealized_pl: Decimal | None
    unrealized_pl_pct: Decimal | None


@dataclass(frozen=True)
class DayCount:
    """Trades created on one New York day."""

    day: date
    trades: int


@dataclass(frozen=True)
class TradeSummary:
    """Totals over every trade."""

    total: int
    sells: int
    by_status: dict[str, int]
    notional_submitted: Decimal
    filled_value: Decimal


@dataclass(frozen=True)
class StrategyView:
    """The strategy in effect: its file and SHA-256 (None without one), what it says in words,
    the file the latest run used (when it differs), and how many filings each rule skipped."""

    file: str | None
    sha256: str | None
    lines: list[str]
    skips_by_rule: dict[str, int]
    latest_run_sha256: str | None = None


@dataclass(frozen=True)
class Overview:
    """The /overview page."""

    broker: BrokerStatus
    account: AccountView | None
    portfolio: Portfolio | None
    trades: TradeSummary
    per_day: list[DayCount]
    newest_day: date | None
    pnl: LedgerPnl
    latest_run: JobRunRecord | None
    # The close-job's snapshots (None before the first): equity at each close, drawdown.
    equity: EquityCurve | None = None
    strategy: StrategyView | None = None


def broker_status(snapshot: BrokerSnapshot, cache_s: float) -> BrokerStatus:
    """The banner's facts."""
    return BrokerStatus(
        ok=snapshot.ok,
        error=snapshot.error,
        failing_since=snapshot.failing_since,
        checked_at=snapshot.checked_at,
        cache_s=cache_s,
    )


def account_view(account: Account | None) -> AccountView | None:
    """The balances of an account, or None when the broker did not answer."""
    if account is None:
        return None
    return AccountView(
        status=account.status,
        currency=account.currency,
        equity=account.equity,
        cash=account.cash,
        buying_power=account.buying_power,
    )


def portfolio(positions: Iterable[Position] | None) -> Portfolio | None:
    """Positions with totals; None when the broker did not answer."""
    if positions is None:
        return None
    views = [
        PositionView(
            symbol=p.symbol,
            qty=p.qty,
            avg_entry_price=p.avg_entry_price,
            current_price=p.current_price,
            market_value=p.market_value,
            cost_basis=p.cost_basis,
            unrealized_pl=p.unrealized_pl,
            unrealized_pl_pct=(
                percent(p.unrealized_pl, p.cost_basis)
                if p.unrealized_pl is not None and p.cost_basis is not None
                else None
            ),
        )
        for p in positions
    ]
    market_value = _sum_or_none(v.market_value for v in views)
    cost_basis = _sum_or_none(v.cost_basis for v in views)
    unrealized = _sum_or_none(v.unrealized_pl for v in views)
    return Portfolio(
        positions=views,
        market_value=market_value,
        cost_basis=cost_basis,
        unrealized_pl=unrealized,
        unrealized_pl_pct=(
            percent(unrealized, cost_basis)
            if unrealized is not None and cost_basis is not None
            else None
        ),
    )


def trade_summary(activity: Activity) -> TradeSummary:
    """Totals of the overview's trade card."""
    by_status = {status.value: count for status, count in activity.totals.by_status.items()}
    return TradeSummary(
        total=sum(by_status.values()),
        sells=activity.totals.sells,
        by_status=by_status,
        notional_submitted=activity.totals.notional_submitted,
        filled_value=activity.totals.filled_value,
    )


def _sum_or_none(values: Iterable[Decimal | None]) -> Decimal | None:
    items = list(values)
    if any(item is None for item in items):
        return None
    return exact_sum(item for item in items if item is not None)
