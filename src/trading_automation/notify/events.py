"""An event worth telling a person about, and its one-screen message."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from trading_automation.domain.enums import AlertLevel

# A message fits one screen: at most this many detail lines, then "... and N more".
MAX_DETAILS = 12


@dataclass(frozen=True)
class Event:
    """Something a person should hear about: what happened, what it means for the money, and
    what to do. `problem` names it: the same problem on the same trading day is alerted once."""

    kind: str
    level: AlertLevel
    trading_date: date
    problem: str
    title: str
    happened: str
    money: str
    todo: str
    details: Sequence[str] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """The problem's key in the `alert` table (with the trading day)."""
        return f"{self.kind}:{self.problem}" if self.problem else self.kind

    @property
    def message(self) -> str:
        """The body: three short paragraphs and at most `MAX_DETAILS` detail lines."""
        lines = [
            f"What happened: {self.happened}",
            f"What it means for the money: {self.money}",
            f"What to do: {self.todo}",
        ]
        if self.details:
            lines.append("")
            lines += [f"- {line}" for line in self.details[:MAX_DETAILS]]
            if len(self.details) > MAX_DETAILS:
                lines.append(f"- ... and {len(self.details) - MAX_DETAILS} more")
        lines += ["", f"trading day {self.trading_date.isoformat()} · {self.level.value}"]
        return "\n".join(lines)


def fingerprint(parts: Iterable[object]) -> str:
    """A short stable name for a set of things (the trades an alert is about): the same set
    names the same problem, a new member makes it a new one."""
    text = "\n".join(sorted(str(part) for part in parts))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
