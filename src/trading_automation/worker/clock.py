"""The run's clock: the broker's time at the start, advanced by the local monotonic clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from trading_automation.domain.timestamps import require_aware_utc


class RunClock:
    """The broker's time at the start of the run, advanced by the local monotonic clock.

    Every timestamp the run writes comes from here, so trades, caps and checkpoints agree with
    the market calendar the run was gated on.
    """

    def __init__(self, start: datetime, monotonic: Callable[[], float]) -> None:
        self.start = require_aware_utc(start)
        self.monotonic = monotonic
        self.origin = monotonic()

    def now(self) -> datetime:
        """The current instant on this clock (aware, UTC)."""
        return self.start + timedelta(seconds=self.monotonic() - self.origin)
