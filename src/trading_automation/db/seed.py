"""Demo data: the fixture week of Juneteenth 2024, as three open-job runs would have left it.

Everything goes through the repositories, every timestamp is fixed, and every write is
idempotent (feed rows by row hash, trades by filing key, runs by day, checkpoints by maximum), so
seeding twice leaves exactly the same rows. A database holding any other trade is refused
(`SeedConflictError`) before anything is written: the demo state is decided from the fixtures alone
and would contradict them.

`alpaca_orders()` gives the orders a broker holds after those runs; the sandbox preloads them, so
`reconcile` against it finds every seeded order.

The runs: 2024-06-17 (FAILED: Quiver did not answer for one day), 2024-06-18 and 2024-06-20
(SUCCESS). Their trades cover every status, including a whole-share fallback (a symbol that is not
fractionable) and a filing skipped because one share costs more than the notional.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select

from trading_automation import fixtures
from trading_automation.db.base import Base
from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import Trade
from trading_automation.domain.enums import JobStatus, JobType, TradeStatus
from trading_automation.domain.filings import (
    NormalizedFiling,
    client_order_id_for,
    normalize_record,
)
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.errors import TradingAutomationError

NOTIONAL = Decimal("1000")
SEED_OWNER = "seed"
_ORDER_IDS = uuid.UUID("5f0c3a57-7c1e-4d7f-9a0e-2b6f0f1d5e11")

# The three runs: trading day → the Quiver days it collected (the first run that saw a day
# traded its filings).
RUNS: tuple[tuple[date, tuple[date, ...], JobStatus], ...] = (
    (
        date(2024, 6, 17),
        (date(2024, 6, 14), date(2024, 6, 15), date(2024, 6, 16), date(2024, 6, 17)),
        JobStatus.FAILED,
    ),
    (date(2024, 6, 18), (date(2024, 6, 17), date(2024, 6, 18)), JobStatus.SUCCESS),
    (
        date(2024, 6, 20),
        (date(2024, 6, 18), date(2024, 6, 19), date(2024, 6, 20)),
        JobStatus.SUCCESS,
    ),
)
FAILED_WINDOW = date(2024, 6, 16)

# Outcomes handed out in turn to the filings that are not special cases.
_PLAN: tuple[str, ...] = (
    "filled",
    "filled",
    "partially_filled",
    "accepted",
    "canceled",
    "filled",
    "expired",
    "rejected",
    "insufficient_buying_power",
    "filled",
    "new",
)
PER_TICKER_CAP = 2


@dataclass
class SeedReport:
    """What seeding wrote (zero on a second run)."""

    feed_new: int = 0
    trades_new: int = 0
    runs_new: int = 0
    statuses: dict[TradeStatus, int] = field(default_factory=dict)


class SeedConflictError(TradingAutomationError):
    """The database already holds trades the demo data did not write (real runs, or another
    demo): seed an empty database, or empty this one first with `db seed --reset`."""

    exit_code = 2


@dataclass(frozen=True)
class SeedTrade:
    """One trade of the demo state: its filing, when it was recorded, and what became of it."""

    filing: NormalizedFiling
    created: datetime
    outcome: str
    price: Decimal

    @property
    def client_order_id(self) -> str:
        """The client order id the trade is recorded with (SPEC §4)."""
        assert self.filing.source_hash is not None
        return client_order_id_for(self.filing.source_hash)

    def alpaca_order(self) -> dict[str, Any] | None:
        """The broker's order for this trade, as Alpaca returns it; None when none was placed."""
        if self.outcome in _NO_ORDER:
            return None
        assert self.filing.ticker is not None
        return _order(
            self.client_order_id, self.filing.ticker, self.outcome, self.price, self.created
        )


@dataclass(frozen=True)
class _Window:
    """One Quiver day a run collected: its filings (None: Quiver failed) and the trades it made."""

    day: date
    filings: tuple[NormalizedFiling, ...] | None
    trades: tuple[SeedTrade, ...]


@dataclass(frozen=True)
class _Run:
    day: date
    status: JobStatus
    opened: datetime
    finished: datetime
    windows: tuple[_Window, ...]

    @property
    def trades(self) -> list[SeedTrade]:
        return [trade for window in self.windows for trade in window.trades]


@dataclass
class _Plan:
    """Hands out outcomes: special cases by symbol, the rest from `_PLAN` in turn."""

    prices: dict[str, Decimal]
    next_index: int = 0
    seen: set[str] = field(default_factory=set)

    def outcome(self, symbol: str, already_today: int) -> str:
        if already_today >= PER_TICKER_CAP:
            return "per_ticker_cap"
        if symbol in fixtures.NON_FRACTIONABLE_SYMBOLS:
            return "zero_shares" if self.prices[symbol] > NOTIONAL else "fallback"
        outcome = _PLAN[self.next_index % len(_PLAN)]
        self.next_index += 1
        return outcome


_NO_ORDER = frozenset({"new", "zero_shares", "per_ticker_cap", "insufficient_buying_power"})


def alpaca_orders() -> list[dict[str, Any]]:
    """The Alpaca order payloads of the seeded trades, oldest first: what the paper account of a
    broker that took them holds (the sandbox preloads them, so it agrees with `db seed`)."""
    return [
        order
        for run in _runs()
        for trade in run.trades
        if (order := trade.alpaca_order()) is not None
    ]


def seed(uow: UnitOfWork) -> SeedReport:
    """Load the demo state inside the caller's unit of work.

    Raises `SeedConflictError` before writing anything when the database holds trades the demo
    data did not write.
    """
    runs = _runs()
    _refuse_other_trades(uow, [trade for run in runs for trade in run.trades])
    report = SeedReport()
    for run in runs:
        _seed_run(uow, run, report)
    uow.flush()
    report.statuses = dict.fromkeys(TradeStatus, 0)
    for status, count in uow.session.execute(
        select(Trade.status, func.count()).group_by(Trade.status)
    ):
        report.statuses[TradeStatus(status)] = int(count)
    return report


def _runs() -> list[_Run]:
    """The three runs, decided from the fixtures alone (no database)."""
    plan = _Plan(prices=fixtures.latest_trade_prices())
    runs = []
    for run_day, days, status in RUNS:
        opened = datetime.combine(run_day, time(9, 30), NEW_YORK).astimezone(UTC)
        per_symbol: dict[str, int] = {}
        windows = []
        for window in days:
            if status is JobStatus.FAILED and window == FAILED_WINDOW:
                windows.append(_Window(window, None, ()))
                continue
            filings = tuple(normalize_record(record) for record in fixtures.quiver_day(window))
            trades = []
            for filing in filings:
                if not filing.is_tradable_buy or filing.source_hash in plan.seen:
                    continue
                assert filing.source_hash is not None
                plan.seen.add(filing.source_hash)
                symbol = filing.ticker or ""
                outcome = plan.outcome(symbol, per_symbol.get(symbol, 0))
                if outcome != "per_ticker_cap":
                    per_symbol[symbol] = per_symbol.get(symbol, 0) + 1
                created = opened + timedelta(seconds=len(plan.seen))
                trades.append(SeedTrade(filing, created, outcome, plan.prices[symbol]))
            windows.append(_Window(window, filings, tuple(trades)))
        finished = opened + timedelta(minutes=1, seconds=len(plan.seen))
        runs.append(_Run(run_day, status, opened, finished, tuple(windows)))
    return runs


def _refuse_other_trades(uow: UnitOfWork, planned: list[SeedTrade]) -> None:
    """Raise `SeedConflictError` when a stored trade is not one of `planned`, as it wrote it."""
    by_hash = {trade.filing.source_hash: trade for trade in planned}
    other = uow.session.scalars(
        select(Trade).where(Trade.source_hash.not_in(list(by_hash))).limit(1)
    ).first()
    if other is None:
        # The demo's own trades: recorded at the demo's instants, bound to the demo's orders.
        for stored in uow.session.scalars(
            select(Trade).where(Trade.source_hash.in_(list(by_hash)))
        ):
            trade = by_hash[stored.source_hash]
            order = trade.alpaca_order()
            bound = None if order is None else order["id"]
            if stored.created_at != trade.created or stored.alpaca_order_id not in (None, bound):
                other = stored
                break
    if other is not None:
        raise SeedConflictError(
            "the database already holds other trades than the demo data (for example "
            f"{other.symbol}, client order id {other.client_order_id}); seed an empty database, "
            "or empty this one first with `trading-automation db seed --reset`"
        )


def _seed_run(uow: UnitOfWork, run: _Run, report: SeedReport) -> None:
    orders: dict[str, Any] = {"submitted": 0, "fallback": 0, "failed": 0, "skipped": {}}
    window_summaries: list[dict[str, Any]] = []
    for window in run.windows:
        if window.filings is None:
            window_summaries.append({"day": window.day.isoformat(), "error": "quiver 503"})
            continue
        filings = window.filings
        stored = uow.feed.store_filings(filings, ingested_at=run.opened)
        report.feed_new += stored.new
        window_summaries.append(
            {
                "day": window.day.isoformat(),
                "fetched": stored.received,
                "stored": stored.new,
                "duplicates": stored.duplicates,
                "malformed": sum(1 for filing in filings if filing.malformed),
                "non_buy": sum(1 for f in filings if not f.malformed and not f.is_tradable_buy),
            }
        )
        for trade in window.trades:
            report.trades_new += _trade(uow, trade)
            _count(orders, trade.outcome)
    errors = ["quiver 2024-06-16: service unavailable (HTTP 503)"]
    summary = {
        "trading_date": run.day.isoformat(),
        "windows": window_summaries,
        "orders": orders,
        "errors": errors if run.status is JobStatus.FAILED else [],
    }
    report.runs_new += uow.job_runs.record_finished(
        JobType.OPEN_JOB,
        run.day,
        status=run.status,
        owner=SEED_OWNER,
        started_at=run.opened,
        finished_at=run.finished,
        summary=summary,
    )
    filed = [
        datetime.combine(trade.filing.filing_date, time(0), NEW_YORK)
        for trade in run.trades
        if trade.filing.filing_date is not None
    ]
    if filed and run.status is JobStatus.SUCCESS:
        uow.checkpoints.advance(run.day, max(filed), now=run.finished)


def _count(orders: dict[str, Any], outcome: str) -> None:
    if outcome in {"zero_shares", "per_ticker_cap"}:
        orders["skipped"][outcome] = orders["skipped"].get(outcome, 0) + 1
    elif outcome == "insufficient_buying_power":
        orders["failed"] += 1
    elif outcome != "new":
        orders["submitted"] += 1
        orders["fallback"] += outcome == "fallback"


def _trade(uow: UnitOfWork, planned: SeedTrade) -> bool:
    filing = planned.filing
    assert filing.source_hash is not None
    assert filing.ticker is not None
    feed_id = uow.feed.ids_by_source_hash([filing.source_hash]).get(filing.source_hash)
    result = uow.trades.record_intent(
        source_hash=filing.source_hash,
        symbol=filing.ticker,
        congress_trade_feed_id=feed_id,
        now=planned.created,
    )
    trade, created, price = result.trade, planned.created, planned.price
    outcome = planned.outcome
    if outcome == "zero_shares":
        uow.trades.mark_skipped(
            trade,
            f"one share costs ${price:,}, more than TRADE_NOTIONAL_USD ${NOTIONAL:,} "
            "(notional order refused: requested asset is not fractionable)",
            now=created,
        )
    elif outcome == "per_ticker_cap":
        uow.trades.mark_skipped(
            trade,
            f"PER_TICKER_DAILY_MAX ({PER_TICKER_CAP}) reached for {trade.symbol}",
            now=created,
        )
    elif outcome == "insufficient_buying_power":
        uow.trades.mark_failed(
            trade, "insufficient buying power: insufficient buying power", now=created
        )
    else:
        order = planned.alpaca_order()
        if order is not None:
            uow.trades.apply_order(trade, order)
    return result.created


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _order(
    client_order_id: str, symbol: str, outcome: str, price: Decimal, created: datetime
) -> dict[str, Any]:
    """A fixture order object rewritten for this trade: same shape, this trade's numbers."""
    name = "filled_whole_shares" if outcome == "fallback" else outcome
    order = fixtures.alpaca_order(name)
    whole = outcome == "fallback"
    nano = Decimal("0.000000001")
    shares = Decimal(math.floor(NOTIONAL / price))
    full_qty = shares if whole else (NOTIONAL / price).quantize(nano)
    filled = {
        "filled": full_qty,
        "fallback": full_qty,
        "partially_filled": (full_qty / 2).quantize(nano),
    }.get(outcome)
    done = created + timedelta(seconds=2)
    order.update(
        {
            "id": str(uuid.uuid5(_ORDER_IDS, client_order_id)),
            "client_order_id": client_order_id,
            "symbol": symbol,
            "notional": None if whole else str(NOTIONAL),
            "qty": str(shares) if whole else None,
            "filled_qty": str(filled) if filled is not None else "0",
            "filled_avg_price": str(price) if filled is not None else None,
            "created_at": _stamp(created),
            "submitted_at": _stamp(created),
            "updated_at": _stamp(done),
            "filled_at": _stamp(done) if outcome in {"filled", "fallback"} else None,
            "canceled_at": _stamp(done) if outcome == "canceled" else None,
            "expired_at": _stamp(done) if outcome == "expired" else None,
            "failed_at": _stamp(done) if outcome == "rejected" else None,
        }
    )
    return order


def reset(uow: UnitOfWork) -> None:
    """Empty every table of the schema (children first)."""
    for table in reversed(Base.metadata.sorted_tables):
        uow.session.execute(delete(table))
