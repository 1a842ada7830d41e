"""The request budget of a rate-limited API, shared by every process through the database.

Quiver allows its bulk endpoints 5 requests an hour per account. Before each request a process
takes a slot here: under a lock, it counts the requests made in the last hour and, when there is
room, records its own, all in one transaction, so concurrent processes never exceed the limit.
A 429's `Retry-After` is recorded too, and no process asks again before it has passed.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from trading_automation.db.run_models import ApiRequest
from trading_automation.domain.timestamps import require_aware_utc
from trading_automation.errors import InvalidValueError

# Requests older than this are forgotten when a new one is recorded.
KEEP_FOR = timedelta(days=7)


@dataclass(frozen=True)
class BudgetDecision:
    """Whether a request may be made now; if not, from when on it may."""

    granted: bool
    request_id: uuid.UUID | None
    used: int
    limit: int
    retry_at: datetime | None = None


class ApiRequestRepository:
    """Take and account for request slots; works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def acquire(
        self,
        api: str,
        *,
        limit: int,
        window: timedelta,
        now: datetime,
        owner: str | None = None,
        what: str | None = None,
    ) -> BudgetDecision:
        """Record a request to `api` at `now` if fewer than `limit` were made in `window` and no
        `Retry-After` is pending; otherwise say when one may be made. Needs a transaction."""
        if limit < 1:
            raise InvalidValueError("limit", "must be at least 1")
        when = require_aware_utc(now, field="now")
        self._lock(api)
        blocked = self.session.scalar(
            select(func.max(ApiRequest.retry_until)).where(
                ApiRequest.api == api, ApiRequest.retry_until > when
            )
        )
        recent = list(
            self.session.scalars(
                select(ApiRequest.requested_at)
                .where(ApiRequest.api == api, ApiRequest.requested_at > when - window)
                .order_by(ApiRequest.requested_at.desc())
                .limit(limit)
            )
        )
        if blocked is not None:
            return BudgetDecision(False, None, len(recent), limit, require_aware_utc(blocked))
        if len(recent) >= limit:
            # The oldest of the last `limit` requests leaves the window first.
            return BudgetDecision(False, None, len(recent), limit, recent[-1] + window)
        request_id = uuid.uuid4()
        self.session.execute(
            delete(ApiRequest).where(
                ApiRequest.api == api, ApiRequest.requested_at < when - KEEP_FOR
            )
        )
        self.session.add(
            ApiRequest(id=request_id, api=api, requested_at=when, owner=owner, what=what)
        )
        self.session.flush()
        return BudgetDecision(True, request_id, len(recent) + 1, limit)

    def record_outcome(
        self, request_id: uuid.UUID, *, status_code: int | None, retry_until: datetime | None
    ) -> None:
        """Store how a request ended: its HTTP status, and until when the API asked to wait."""
        self.session.execute(
            update(ApiRequest)
            .where(ApiRequest.id == request_id)
            .values(
                status_code=status_code,
                retry_until=require_aware_utc(retry_until) if retry_until else None,
            )
            .execution_options(synchronize_session=False)
        )

    def free_at(
        self, api: str, *, count: int, limit: int, window: timedelta, now: datetime
    ) -> datetime:
        """When `count` (at most `limit`) requests could be made together: once enough of the
        window's requests have left it, and any pending `Retry-After` has passed."""
        if not 1 <= count <= limit:
            raise InvalidValueError("count", f"must be between 1 and the limit ({limit})")
        when = require_aware_utc(now, field="now")
        recent = list(
            self.session.scalars(
                select(ApiRequest.requested_at)
                .where(ApiRequest.api == api, ApiRequest.requested_at > when - window)
                .order_by(ApiRequest.requested_at)
            )
        )
        must_leave = len(recent) - (limit - count)
        free = recent[must_leave - 1] + window if must_leave > 0 else when
        blocked = self.session.scalar(
            select(func.max(ApiRequest.retry_until)).where(
                ApiRequest.api == api, ApiRequest.retry_until > when
            )
        )
        return max(free, require_aware_utc(blocked)) if blocked is not None else free

    def used(self, api: str, *, window: timedelta, now: datetime) -> int:
        """How many requests to `api` were made in the `window` before `now`."""
        when = require_aware_utc(now, field="now")
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(ApiRequest)
                .where(ApiRequest.api == api, ApiRequest.requested_at > when - window)
            )
            or 0
        )

    def _lock(self, api: str) -> None:
        """Serialise budget decisions for `api` until the transaction ends, across processes.

        PostgreSQL: a transaction-scoped advisory lock. SQLite: write transactions already run
        one at a time (BEGIN IMMEDIATE).
        """
        if self.session.connection().get_execution_options().get("isolation_level") == (
            "AUTOCOMMIT"
        ):
            raise RuntimeError("acquire needs a transaction: its lock would end with its statement")
        if self.session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(
                hashlib.sha256(f"api-budget:{api}".encode()).digest()[:8], "big", signed=True
            )
            self.session.execute(select(func.pg_advisory_xact_lock(key)))
