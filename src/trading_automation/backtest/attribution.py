"""Where a backtest's P&L came from: per member, party and chamber of the filing a lot mirrored,
and per cause of its exits.

Realized P&L is the closed parts' (`ClosedPart.pnl`), unrealized the lots still open at the
end (`OpenPosition.pnl`, at the last close known). Both are summed exactly and rounded to the
cent once, where written: a row's `pnl` is its exact realized + unrealized, rounded, so the rows
of a table add up to the run's total whenever the parts are in cents. The exit-cause table has
one row per cause (named by its value, e.g. "MIRRORED_SALE") with realized P&L only, and one
row "open" with the unrealized. `lots` counts the distinct lots in a row (a lot closed by two
causes counts in both causes' rows). Rows are sorted by P&L, highest first, then by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from trading_automation.backtest.result import BacktestResult, Who
from trading_automation.domain.money import EXACT, cents

OPEN = "open"
TABLES = ("member", "party", "chamber", "exit_cause")

Row = dict[str, str | int]

_WHO: dict[str, Callable[[Who], str]] = {
    "member": lambda who: who.member,
    "party": lambda who: who.party,
    "chamber": lambda who: who.chamber,
}


@dataclass
class _Tally:
    realized: Decimal = Decimal(0)
    unrealized: Decimal = Decimal(0)
    lots: set[int] = field(default_factory=set)

    @property
    def pnl(self) -> Decimal:
        return EXACT.add(self.realized, self.unrealized)


def attribution(result: BacktestResult) -> dict[str, list[Row]]:
    """The four tables, keyed by `TABLES`; each row {"name", "realized", "unrealized", "pnl"
    (strings, cents), "lots"}."""
    tables = {name: _rows(result, key) for name, key in _WHO.items()}
    tables["exit_cause"] = _exit_rows(result)
    return tables


def _rows(result: BacktestResult, key: Callable[[Who], str]) -> list[Row]:
    tallies: dict[str, _Tally] = {}
    for part in result.closed:
        tally = tallies.setdefault(key(part.who), _Tally())
        tally.realized = EXACT.add(tally.realized, part.pnl)
        tally.lots.add(part.lot)
    for position in result.open_lots:
        tally = tallies.setdefault(key(position.who), _Tally())
        tally.unrealized = EXACT.add(tally.unrealized, position.pnl)
        tally.lots.add(position.lot)
    return _sorted(tallies)


def _exit_rows(result: BacktestResult) -> list[Row]:
    tallies: dict[str, _Tally] = {}
    for part in result.closed:
        tally = tallies.setdefault(part.cause.value, _Tally())
        tally.realized = EXACT.add(tally.realized, part.pnl)
        tally.lots.add(part.lot)
    if result.open_lots:
        held = tallies.setdefault(OPEN, _Tally())
        for position in result.open_lots:
            held.unrealized = EXACT.add(held.unrealized, position.pnl)
            held.lots.add(position.lot)
    return _sorted(tallies)


def _sorted(tallies: dict[str, _Tally]) -> list[Row]:
    ordered = sorted(tallies.items(), key=lambda item: (-item[1].pnl, item[0]))
    return [
        {
            "name": name,
            "realized": str(cents(tally.realized)),
            "unrealized": str(cents(tally.unrealized)),
            "pnl": str(cents(tally.pnl)),
            "lots": len(tally.lots),
        }
        for name, tally in ordered
    ]
