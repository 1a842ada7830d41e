"""Demo data: the fixture week of Juneteenth 2024, as three open-job runs would have left it.

Everything goes through the repositories, every timestamp is fixed, and every write is
idempotent (feed rows by row hash, trades by filing key, runs by day, checkpoints by maximum), so
seeding twice leaves exactly the same rows.

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

from sqlalchemy import delete

from trading_automation import fixtures
from trading_automation.db.database import UnitOfWork
from trading_automation.db.models import Base
from trading_automation.domain.enums import JobStatus, JobType, TradeStatus
from trading_automation.domain.filings import NormalizedFiling, normalize_record
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.web.read_models import trade_totals

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


def seed(uow: UnitOfWork) -> SeedReport:
    """Load the demo state inside the caller's unit of work."""
    report = SeedReport()
    plan = _Plan(prices=fixtures.latest_trade_prices())
    for run_day, windows, status in RUNS:
        _seed_run(uow, run_day=run_day, windows=windows, status=status, plan=plan, report=report)
    uow.flush()
    report.statuses = trade_totals(uow).by_status
    return report


def _seed_run(
    uow: UnitOfWork,
    *,
    run_day: date,
    windows: tuple[date, ...],
    status: JobStatus,
    plan: _Plan,
    report: SeedReport,
) -> None:
    opened = datetime.combine(run_day, time(9, 30), NEW_YORK).astimezone(UTC)
    orders: dict[str, Any] = {"submitted": 0, "fallback": 0, "failed": 0, "skipped": {}}
    window_summaries: list[dict[str, Any]] = []
    newest: datetime | None = None
    per_symbol: dict[str, int] = {}
    for window in windows:
        if status is JobStatus.FAILED and window == FAILED_WINDOW:
            window_summaries.append({"day": window.isoformat(), "error": "quiver 503"})
            continue
        filings = [normalize_record(record) for record in fixtures.quiver_day(window)]
        stored = uow.feed.store_filings(filings, ingested_at=opened)
        report.feed_new += stored.new
        window_summaries.append(
            {
                "day": window.isoformat(),
                "fetched": stored.received,
                "stored": stored.new,
                "duplicates": stored.duplicates,
                "malformed": sum(1 for filing in filings if filing.malformed),
                "non_buy": sum(1 for f in filings if not f.malformed and not f.is_tradable_buy),
            }
        )
        for filing in filings:
            if not filing.is_tradable_buy or filing.source_hash in plan.seen:
                continue
            assert filing.source_hash is not None
            assert filing.filing_date is not None
            plan.seen.add(filing.source_hash)
            filed = datetime.combine(filing.filing_date, time(0), NEW_YORK)
            newest = filed if newest is None or filed > newest else newest
            symbol = filing.ticker or ""
            outcome = plan.outcome(symbol, per_symbol.get(symbol, 0))
            if outcome != "per_ticker_cap":
                per_symbol[symbol] = per_symbol.get(symbol, 0) + 1
            created = opened + timedelta(seconds=len(plan.seen))
            report.trades_new += _trade(uow, filing, created, outcome, plan.prices)
            _count(orders, outcome)
    finished = opened + timedelta(minutes=1, seconds=len(plan.seen))
    errors = ["quiver 2024-06-16: service unavailable (HTTP 503)"]
    summary = {
        "trading_date": run_day.isoformat(),
        "windows": window_summaries,
        "orders": orders,
        "errors": errors if status is JobStatus.FAILED else [],
    }
    report.runs_new += uow.job_runs.record_finished(
        JobType.OPEN_JOB,
        run_day,
        status=status,
        owner=SEED_OWNER,
        started_at=opened,
        finished_at=finished,
        summary=summary,
    )
    if newest is not None and status is JobStatus.SUCCESS:
        uow.checkpoints.advance(run_day, newest, now=finished)


def _count(orders: dict[str, Any], outcome: str) -> None:
    if outcome in {"zero_shares", "per_ticker_cap"}:
        orders["skipped"][outcome] = orders["skipped"].get(outcome, 0) + 1
    elif outcome == "insufficient_buying_power":
        orders["failed"] += 1
    elif outcome != "new":
        orders["submitted"] += 1
        orders["fallback"] += outcome == "fallback"


def _trade(
    uow: UnitOfWork,
    filing: NormalizedFiling,
    created: datetime,
    outcome: str,
    prices: dict[str, Decimal],
) -> bool:
    assert filing.source_hash is not None
    assert filing.ticker is not None
    feed_id = uow.feed.ids_by_source_hash([filing.source_hash]).get(filing.source_hash)
    result = uow.trades.record_intent(
        source_hash=filing.source_hash,
        symbol=filing.ticker,
        congress_trade_feed_id=feed_id,
        now=created,
    )
    trade = result.trade
    price = prices[trade.symbol]
    if outcome == "new":
        return result.created
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
        uow.trades.apply_order(
            trade, _order(trade.client_order_id, trade.symbol, outcome, price, created)
        )
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
