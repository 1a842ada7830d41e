"""The root of every error this project raises on purpose.

Each subclass's docstring says what the operator should do about it. The CLI prints the message of
any `TradingAutomationError` without a traceback and exits with its `exit_code`.
"""

from __future__ import annotations


class TradingAutomationError(Exception):
    """Base class of the project's own errors."""

    exit_code: int = 1


class ConfigurationError(TradingAutomationError):
    """The environment or `.env` holds invalid settings: fix the variables named in the message."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid configuration ({count} {noun}):\n{lines}")


class InvalidValueError(TradingAutomationError, ValueError):
    """A value handed to the system is not acceptable: correct the named field and retry."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class InvalidArgumentError(TradingAutomationError):
    """A command-line argument cannot be used as given: correct it as the message says."""

    exit_code = 2
