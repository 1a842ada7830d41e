"""Collect: fetch each Quiver day, store every record, and return the BUY filings to trade."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as wall_time
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import ApiError, RequestBudgetSpentError
from trading_automation.domain.enums import FeedTransaction
from trading_automation.domain.filings import NormalizedFiling, normalize_record
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.worker.schedule import new_york_time
from trading_automation.worker.summary import RunSummary, WindowSummary

if TYPE_CHECKING:
    from trading_automation.clients.quiver import QuiverClient
    from trading_automation.db import Database
    from trading_automation.logs import SecretRedactor
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.quiver_budget import QuiverBudget

log = structlog.get_logger(__name__)


@dataclass
class Candidate:
    """A BUY filing to trade: the normalised record, its key and its symbol; `amends` is the
    filing date of the earlier filing of its transaction when this one is a later filing of it."""

    filing: NormalizedFiling
    source_hash: str
    symbol: str
    amends: date | None = None


class Collector:
    """Fetches Quiver days and stores their records (or only reads them, for a dry run).

    With a `budget`, each request takes a slot of Quiver's shared bulk budget first; when none is
    left, the remaining days are not asked for and the run says when to run again.
    """

    def __init__(
        self,
        *,
        database: Database,
        quiver: QuiverClient,
        redactor: SecretRedactor,
        budget: QuiverBudget | None = None,
    ) -> None:
        self.database = database
        self.quiver = quiver
        self.redactor = redactor
        self.budget = budget
        # The well-formed SELL disclosures of the last collect, for the exits to count.
        self.sales: list[NormalizedFiling] = []

    def collect(
        self, days: list[date], summary: RunSummary, clock: RunClock, *, store: bool
    ) -> tuple[list[Candidate], datetime | None]:
        """Fetch every day, store every record, and return the BUY filings in filing order,
        with the newest filing date seen (the checkpoint's next mark)."""
        ordered: list[tuple[date, int, int, NormalizedFiling]] = []
        newest: datetime | None = None
        spent: str | None = None
        self.sales = []
        for day_index, day in enumerate(days):
            window = WindowSummary(day=day)
            summary.windows.append(window)
            if spent is not None:
                window.error = spent
                continue
            try:
                records = self.quiver.congress_trading(day, gate=self.budget)
            except RequestBudgetSpentError as error:
                spent = window.error = self._budget_message(error, len(days))
                summary.errors.append(f"quiver {day} and later days: {spent}")
                log.error("window_not_fetched", day=day.isoformat(), reason=spent)
                continue
            except ApiError as error:
                window.error = self.redactor.redact(str(error))
                summary.errors.append(f"quiver {day}: {window.error}")
                log.error("window_failed", day=day.isoformat(), error=window.error)
                continue
            filings = [normalize_record(record) for record in records]
            window.fetched = len(filings)
            window.malformed = sum(1 for filing in filings if filing.malformed)
            window.buys = sum(1 for filing in filings if filing.is_tradable_buy)
            window.non_buy = window.fetched - window.malformed - window.buys
            if store:
                with self.database.transaction() as uow:
                    stored = uow.feed.store_filings(filings, ingested_at=clock.now())
                window.stored, window.duplicates = stored.new, stored.duplicates
            self.sales += [
                filing
                for filing in filings
                if not filing.malformed and filing.transaction is FeedTransaction.SELL
            ]
            for index, filing in enumerate(filings):
                if not filing.is_tradable_buy or filing.filing_date is None:
                    continue
                ordered.append((filing.filing_date, day_index, index, filing))
                filed_at = datetime.combine(filing.filing_date, wall_time(0), NEW_YORK)
                newest = filed_at if newest is None or filed_at > newest else newest
            log.info("window_collected", **_window_fields(window))
        ordered.sort(key=lambda item: item[:3])
        return self._candidates(ordered), newest

    def _budget_message(self, error: RequestBudgetSpentError, days: int) -> str:
        """What a person needs: why the day was not fetched and when the window can be."""
        limit = self.budget.limit if self.budget is not None else days
        free = self.budget.window_free_at(days) if self.budget is not None else None
        if free is None:
            return (
                f"{error.summary}; this run needs {days} requests (one per day since the "
                f"previous trading day), more than the {limit} an hour the budget allows: raise "
                "QUIVER_BULK_REQUESTS_PER_HOUR if the Quiver plan allows more"
            )
        return f"{error.summary}; run again after {new_york_time(free)}"

    @staticmethod
    def _candidates(ordered: list[tuple[date, int, int, NormalizedFiling]]) -> list[Candidate]:
        """The BUY filings, each key once, in filing order."""
        seen: set[str] = set()
        candidates = []
        for _, _, _, filing in ordered:
            assert filing.source_hash is not None
            assert filing.ticker is not None
            if filing.source_hash in seen:
                continue
            seen.add(filing.source_hash)
            candidates.append(Candidate(filing, filing.source_hash, filing.ticker))
        return candidates


def _window_fields(window: WindowSummary) -> dict[str, object]:
    return {
        "day": window.day.isoformat(),
        "fetched": window.fetched,
        "stored": window.stored,
        "duplicates": window.duplicates,
        "malformed": window.malformed,
        "non_buy": window.non_buy,
        "buys": window.buys,
    }
