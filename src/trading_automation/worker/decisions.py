"""The decision step's shell: the values `domain.decide` reads, fetched for a run.

- Amendments: a candidate is a later filing of a transaction when the first record stored of its
  transaction (or, in a dry run, the first candidate of it) is another filing.
- The account: the broker's equity, cash and positions, read once when the buys start, and the
  buys every run has recorded that those positions do not show yet, read under the per-day lock
  for each filing (`Decisions.under_lock`), so concurrent runs see each other's buys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from trading_automation.clients.errors import ApiError
from trading_automation.domain.decide import AccountSnapshot, FilingFacts, decide
from trading_automation.domain.limits import pending_by_symbol
from trading_automation.domain.money import exact_product
from trading_automation.domain.strategy import Decision
from trading_automation.errors import TradingAutomationError

if TYPE_CHECKING:
    from trading_automation.clients.alpaca import AlpacaClient
    from trading_automation.db import UnitOfWork
    from trading_automation.db.repositories.amendments import Original
    from trading_automation.strategy_file import LoadedStrategy
    from trading_automation.worker.collect import Candidate


def mark_amendments(candidates: Iterable[Candidate], stored: Mapping[str, Original]) -> int:
    """Set each candidate's `amends` when another filing of its transaction came first; returns
    how many are amendments. `stored` are the first stored records of the transactions."""
    first: dict[str, tuple[str | None, date | None]] = {
        key: (original.source_hash, original.filing_date) for key, original in stored.items()
    }
    count = 0
    for candidate in candidates:
        key = candidate.filing.transaction_key
        if key is None:
            continue
        source_hash, filed = first.setdefault(
            key, (candidate.source_hash, candidate.filing.filing_date)
        )
        if source_hash != candidate.source_hash:
            candidate.amends = filed or candidate.filing.filing_date
            count += 1
    return count


class AccountUnavailableError(TradingAutomationError):
    """The broker did not give the account the strategy's limits need: run again once it does."""


def read_account(alpaca: AlpacaClient) -> AccountSnapshot:
    """The broker's equity, cash and market value per symbol, for the strategy's limits and
    sizing (`AccountUnavailableError` when the broker does not answer)."""
    try:
        return _account(alpaca)
    except ApiError as error:
        raise AccountUnavailableError(
            f"the account could not be read for the strategy's limits ({error.summary}); "
            "no filing was decided: the next run decides them"
        ) from error


def _account(alpaca: AlpacaClient) -> AccountSnapshot:
    account = alpaca.account()
    positions: dict[str, Decimal] = {}
    for position in alpaca.positions():
        value = position.market_value
        if value is None and position.current_price is not None:
            value = exact_product(position.qty, position.current_price)
        if value is None:
            value = position.cost_basis if position.cost_basis is not None else Decimal(0)
        positions[position.symbol.upper()] = value
    cash = account.cash if account.cash is not None else Decimal(0)
    equity = account.equity if account.equity is not None else cash
    return AccountSnapshot(equity=equity, cash=cash, positions=positions)


@dataclass
class Decisions:
    """One run's decisions: its strategy and, when the strategy reads it, the account as the
    broker showed it at `account_at`."""

    loaded: LoadedStrategy
    default_notional: Decimal
    account: AccountSnapshot | None = None
    account_at: datetime | None = None

    @property
    def needs_account(self) -> bool:
        """True when a decision reads the account (and so runs under the per-day lock)."""
        return self.loaded.strategy.needs_account

    def without_account(self, candidate: Candidate, day: date) -> Decision:
        """The decision of a strategy that reads no account."""
        return decide(facts(candidate), self.loaded.strategy, None, today=day)

    def under_lock(self, uow: UnitOfWork, candidate: Candidate, day: date) -> Decision:
        """The decision with every run's recorded buys counted (call it under the lock)."""
        assert self.account is not None
        assert self.account_at is not None
        pending = pending_by_symbol(uow.trades.pending_buys(self.account_at), self.default_notional)
        account = replace(self.account, pending=pending)
        return decide(facts(candidate), self.loaded.strategy, account, today=day)


def facts(candidate: Candidate) -> FilingFacts:
    """What the decision reads of a candidate."""
    return FilingFacts.from_filing(candidate.filing, amends=candidate.amends)
