"""How a history run reports its progress (the command shows it as a bar on a terminal)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Where a run reports how far it got."""

    def start(self, total: int) -> None:
        """The work ahead, in the run's unit (bars, or days of filings)."""

    def advance(self, done: int) -> None:
        """`done` more units were done."""
