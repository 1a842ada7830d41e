"""The events of a finished open-job run, read from its summary and the trades it touched.

One place turns a run into alerts: a failed run, keys the broker refused, Quiver out of budget
or quiet for QUIET_DAYS trading days, orders that failed or ended unfilled, filings a guardrail
stopped, exits carried out, and lots the broker no longer holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading_automation.db import Database, JobRun, JobStatus, JobType, Trade, TradeStatus
from trading_automation.db.models import LotClose
from trading_automation.domain.enums import AlertLevel, CloseCause, OrderSide
from trading_automation.domain.money import exact_product, format_price, format_quantity
from trading_automation.domain.money import format_usd as usd
from trading_automation.notify.events import Event, fingerprint
from trading_automation.worker.summary import RunSummary

# How the clients' errors read in a run's summary (`ApiError`'s rendering): what a stored summary
# tells about the kind of a failure.
AUTH_REFUSED = ": credentials refused"
QUIVER_BUDGET_SPENT = "not sent: Quiver's bulk endpoints allow"
QUIVER_RATE_LIMITED = ": rate limited"
UNFILLED = (TradeStatus.FAILED, TradeStatus.REJECTED, TradeStatus.CANCELED, TradeStatus.EXPIRED)
CAUSE_WORDS = {
    CloseCause.MIRRORED_SALE: "the member sold",
    CloseCause.HOLDING_LIMIT: "holding limit",
    CloseCause.STOP_LOSS: "stop loss",
    CloseCause.TAKE_PROFIT: "take profit",
    CloseCause.OUTSIDE: "sold outside the system",
}


def rerun_hint(job: str, day: date) -> str:
    """The command that runs a day's job again."""
    return f"`trading-automation {job} --date {day.isoformat()}`"


def auth_event(day: date, detail: str, *, job: str = "open-job") -> Event:
    """Alpaca refused the API keys."""
    return Event(
        kind="broker_auth",
        level=AlertLevel.ERROR,
        trading_date=day,
        problem="",
        title=f"Alpaca refused the API keys ({job}, {day})",
        happened=f"the broker answered 401/403 to the {job}: the keys are wrong, revoked, or "
        "belong to another endpoint (paper keys on the live API, or the other way round).",
        money="nothing can be bought or sold, and open orders are not followed up, until the "
        "keys work again.",
        todo="check ALPACA_KEY_ID and ALPACA_SECRET_KEY (and ALPACA_BASE_URL), rotate the keys "
        f"if they leaked, then run {rerun_hint(job, day)}.",
        details=[detail],
    )


def run_failed_event(day: date, job: str, errors: Sequence[str], *, money: str) -> Event:
    """A job's run failed."""
    return Event(
        kind="run_failed",
        level=AlertLevel.ERROR,
        trading_date=day,
        problem=job,
        title=f"{job} for {day} failed",
        happened=f"the {job} for trading day {day} ended with "
        f"{len(errors)} error{'s' if len(errors) != 1 else ''}.",
        money=money,
        todo=f"read the errors below; once the cause is fixed run {rerun_hint(job, day)}: it "
        "picks up where this run stopped and never orders a filing twice.",
        details=list(errors),
    )


class OpenJobEvents:
    """Builds the events of one open-job run."""

    def __init__(self, database: Database, *, quiet_days: int) -> None:
        self.database = database
        self.quiet_days = quiet_days

    def events(
        self,
        summary: RunSummary,
        *,
        run_id: uuid.UUID,
        trade_ids: Collection[uuid.UUID],
    ) -> list[Event]:
        """Every event of the run, most serious first."""
        day = summary.trading_date
        with self.database.transaction(readonly=True) as uow:
            run = uow.session.get(JobRun, run_id)
            trades = list(uow.session.scalars(select(Trade).where(Trade.id.in_(trade_ids))))
            lots = self._lots(uow.session, trades)
            outside = self._outside_closes(uow.session, run.started_at if run else None)
            recent = self._recent_runs(uow.session)
        events = self._failures(summary)
        events += self._orders(day, trades, lots)
        events += self._exits(day, trades, lots)
        events += self._outside(day, outside)
        events += self._quiver(summary, recent)
        return events

    # -- the run -----------------------------------------------------------------------------

    def _failures(self, summary: RunSummary) -> list[Event]:
        day = summary.trading_date
        auth = [error for error in summary.errors if AUTH_REFUSED in error]
        events = [auth_event(day, auth[0])] if auth else []
        others = [error for error in summary.errors if AUTH_REFUSED not in error]
        if others:
            events.append(
                run_failed_event(
                    day,
                    "open-job",
                    others,
                    money="filings of days that could not be fetched, and orders that could "
                    "not be sent, were not bought yet; nothing was ordered twice.",
                )
            )
        return events

    # -- orders ------------------------------------------------------------------------------

    def _orders(self, day: date, trades: list[Trade], lots: dict[uuid.UUID, Trade]) -> list[Event]:
        events = []
        bad = [t for t in trades if t.status in UNFILLED]
        if bad:
            buys = sum(1 for t in bad if t.side is OrderSide.BUY)
            events.append(
                Event(
                    kind="orders_failed",
                    level=AlertLevel.WARNING,
                    trading_date=day,
                    problem=fingerprint(t.id for t in bad),
                    title=f"{len(bad)} order{'s' if len(bad) != 1 else ''} failed or ended "
                    f"unfilled on {day}",
                    happened=f"{buys} buy(s) and {len(bad) - buys} sell(s) were refused by the "
                    "broker, failed, or were canceled or expired without filling.",
                    money="those filings were not bought (or those lots not sold); no money "
                    "moved for them. They are not retried automatically.",
                    todo="read each reason below: fund the account for buying power, check "
                    "the symbol for a refusal; a sell the broker refused is settled by the "
                    "next run against the broker's position.",
                    details=[_order_line(t, lots) for t in bad],
                )
            )
        skipped = [t for t in trades if t.status is TradeStatus.SKIPPED]
        if skipped:
            capped = any("DAILY_MAX" in (t.status_reason or "") for t in skipped) or any(
                "PER_TICKER" in (t.status_reason or "") for t in skipped
            )
            events.append(
                Event(
                    kind="filings_skipped",
                    level=AlertLevel.WARNING if capped else AlertLevel.INFO,
                    trading_date=day,
                    problem=fingerprint(t.id for t in skipped),
                    title=f"{len(skipped)} filing{'s' if len(skipped) != 1 else ''} stopped "
                    f"by a guardrail on {day}",
                    happened="a guardrail or limit kept these orders from being sent: "
                    "TRADING_ENABLED=false, a daily cap, or a share costing more than "
                    "TRADE_NOTIONAL_USD.",
                    money="they were recorded and skipped for good: they will not be bought later.",
                    todo="nothing if that is what you want; otherwise raise DAILY_MAX_FILINGS / "
                    "PER_TICKER_DAILY_MAX or TRADE_NOTIONAL_USD, or set TRADING_ENABLED=true, "
                    "for the next filings.",
                    details=[_order_line(t, lots) for t in skipped],
                )
            )
        return events

    def _exits(self, day: date, trades: list[Trade], lots: dict[uuid.UUID, Trade]) -> list[Event]:
        sold = [t for t in trades if t.side is OrderSide.SELL and (t.filled_qty or Decimal(0)) > 0]
        if not sold:
            return []
        realized = [_realized(t, lots) for t in sold]
        known = [value for value in realized if value is not None]
        total = f"{usd(sum(known, Decimal(0)), signed=True)} realized" if known else "not known"
        return [
            Event(
                kind="exits",
                level=AlertLevel.INFO,
                trading_date=day,
                problem=fingerprint(t.id for t in sold),
                title=f"{len(sold)} exit{'s' if len(sold) != 1 else ''} executed on {day}: {total}",
                happened="the system sold these lots (mirrored sales, stops or the holding "
                "limit), as listed below.",
                money=f"P&L of these sells: {total}; the cash is in the account.",
                todo="nothing; the dashboard's trades page shows each sell and its lot.",
                details=[_order_line(t, lots) for t in sold],
            )
        ]

    # -- the ledger and the broker -------------------------------------------------------------

    def _outside(self, day: date, closes: list[LotClose]) -> list[Event]:
        if not closes:
            return []
        return [
            Event(
                kind="ledger_broker",
                level=AlertLevel.WARNING,
                trading_date=day,
                problem=fingerprint(c.id for c in closes),
                title=f"the broker holds less than the ledger: {len(closes)} lot(s) recorded as "
                "sold outside the system",
                happened="Alpaca's positions hold fewer shares than the system's open lots "
                "(shares sold by hand at the broker, or a fill the system missed).",
                money="those shares are no longer held; their sale price is unknown, so their "
                "P&L is left out of realized P&L.",
                todo="if nobody sold by hand, compare the broker's order history with the "
                "dashboard's positions page and run `trading-automation reconcile`.",
                details=[c.reason or "sold outside the system" for c in closes],
            )
        ]

    # -- Quiver ------------------------------------------------------------------------------

    def _quiver(self, summary: RunSummary, recent: list[JobRun]) -> list[Event]:
        day = summary.trading_date
        events = []
        limited = [
            w.error
            for w in summary.windows
            if w.error and (QUIVER_BUDGET_SPENT in w.error or QUIVER_RATE_LIMITED in w.error)
        ]
        if limited:
            events.append(
                Event(
                    kind="quiver_budget",
                    level=AlertLevel.WARNING,
                    trading_date=day,
                    problem="",
                    title=f"Quiver's request budget is spent ({day})",
                    happened="Quiver's bulk endpoints allow QUIVER_BULK_REQUESTS_PER_HOUR "
                    "requests an hour, or Quiver answered 429: some days were not fetched.",
                    money="filings of the days not fetched were not bought yet.",
                    todo=f"run {rerun_hint('open-job', day)} after the time given below; "
                    "another process using the same Quiver account also spends the budget.",
                    details=limited[:1],
                )
            )
        quiet = [run for run in recent if fetched_nothing_new(run)]
        if len(recent) >= self.quiet_days and len(quiet) == len(recent):
            first = recent[-1].trading_date_et
            events.append(
                Event(
                    kind="quiver_quiet",
                    level=AlertLevel.WARNING,
                    trading_date=day,
                    problem="",
                    title=f"Quiver returned nothing new for {self.quiet_days} trading days",
                    happened=f"the open-jobs of the {self.quiet_days} trading days since "
                    f"{first} fetched Quiver without error, and no record was new.",
                    money="no filing was bought in that time; if Quiver stopped publishing, "
                    "filings are being missed.",
                    todo="check Quiver's status and your subscription (QUIVER_API_KEY), and "
                    "the filings page; raise QUIET_DAYS if quiet spells are normal for you.",
                )
            )
        return events

    # -- reads -------------------------------------------------------------------------------

    @staticmethod
    def _lots(session: Session, trades: list[Trade]) -> dict[uuid.UUID, Trade]:
        ids = {t.lot_trade_id for t in trades if t.lot_trade_id is not None}
        if not ids:
            return {}
        return {lot.id: lot for lot in session.scalars(select(Trade).where(Trade.id.in_(ids)))}

    @staticmethod
    def _outside_closes(session: Session, since: datetime | None) -> list[LotClose]:
        if since is None:
            return []
        return list(
            session.scalars(
                select(LotClose)
                .where(LotClose.cause == CloseCause.OUTSIDE, LotClose.closed_at >= since)
                .order_by(LotClose.closed_at)
            )
        )

    def _recent_runs(self, session: Session) -> list[JobRun]:
        return list(
            session.scalars(
                select(JobRun)
                .where(JobRun.type == JobType.OPEN_JOB)
                .order_by(JobRun.trading_date_et.desc())
                .limit(self.quiet_days)
            )
        )


def fetched_nothing_new(run: JobRun) -> bool:
    """True when the run fetched every Quiver day without error and stored no new record."""
    if run.status not in (JobStatus.SUCCESS, JobStatus.FAILED):
        return False
    windows = (run.summary_json or {}).get("windows") or []
    if not windows or any(not isinstance(w, dict) or w.get("error") for w in windows):
        return False
    return all(w.get("stored") == 0 for w in windows)


def _realized(sell: Trade, lots: dict[uuid.UUID, Trade]) -> Decimal | None:
    lot = lots.get(sell.lot_trade_id) if sell.lot_trade_id else None
    if lot is None or lot.filled_avg_price is None or sell.filled_avg_price is None:
        return None
    return exact_product(
        sell.filled_qty or Decimal(0), sell.filled_avg_price - lot.filled_avg_price
    )


def _order_line(trade: Trade, lots: dict[uuid.UUID, Trade]) -> str:
    side = trade.side.value.lower()
    if trade.notional_submitted is not None:
        size = usd(trade.notional_submitted)
    elif trade.qty_submitted is not None:
        size = f"{format_quantity(trade.qty_submitted)} shares"
    else:
        size = ""
    line = f"{trade.symbol} {side}{' ' + size if size else ''}: {trade.status.value}"
    if trade.side is OrderSide.SELL and trade.exit_cause is not None:
        line += f" ({CAUSE_WORDS.get(trade.exit_cause, trade.exit_cause.value)})"
    if (trade.filled_qty or 0) > 0 and trade.filled_avg_price is not None:
        line += f", filled {format_quantity(trade.filled_qty or Decimal(0))} at "
        line += format_price(trade.filled_avg_price)
        pl = _realized(trade, lots) if trade.side is OrderSide.SELL else None
        if pl is not None:
            line += f", P&L {usd(pl, signed=True)}"
    if trade.status_reason:
        line += f" - {trade.status_reason}"
    return line


def crash_event(day: date, job: str, redacted: str) -> Event:
    """A job that stopped before it could run: the broker refused the keys, or it or the
    database did not answer."""
    if AUTH_REFUSED in redacted:
        return auth_event(day, redacted, job=job)
    return run_failed_event(
        day,
        job,
        [redacted],
        money="the job did not run: nothing was bought or sold by it, and nothing twice.",
    )
