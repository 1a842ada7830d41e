"""Realized and unrealized P&L per member, per party and in total, from the lot groups.

Realized P&L is what the closes made: quantity x (close price - the lot's fill price), known
from the database alone. Unrealized P&L values the lots' open quantity at its symbol's current
price: open qty x (current price - fill price); it needs the broker's prices. Closes outside the
system have no price: they reduce the open quantity but stay out of realized P&L, and are counted.
Every sum is exact; figures are rounded half-up to the cent only here, where they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from trading_automation.domain.enums import Party
from trading_automation.domain.money import EXACT, cents, exact_product, exact_sum
from trading_automation.web.pnl import percent
from trading_automation.web.read_models import LotGroup

NO_FILING = "(filing not stored)"


@dataclass(frozen=True)
class PnlGroup:
    """Realized and unrealized P&L of the lots of one member, one party, or all of them.

    `cost`, `current_value` and the unrealized figures cover the open lots with a current price,
    and are None when the broker did not answer; `unpriced_lots` were left out of them.
    """

    name: str
    party: Party | None
    lots: int
    open_lots: int
    open_qty: Decimal
    unpriced_lots: int
    cost: Decimal | None
    current_value: Decimal | None
    unrealized_pl: Decimal | None
    unrealized_pl_pct: Decimal | None
    closes: int
    closed_qty: Decimal
    proceeds: Decimal
    realized_pl: Decimal
    realized_pl_pct: Decimal | None
    outside_closes: int
    outside_qty: Decimal


@dataclass(frozen=True)
class LedgerPnl:
    """P&L per member and per party, and over every lot."""

    priced: bool
    by_member: list[PnlGroup]
    by_party: list[PnlGroup]
    total: PnlGroup | None
    unpriced_lots: int


def ledger_pnl(groups: Iterable[LotGroup], prices: dict[str, Decimal] | None) -> LedgerPnl:
    """P&L per member and per party; unrealized figures are None without the broker's `prices`.

    Each group's open shares are valued at its symbol's current price: the sum of qty x price
    over a group's lots is its summed open qty x the price, exactly. A member filed under more
    than one party is listed under the party of most of their lots.
    """
    by_member: dict[str, _Tally] = {}
    by_party: dict[Party, _Tally] = {}
    everything = _Tally()
    for group in groups:
        price = prices.get(group.symbol) if prices is not None else None
        for tally in (
            by_member.setdefault(group.member or NO_FILING, _Tally()),
            by_party.setdefault(group.party or Party.UNKNOWN, _Tally()),
            everything,
        ):
            tally.add(group, price)
        by_member[group.member or NO_FILING].count_party(group.party, group.lots)
    priced = prices is not None
    members = [tally.view(name, tally.main_party(), priced) for name, tally in by_member.items()]
    parties = [tally.view(party.value, party, priced) for party, tally in by_party.items()]
    return LedgerPnl(
        priced=priced,
        by_member=sorted(members, key=_ranking),
        by_party=sorted(parties, key=_ranking),
        total=everything.view("all filings", None, priced) if everything.lots else None,
        unpriced_lots=everything.unpriced_lots if priced else 0,
    )


def _ranking(group: PnlGroup) -> tuple[Decimal, str]:
    """Best first: realized plus unrealized (when known), then by name."""
    return (-(group.realized_pl + (group.unrealized_pl or 0)), group.name)


@dataclass
class _Tally:
    """Exact parts to sum once, and the lots behind them by party."""

    lots: int = 0
    open_lots: int = 0
    unpriced_lots: int = 0
    closes: int = 0
    outside_closes: int = 0
    open_qty: list[Decimal] = field(default_factory=list)
    costs: list[Decimal] = field(default_factory=list)
    values: list[Decimal] = field(default_factory=list)
    closed_qty: list[Decimal] = field(default_factory=list)
    closed_costs: list[Decimal] = field(default_factory=list)
    proceeds: list[Decimal] = field(default_factory=list)
    outside_qty: list[Decimal] = field(default_factory=list)
    parties: dict[Party | None, int] = field(default_factory=dict)

    def add(self, group: LotGroup, price: Decimal | None) -> None:
        self.lots += group.lots
        self.open_lots += group.open_lots
        self.open_qty.append(group.open_qty)
        if price is None:
            self.unpriced_lots += group.open_lots
        else:
            self.costs.append(group.open_cost)
            self.values.append(exact_product(group.open_qty, price))
        self.closes += group.closes
        self.closed_qty.append(group.closed_qty)
        self.closed_costs.append(group.closed_cost)
        self.proceeds.append(group.proceeds)
        self.outside_closes += group.outside_closes
        self.outside_qty.append(group.outside_qty)

    def count_party(self, party: Party | None, lots: int) -> None:
        self.parties[party] = self.parties.get(party, 0) + lots

    def main_party(self) -> Party | None:
        counts = self.parties
        return min(counts, key=lambda party: (-counts[party], party is None, party or ""))

    def view(self, name: str, party: Party | None, priced: bool) -> PnlGroup:
        cost, value = exact_sum(self.costs), exact_sum(self.values)
        unrealized = EXACT.subtract(value, cost)
        closed_cost, proceeds = exact_sum(self.closed_costs), exact_sum(self.proceeds)
        realized = EXACT.subtract(proceeds, closed_cost)
        return PnlGroup(
            name=name,
            party=party,
            lots=self.lots,
            open_lots=self.open_lots,
            open_qty=exact_sum(self.open_qty),
            unpriced_lots=self.unpriced_lots if priced else 0,
            cost=cents(cost) if priced else None,
            current_value=cents(value) if priced else None,
            unrealized_pl=cents(unrealized) if priced else None,
            unrealized_pl_pct=percent(unrealized, cost) if priced else None,
            closes=self.closes,
            closed_qty=exact_sum(self.closed_qty),
            proceeds=cents(proceeds),
            realized_pl=cents(realized),
            realized_pl_pct=percent(realized, closed_cost),
            outside_closes=self.outside_closes,
            outside_qty=exact_sum(self.outside_qty),
        )
