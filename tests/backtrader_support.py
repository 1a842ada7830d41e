"""One synthetic scenario replayed twice: by the project's engine and by backtrader.

The scenario: `symbols` symbols with a bar every session (the sandbox's seeded walk, prices at
four decimals as Alpaca serves them) and purchases disclosed by the sandbox's roster of members,
each aimed at a session: it became public after the previous session's open and at or before
this one's (the evening before, a weekend or holiday between, the morning itself up to 09:30, or
without an upload time, so the end of its `Filed` day). The engine reads the records and works
out for itself which session each reaches; backtrader is told the session. The differential test
(`tests/test_backtest_backtrader.py`) and benchmark B9 both run it.

The backtrader side runs the same rule in backtrader's own terms (see the test's docstring for
how each part corresponds): cheat-on-open, one in-memory feed per symbol, market orders at the
open slipped by `slip_perc`, sizes of the dollars over the slipped open (to nine places, down),
each lot sold `hold` bars after the bar it was bought on, and a commission that is each fill's
value less that value rounded to the cent, so that its cash moves in cents like the engine's.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import backtrader as bt

from tests import backtest_support
from tests.backtest_support import new_york, record
from trading_automation.backtest.history import History
from trading_automation.sandbox import MarketCalendar, SyntheticBars
from trading_automation.sandbox.history_disclosures import roster

Row = tuple[date, Decimal, Decimal, Decimal, Decimal]  # day, open, high, low, close
BuysByDay = dict[date, list[str]]


@dataclass(frozen=True)
class Purchase:
    """A disclosed purchase and the session whose open it reaches."""

    session: date
    symbol: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """Bars of every symbol on every session, and the purchases (see the module docstring)."""

    sessions: tuple[date, ...]
    bars: dict[str, list[Row]]
    purchases: list[Purchase]

    @property
    def start(self) -> date:
        return self.sessions[0]

    @property
    def end(self) -> date:
        return self.sessions[-1]

    def history(self) -> History:
        """The engine's history of it, built as `load_history` builds one."""
        rows = (
            (symbol, day, opened, closed)
            for symbol, found in self.bars.items()
            for day, opened, _high, _low, closed in found
        )
        records = [purchase.record for purchase in self.purchases]
        return backtest_support.history(self.start, self.end, records, rows)


def _four(value: float) -> Decimal:
    return Decimal(f"{value:.4f}")


def make_scenario(
    *, symbols: int, start: date, end: date, per_session: int, seed: int = 11
) -> Scenario:
    """`symbols` symbols (S000 on), `start` to `end`, about `per_session` purchases a session."""
    generator = SyntheticBars(seed=seed, missing_rate=0.0)
    names = [f"S{number:03d}" for number in range(symbols)]
    bars = {
        symbol: [
            (bar.day, _four(bar.open), _four(bar.high), _four(bar.low), _four(bar.close))
            for bar in generator.bars(symbol, start, end, adjustment="all", today=end)
        ]
        for symbol in names
    }
    sessions = tuple(MarketCalendar().trading_days(start, end))
    assert all([row[0] for row in found] == list(sessions) for found in bars.values())
    rng = random.Random(seed)
    members = [member.name for member in roster(seed)]
    purchases: list[Purchase] = []
    taken: set[tuple[str, str, date]] = set()
    for previous, session in itertools.pairwise(sessions):
        for _ in range(rng.randint(0, 2 * per_session)):
            symbol = rng.choice(names)
            filed, uploaded = _publication(rng, previous, session)
            traded = filed - timedelta(days=rng.randint(1, 40))
            member = rng.choice(members)
            if {(member, symbol, filed), (member, symbol, traded)} & taken:
                continue  # the same filing or transaction twice: decided once, as live
            taken.update({(member, symbol, filed), (member, symbol, traded)})
            raw = record(
                member,
                symbol,
                "Purchase",
                traded=traded,
                filed=filed,
                uploaded=uploaded,
                Party=rng.choice("DRI"),
            )
            purchases.append(Purchase(session, symbol, raw))
    return Scenario(sessions, bars, purchases)


def _publication(rng: random.Random, previous: date, session: date) -> tuple[date, datetime | None]:
    """A filing date and upload time that reach `session`'s open and not `previous`'s."""
    between = [previous + timedelta(days=n) for n in range(1, (session - previous).days)]
    kind = rng.choice(("evening", "evening", "morning", "open", "between", "no upload time"))
    if kind == "between" and between:
        day = rng.choice(between)
        return day, new_york(day, rng.randrange(24), rng.randrange(60))
    if kind == "morning":
        return session, new_york(session, rng.randrange(9), rng.randrange(60))
    if kind == "open":
        return session, new_york(session, 9, 30)
    if kind == "no upload time":
        return previous, None  # public at the end of its Filed day
    return previous, new_york(previous, rng.randrange(10, 24), rng.randrange(60))


# -- backtrader ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BtFill:
    day: date
    symbol: str
    side: str
    quantity: float
    price: float
    amount: float


@dataclass
class BtRun:
    fills: list[BtFill] = field(default_factory=list)
    equity: list[tuple[date, float]] = field(default_factory=list)
    final_equity: float = 0.0


class _Rows(bt.feed.DataBase):  # type: ignore[misc]
    """A feed of in-memory daily rows (day, open, high, low, close)."""

    params = (("rows", ()),)

    def start(self) -> None:
        super().start()
        self._rows = iter(self.p.rows)

    def _load(self) -> bool:
        row = next(self._rows, None)
        if row is None:
            return False
        day, opened, high, low, closed = row
        self.lines.datetime[0] = bt.date2num(datetime.combine(day, time()))
        self.lines.open[0] = opened
        self.lines.high[0] = high
        self.lines.low[0] = low
        self.lines.close[0] = closed
        self.lines.volume[0] = 0.0
        self.lines.openinterest[0] = 0.0
        return True


class _Cents(bt.CommInfoBase):  # type: ignore[misc]
    """No commission, but each fill's cash rounded to the cent: the commission is the fill's
    value less that value rounded (at most half a cent either way)."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED))

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        value = abs(size) * price
        return value - round(value, 2)


class _HoldFor(bt.Strategy):  # type: ignore[misc]
    """Buy `amount` dollars of each symbol named for a day at its open; sell each lot `hold`
    bars later at the open."""

    params = (("buys", None), ("amount", 1000.0), ("hold", 5), ("slip", 0.0), ("run", None))

    def __init__(self) -> None:
        self.by_name = {data._name: data for data in self.datas}
        self.bar = -1
        self.due: dict[int, list[tuple[Any, float]]] = defaultdict(list)
        self.lots: dict[str, int] = defaultdict(int)

    def next_open(self) -> None:
        self.bar += 1
        day = self.datas[0].datetime.date(0)
        ordered: dict[str, float] = defaultdict(float)
        for data, lot_size in self.due.pop(self.bar, ()):
            name = data._name
            self.lots[name] -= 1
            size = lot_size
            if not self.lots[name]:
                # The last lot: what is left of the position (the lots' float sizes do not add
                # up to it exactly), so that the position ends at zero, not at a residue.
                size = self.getposition(data).size - ordered[name]
            ordered[name] += size
            self.sell(data=data, size=size)
        for symbol in self.p.buys.get(day, ()):
            data = self.by_name[symbol]
            price = round(data.open[0] * (1 + self.p.slip), 9)
            size = math.floor(self.p.amount / price * 1e9) / 1e9
            self.buy(data=data, size=size)
            self.lots[symbol] += 1
            self.due[self.bar + self.p.hold].append((data, size))

    def notify_order(self, order: Any) -> None:
        if order.status not in (order.Partial, order.Completed):
            return
        bit = order.executed.exbits[-1]  # what this execution did
        self.p.run.fills.append(
            BtFill(
                bt.num2date(bit.dt).date(),
                order.data._name,
                "buy" if bit.size > 0 else "sell",
                abs(bit.size),
                bit.price,
                round(abs(bit.size) * bit.price, 2),
            )
        )

    def next(self) -> None:
        self.p.run.equity.append((self.datas[0].datetime.date(0), self.broker.getvalue()))


def backtrader_input(scenario: Scenario) -> tuple[dict[str, list[tuple[Any, ...]]], BuysByDay]:
    """What backtrader is given: each symbol's rows in floats, and the symbols bought each day."""
    buys: BuysByDay = defaultdict(list)
    for purchase in scenario.purchases:
        buys[purchase.session].append(purchase.symbol)
    rows = {
        symbol: [(day, *(float(value) for value in prices)) for day, *prices in found]
        for symbol, found in scenario.bars.items()
    }
    return rows, dict(buys)


def run_backtrader(
    scenario: Scenario,
    *,
    amount: Decimal,
    hold: int,
    slippage_bps: Decimal,
    capital: Decimal,
) -> BtRun:
    """The scenario replayed by backtrader (see the module docstring)."""
    rows, buys = backtrader_input(scenario)
    return replay_backtrader(
        rows, buys, amount=amount, hold=hold, slippage_bps=slippage_bps, capital=capital
    )


def replay_backtrader(
    rows: dict[str, list[tuple[Any, ...]]],
    buys: BuysByDay,
    *,
    amount: Decimal,
    hold: int,
    slippage_bps: Decimal,
    capital: Decimal,
) -> BtRun:
    """`run_backtrader` from what `backtrader_input` made of the scenario."""
    cerebro = bt.Cerebro(cheat_on_open=True, stdstats=False)
    for symbol, found in rows.items():
        cerebro.adddata(_Rows(rows=found), name=symbol)
    slip = float(slippage_bps) / 10_000
    cerebro.broker.setcash(float(capital))
    cerebro.broker.addcommissioninfo(_Cents())
    cerebro.broker.set_slippage_perc(
        slip, slip_open=True, slip_limit=True, slip_match=True, slip_out=True
    )
    run = BtRun()
    cerebro.addstrategy(_HoldFor, buys=buys, amount=float(amount), hold=hold, slip=slip, run=run)
    cerebro.run()
    run.final_equity = cerebro.broker.getvalue()
    return run
