"""`history fetch` in-process on both backends: Quiver's paged history into the feed, within the
shared budget, resumable, de-duplicated, point in time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from trading_automation.db import CongressTradeFeed, Database
from trading_automation.domain.filings import normalize_record
from trading_automation.history.disclosures import (
    DisclosureFetch,
    DisclosureOptions,
    DisclosureReport,
)
from trading_automation.sandbox import Fault, Sandbox, SyntheticDisclosures
from trading_automation.worker.quiver_budget import QuiverBudget

START, END = date(2024, 4, 1), date(2024, 6, 20)
FROM = date(2024, 5, 15)
PAGE = 100
T0 = datetime(2024, 6, 20, 23, 0, tzinfo=UTC)


@pytest.fixture
def history() -> SyntheticDisclosures:
    return SyntheticDisclosures(start=START, end=END, per_day=10)


@pytest.fixture
def sandbox(history: SyntheticDisclosures) -> Iterator[Sandbox]:
    with Sandbox(history=history) as running:
        yield running


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def expected_hashes(history: SyntheticDisclosures, from_date: date) -> set[str]:
    """The row hashes a complete fetch from `from_date` stores."""
    kept = set()
    for page in range(1, history.total // PAGE + 2):
        for record in history.page(page, PAGE):
            filing = normalize_record(record)
            if filing.filing_date is None or filing.filing_date >= from_date:
                kept.add(filing.row_hash)
    return kept


def stored_hashes(database: Database) -> list[str]:
    with database.transaction(readonly=True) as uow:
        return list(uow.session.scalars(select(CongressTradeFeed.row_hash)))


def run(
    database: Database, sandbox: Sandbox, clock: Clock, *, limit: int = 1000, **options: object
) -> DisclosureReport:
    budget = QuiverBudget(database, limit=limit, now=clock)
    with sandbox.quiver_client() as quiver:
        fetch = DisclosureFetch(database=database, quiver=quiver, budget=budget, now=clock)
        arguments = {"from_date": FROM, "page_size": PAGE} | options
        return fetch.run(DisclosureOptions(**arguments))  # type: ignore[arg-type]


def page_requests(sandbox: Sandbox) -> list[str]:
    return [r.query.get("page", "?") for r in sandbox.quiver.requests()]


def test_a_fetch_from_empty_stores_every_record_of_the_range_once(
    database: Database, sandbox: Sandbox, history: SyntheticDisclosures
) -> None:
    clock = Clock()
    report = run(database, sandbox, clock)
    again = run(database, sandbox, clock)

    stored = stored_hashes(database)
    assert report.complete
    assert sorted(stored) == sorted(expected_hashes(history, FROM))
    assert again.already_complete
    pages = report.pages
    assert page_requests(sandbox) == [str(n) for n in range(1, pages + 1)]
    assert report.outside_range > 0


def test_every_page_takes_a_slot_of_the_shared_budget_and_the_fetch_resumes_an_hour_later(
    database: Database, sandbox: Sandbox, history: SyntheticDisclosures
) -> None:
    clock = Clock()
    first = run(database, sandbox, clock, limit=2)
    clock.now += timedelta(minutes=30)
    too_soon = run(database, sandbox, clock, limit=2)
    clock.now += timedelta(minutes=31)
    second = run(database, sandbox, clock, limit=100)

    assert (first.complete, first.pages, first.next_page) == (False, 2, 3)
    assert "allow 2 requests an hour and 2 were made" in first.stopped
    assert "run the same command again after" in first.stopped
    assert first.retry_at == T0 + timedelta(hours=1)
    assert too_soon.pages == 0
    assert second.complete
    assert second.first_page == 3
    pages = page_requests(sandbox)
    assert pages == [str(n) for n in range(1, len(pages) + 1)], "no page asked for twice"
    assert sorted(stored_hashes(database)) == sorted(expected_hashes(history, FROM))
    with database.transaction(readonly=True) as uow:
        assert uow.api_requests.used("quiver-bulk", window=timedelta(days=1), now=clock.now) == len(
            pages
        )


def test_a_429_stops_the_fetch_and_every_process_waits_for_its_retry_after(
    database: Database, sandbox: Sandbox, history: SyntheticDisclosures
) -> None:
    clock = Clock()
    sandbox.quiver.faults.add(Fault.http_status(429, retry_after=600, skip=1))
    first = run(database, sandbox, clock)
    clock.now += timedelta(minutes=5)
    waiting = run(database, sandbox, clock)
    clock.now += timedelta(minutes=6)
    resumed = run(database, sandbox, clock)

    assert (first.complete, first.pages) == (False, 1)
    assert "HTTP 429" in first.stopped
    assert "a Retry-After is pending" in waiting.stopped
    assert resumed.complete
    assert sorted(stored_hashes(database)) == sorted(expected_hashes(history, FROM))


def test_records_already_stored_by_the_daily_run_are_not_stored_again(
    database: Database, sandbox: Sandbox, history: SyntheticDisclosures
) -> None:
    day = history.day(date(2024, 6, 18))
    with database.transaction() as uow:
        uow.feed.store(day)

    report = run(database, sandbox, Clock())

    assert report.duplicates >= len(day) - 5
    assert len(stored_hashes(database)) == len(expected_hashes(history, FROM))


def test_a_range_ending_early_keeps_only_its_filings_and_a_restart_pages_again(
    database: Database, sandbox: Sandbox, history: SyntheticDisclosures
) -> None:
    clock = Clock()
    report = run(database, sandbox, clock, to_date=date(2024, 5, 31))
    restarted = run(database, sandbox, clock, to_date=date(2024, 5, 31), restart=True)

    with database.transaction(readonly=True) as uow:
        dates = uow.session.execute(
            select(func.min(CongressTradeFeed.filing_date), func.max(CongressTradeFeed.filing_date))
        ).one()
    assert report.complete
    assert dates == (FROM, date(2024, 5, 31))
    assert (restarted.first_page, restarted.stored) == (1, 0)


def test_fetched_records_carry_their_publication_time(database: Database, sandbox: Sandbox) -> None:
    run(database, sandbox, Clock())

    with database.transaction(readonly=True) as uow:
        rows = uow.session.execute(
            select(CongressTradeFeed.raw_json, CongressTradeFeed.published_at).where(
                CongressTradeFeed.problems.is_(None)
            )
        ).all()
    for raw, published in rows[:200]:
        assert published == normalize_record(raw).published_at
        assert published is not None
