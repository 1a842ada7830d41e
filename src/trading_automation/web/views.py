"""What each page shows: database rows and the broker snapshot combined into plain dataclasses.

The same objects feed the HTML templates and the JSON API (through `jsonout.jsonable`), so a page
and its `/api/` twin can never disagree. Money is rounded to the cent here (`domain.money.cents`),
from exact sums; a figure the broker could not provide is None ("unavailable"), never zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from trading_automation.clients import Account, Position
from trading_automation.domain.enums import Party
from trading_automation.domain.money import cents, exact_product, exact_sum
from trading_automation.web.broker import BrokerSnapshot
from trading_automation.web.pnl import Pnl, fill_pnl, percent, total
from trading_automation.web.queries import JobRunRecord, TradeRecord
from trading_automation.web.read_models import Activity, FillGroup


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
class PnlGroup:
    """Unrealized P&L of the filled trades of one member, one party, or all of them."""

    name: str
    party: Party | None
    trades: int
    cost: Decimal
    current_value: Decimal
    unrealized_pl: Decimal
    unrealized_pl_pct: Decimal | None


@dataclass(frozen=True)
class FilingPnl:
    """P&L per member and per party, from each filled trade and its symbol's current price."""

    by_member: list[PnlGroup]
    by_party: list[PnlGroup]
    total: PnlGroup | None
    unpriced_trades: int


@dataclass(frozen=True)
class DayCount:
    """Trades created on one New York day."""

    day: date
    trades: int


@dataclass(frozen=True)
class TradeSummary:
    """Totals over every trade."""

    total: int
    by_status: dict[str, int]
    notional_submitted: Decimal
    filled_value: Decimal


@dataclass(frozen=True)
class Overview:
    """The /overview page."""

    broker: BrokerStatus
    account: AccountView | None
    portfolio: Portfolio | None
    trades: TradeSummary
    per_day: list[DayCount]
    newest_day: date | None
    pnl: FilingPnl | None
    latest_run: JobRunRecord | None


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


def priced_trade(record: TradeRecord, prices: dict[str, Decimal] | None) -> TradeRecord:
    """A trade with its current value and unrealized P&L, when it has fills and a price."""
    if prices is None:
        return record
    price = prices.get(record.symbol)
    result = fill_pnl(record.filled_qty, record.filled_avg_price, price)
    if result is None:
        return record
    return replace(
        record,
        current_price=price,
        cost=cents(result.cost),
        current_value=cents(result.value),
        unrealized_pl=cents(result.pnl),
        unrealized_pl_pct=result.pnl_pct,
    )


def filing_pnl(groups: Iterable[FillGroup], prices: dict[str, Decimal] | None) -> FilingPnl | None:
    """P&L per member and per party; None when the broker's prices are unavailable.

    Each group's shares are valued at its symbol's current price: the sum of qty x price over a
    group's trades is its summed qty x the price, exactly. A member filed under more than one
    party is listed under the party of most of their trades.
    """
    if prices is None:
        return None
    by_member: dict[str, _Tally] = {}
    by_party: dict[Party, _Tally] = {}
    unpriced = 0
    for group in groups:
        price = prices.get(group.symbol)
        if price is None:
            unpriced += group.trades
            continue
        value = exact_product(group.filled_qty, price)
        member = by_member.setdefault(group.member or "(filing not stored)", _Tally())
        member.add(group.cost, value, group.trades)
        member.parties[group.party] = member.parties.get(group.party, 0) + group.trades
        by_party.setdefault(group.party or Party.UNKNOWN, _Tally()).add(
            group.cost, value, group.trades
        )
    member_pnl = {name: tally.pnl() for name, tally in by_member.items()}
    members = [_group(name, by_member[name].main_party(), pnl) for name, pnl in member_pnl.items()]
    parties = [_group(party.value, party, tally.pnl()) for party, tally in by_party.items()]
    overall = total(member_pnl.values())
    return FilingPnl(
        by_member=sorted(members, key=lambda g: (-g.unrealized_pl, g.name)),
        by_party=sorted(parties, key=lambda g: (-g.unrealized_pl, g.name)),
        total=_group("all filings", None, overall) if overall else None,
        unpriced_trades=unpriced,
    )


class _Tally:
    """Costs and values to sum exactly once, and the trades behind them by party."""

    def __init__(self) -> None:
        self.costs: list[Decimal] = []
        self.values: list[Decimal] = []
        self.trades = 0
        self.parties: dict[Party | None, int] = {}

    def add(self, cost: Decimal, value: Decimal, trades: int) -> None:
        self.costs.append(cost)
        self.values.append(value)
        self.trades += trades

    def pnl(self) -> Pnl:
        return Pnl(cost=exact_sum(self.costs), value=exact_sum(self.values), trades=self.trades)

    def main_party(self) -> Party | None:
        counts = self.parties
        return min(counts, key=lambda party: (-counts[party], party is None, party or ""))


def trade_summary(activity: Activity) -> TradeSummary:
    """Totals of the overview's trade card."""
    by_status = {status.value: count for status, count in activity.totals.by_status.items()}
    return TradeSummary(
        total=sum(by_status.values()),
        by_status=by_status,
        notional_submitted=activity.totals.notional_submitted,
        filled_value=activity.totals.filled_value,
    )


def _group(name: str, party: Party | None, pnl: Pnl) -> PnlGroup:
    return PnlGroup(
        name=name,
        party=party,
        trades=pnl.trades,
        cost=cents(pnl.cost),
        current_value=cents(pnl.value),
        unrealized_pl=cents(pnl.pnl),
        unrealized_pl_pct=pnl.pnl_pct,
    )


def _sum_or_none(values: Iterable[Decimal | None]) -> Decimal | None:
    items = list(values)
    if any(item is None for item in items):
        return None
    return exact_sum(item for item in items if item is not None)
