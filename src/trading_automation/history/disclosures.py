"""Quiver's whole congress-trading history into the feed, page by page, within the budget.

Quiver serves its history newest first, in pages, from the bulk endpoint without `date`; that
endpoint shares the account's 5 requests an hour with the daily run, so every page takes a slot of
the shared budget (`worker.quiver_budget.QuiverBudget`) first. A page's records go through the
feed repository (the same normalisation, `row_hash` de-duplication and COPY path as the daily
run) in one transaction with the fetch's move to the next page (`history_fetch`): a fetch stopped
at any moment, by a kill, a spent budget or a 429, resumes at the page it had not finished, and
stores nothing twice.

The fetch keeps the records filed from `from_date` to `to_date` (and malformed ones, whose filing
date is unknown: nothing is lost) and ends at the first page that is empty, shorter than an earlier
one (the last page), or filed entirely before `from_date`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import ApiError, RequestBudgetSpentError
from trading_automation.domain.filings import NormalizedFiling, normalize_record
from trading_automation.errors import TradingAutomationError
from trading_automation.worker.schedule import new_york_time

if TYPE_CHECKING:
    from trading_automation.clients import QuiverClient
    from trading_automation.clients.http import RequestGate
    from trading_automation.db import Database
    from trading_automation.history.progress import Progress
    from trading_automation.logs import SecretRedactor

log = structlog.get_logger(__name__)

DEFAULT_PAGE_SIZE = 5000


class FetchRaceError(TradingAutomationError):
    """Another process fetching the same range advanced it first: run the command again (it
    resumes where that process got to), and run one fetch of a range at a time."""


@dataclass(frozen=True)
class DisclosureOptions:
    """What `history fetch` was asked for."""

    from_date: date
    to_date: date | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    restart: bool = False


@dataclass
class DisclosureReport:
    """What a run did, for the command to print."""

    first_page: int = 1
    next_page: int = 1
    pages: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    outside_range: int = 0
    malformed: int = 0
    complete: bool = False
    already_complete: bool = False
    oldest_filed: date | None = None
    stopped: str | None = None
    retry_at: datetime | None = None


class DisclosureFetch:
    """Pages through the history (see the module docstring); one instance per run."""

    def __init__(
        self,
        *,
        database: Database,
        quiver: QuiverClient,
        budget: RequestGate | None,
        now: Callable[[], datetime],
        redactor: SecretRedactor | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.database = database
        self.quiver = quiver
        self.budget = budget
        self.now = now
        self.redactor = redactor
        self.progress = progress

    def run(self, options: DisclosureOptions) -> DisclosureReport:
        """Fetch pages until the history's end, the budget's, or a failure; say which."""
        with self.database.transaction() as uow:
            fetch = uow.history_fetches.start(
                from_date=options.from_date,
                to_date=options.to_date,
                page_size=options.page_size,
                now=self.now(),
            )
            if options.restart and (fetch.next_page > 1 or fetch.completed_at is not None):
                uow.history_fetches.restart(fetch.id, now=self.now())
                fetch = uow.history_fetches.start(
                    from_date=options.from_date,
                    to_date=options.to_date,
                    page_size=options.page_size,
                    now=self.now(),
                )
            fetch_id, page, completed = fetch.id, fetch.next_page, fetch.completed_at
        report = DisclosureReport(first_page=page, next_page=page)
        if completed is not None:
            report.complete = report.already_complete = True
            return report
        if self.progress is not None:
            newest = options.to_date or self.now().date()
            self.progress.start(max(1, (newest - options.from_date).days))
        reached: date | None = None
        longest = 0
        while True:
            try:
                records = self.quiver.congress_trading_page(
                    page, options.page_size, gate=self.budget
                )
            except RequestBudgetSpentError as error:
                report.stopped, report.retry_at = self._spent(error), error.retry_at
                break
            except ApiError as error:
                report.stopped = self._redact(str(error))
                break
            filings = [normalize_record(record) for record in records]
            kept = [filing for filing in filings if _in_range(filing, options)]
            dated = [filing.filing_date for filing in filings if filing.filing_date is not None]
            last = (
                not records
                or len(records) < longest
                or (bool(dated) and max(dated) < options.from_date)
            )
            with self.database.transaction() as uow:
                stored = uow.feed.store_filings(kept, ingested_at=self.now())
                if not uow.history_fetches.advance(
                    fetch_id,
                    page=page,
                    received=len(records),
                    stored=stored.new,
                    complete=last,
                    now=self.now(),
                ):
                    raise FetchRaceError(
                        f"page {page} of this range was already fetched by another process"
                    )
            longest = max(longest, len(records))
            self._count(report, filings, kept, stored.new)
            oldest = min(dated) if dated else None
            if oldest is not None and (report.oldest_filed is None or oldest < report.oldest_filed):
                report.oldest_filed = oldest
            self._advance_progress(options, reached, report.oldest_filed)
            reached = report.oldest_filed
            log.info(
                "history_page",
                page=page,
                records=len(records),
                stored=stored.new,
                duplicates=len(kept) - stored.new,
                outside_range=len(filings) - len(kept),
                oldest_filed=oldest.isoformat() if oldest else None,
                last=last,
            )
            page += 1
            report.next_page = page
            if last:
                report.complete = True
                break
        return report

    @staticmethod
    def _count(
        report: DisclosureReport,
        filings: list[NormalizedFiling],
        kept: list[NormalizedFiling],
        new: int,
    ) -> None:
        report.pages += 1
        report.received += len(filings)
        report.stored += new
        report.duplicates += len(kept) - new
        report.outside_range += len(filings) - len(kept)
        report.malformed += sum(1 for filing in kept if filing.malformed)

    def _advance_progress(
        self, options: DisclosureOptions, before: date | None, oldest: date | None
    ) -> None:
        """Progress in days of filings: from the newest day asked for back to `from_date`."""
        if self.progress is None or oldest is None:
            return
        newest = options.to_date or self.now().date()
        start = min(newest, before) if before is not None else newest
        done = (start - max(oldest, options.from_date)).days
        if done > 0:
            self.progress.advance(done)

    @staticmethod
    def _spent(error: RequestBudgetSpentError) -> str:
        if error.retry_at is None:
            return error.summary
        return f"{error.summary}; run the same command again after {new_york_time(error.retry_at)}"

    def _redact(self, text: str) -> str:
        return self.redactor.redact(text) if self.redactor is not None else text


def _in_range(filing: NormalizedFiling, options: DisclosureOptions) -> bool:
    """Filed within the range asked for; a record without a readable filing date is kept."""
    if filing.filing_date is None:
        return True
    if filing.filing_date < options.from_date:
        return False
    return options.to_date is None or filing.filing_date <= options.to_date
