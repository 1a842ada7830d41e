"""The run summary stored in `job_run.summary_json` and printed at the end of a run."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog

from trading_automation.clients.errors import ApiError

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient

log = structlog.get_logger(__name__)

# What each skip code of `OrderSummary.skipped` means, in words.
SKIP_REASONS = {
    "trading_disabled": "TRADING_ENABLED is false",
    "daily_max_filings": "the daily cap (DAILY_MAX_FILINGS) was reached",
    "per_ticker_daily_max": "the per-ticker cap (PER_TICKER_DAILY_MAX) was reached",
    "zero_shares": "one share costs more than TRADE_NOTIONAL_USD",
    "amendment": "a later filing (amendment) of a transaction decided before",
}


def skip_reason_words(code: str) -> str:
    """A skip code as a person reads it (a strategy rule by its key, `sizing.min_usd`)."""
    if code in SKIP_REASONS:
        return SKIP_REASONS[code]
    return f"strategy rule {code}" if "." in code else code.replace("_", " ")


@dataclass
class WindowSummary:
    """What one day of Quiver data held."""

    day: date
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    malformed: int = 0
    non_buy: int = 0
    buys: int = 0
    error: str | None = None


@dataclass
class OrderSummary:
    """What happened to the filings of the run, by outcome."""

    candidates: int = 0
    already_traded: int = 0
    # Filings an earlier run decided not to buy (a skip is final, as a trade is).
    already_skipped: int = 0
    resumed: int = 0
    # Orders sent and placed by this run, and orders an earlier attempt had placed that this run
    # found at the broker (by client order id) instead of sending again.
    submitted: int = 0
    found_at_broker: int = 0
    fallback: int = 0
    filled: int = 0
    partially_filled: int = 0
    open_after_polling: int = 0
    canceled_or_expired: int = 0
    rejected: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    not_sent: int = 0


@dataclass
class ExitSummary:
    """What the run's exits did: decided per cause, sent, skipped, failed, filled; lots closed
    outside the system; the members' sales that matched no lot of theirs."""

    decided: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    found_at_broker: int = 0
    skipped: int = 0
    failed: int = 0
    filled: int = 0
    closed_outside: int = 0
    sales_without_lot: int = 0
    not_checked: str | None = None


@dataclass
class RunSummary:
    """Everything a run did, as stored with the job run (no secrets: messages are redacted)."""

    trading_date: date
    attempt: int = 1
    dry_run: bool = False
    windows: list[WindowSummary] = field(default_factory=list)
    orders: OrderSummary = field(default_factory=OrderSummary)
    exits: ExitSummary = field(default_factory=ExitSummary)
    checkpoint: str | None = None
    account: dict[str, str] | None = None
    # The strategy file in effect (`file`, `sha256`); None without one.
    strategy: dict[str, str] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the run itself failed (a step errored), not just an order."""
        return bool(self.errors)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: dates as ISO text, the skipped counter as a plain mapping."""
        data = asdict(self)
        data["trading_date"] = self.trading_date.isoformat()
        for window in data["windows"]:
            window["day"] = window["day"].isoformat()
        data["orders"]["skipped"] = dict(sorted(self.orders.skipped.items()))
        data["exits"]["decided"] = dict(sorted(self.exits.decided.items()))
        return data


def account_balances(alpaca: AlpacaClient) -> dict[str, str] | None:
    """Cash, buying power and equity after a run, so its summary shows what is left to trade
    (None, logged, when the broker does not answer)."""
    try:
        account = alpaca.account()
    except ApiError as error:
        log.warning("account_unavailable", error=str(error))
        return None
    fields = {
        "cash": account.cash,
        "buying_power": account.buying_power,
        "equity": account.equity,
    }
    return {name: str(value) for name, value in fields.items() if value is not None}
