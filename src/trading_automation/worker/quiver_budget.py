"""Quiver's bulk-endpoint budget, kept in the database so every process and run shares it.

Quiver limits each account per endpoint group; its bulk endpoints allow 5 requests an hour
(`QUIVER_BULK_REQUESTS_PER_HOUR`). Each attempt of a bulk request, retries included, takes a slot
here first (`ApiRequestRepository.acquire`, under a lock); a 429 with `Retry-After` stops every
process until it has passed. When no slot is left the request is not sent, and the run says when
the whole window can be fetched again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import RequestBudgetSpentError

if TYPE_CHECKING:
    from trading_automation.db import Database

log = structlog.get_logger(__name__)

QUIVER_BULK = "quiver-bulk"
WINDOW = timedelta(hours=1)
# How long to stay away after a 429 that did not say (Quiver's limits are per hour).
DEFAULT_BACKOFF = timedelta(minutes=1)


class QuiverBudget:
    """A `RequestGate` over the `api_request` table for Quiver's bulk endpoints."""

    def __init__(
        self,
        database: Database,
        *,
        limit: int,
        now: Callable[[], datetime],
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.limit = limit
        self.now = now
        self.owner = owner

    def admit(self, what: str) -> object:
        """Take a slot for one attempt, or raise `RequestBudgetSpentError` saying until when."""
        with self.database.transaction() as uow:
            decision = uow.api_requests.acquire(
                QUIVER_BULK,
                limit=self.limit,
                window=WINDOW,
                now=self.now(),
                owner=self.owner,
                what=what,
            )
        if decision.granted:
            return decision.request_id
        error = RequestBudgetSpentError(
            f"not sent: Quiver's bulk endpoints allow {self.limit} requests an hour and "
            f"{decision.used} were made in the last hour"
            + (" (a Retry-After is pending)" if decision.used < self.limit else ""),
            service="quiver",
            method="GET",
            path=what,
            status_code=None,
        )
        error.retry_at = decision.retry_at
        log.warning("quiver_budget_spent", what=what, used=decision.used, limit=self.limit)
        raise error

    def settle(self, ticket: object, status_code: int | None, retry_after_s: float | None) -> None:
        """Record how the attempt ended; a 429 stops every process until its `Retry-After`."""
        if not isinstance(ticket, uuid.UUID):
            return
        retry_until = None
        if status_code == 429:
            wait = timedelta(seconds=retry_after_s) if retry_after_s else DEFAULT_BACKOFF
            retry_until = self.now() + wait
        with self.database.transaction() as uow:
            uow.api_requests.record_outcome(
                ticket, status_code=status_code, retry_until=retry_until
            )

    def window_free_at(self, requests: int) -> datetime | None:
        """When `requests` slots will be free together (now if they are), or None when the
        budget can never hold that many."""
        if requests > self.limit:
            return None
        with self.database.transaction(readonly=True) as uow:
            return uow.api_requests.free_at(
                QUIVER_BULK, count=requests, limit=self.limit, window=WINDOW, now=self.now()
            )
