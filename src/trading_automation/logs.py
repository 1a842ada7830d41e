"""Structured logging: one event per step, JSON when not on a terminal, secrets always masked.

Every record, the project's own (structlog) and those of libraries (stdlib logging: Alembic,
httpx), passes through the same redaction before it is rendered.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from trading_automation.urls import MASK, mask_url

QUIET_LIBRARIES = ("httpx", "httpcore", "urllib3", "asyncio")


class SecretRedactor:
    """A structlog processor that replaces known secret values anywhere in an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def redact(self, value: Any) -> Any:
        """Return `value` with every secret (and every URL password) masked."""
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, MASK)
            return mask_url(value) if "://" in value else value
        if isinstance(value, Mapping):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact(item) for item in value)
        if isinstance(value, BaseException):
            return self.redact(str(value))
        return value

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        return {key: self.redact(value) for key, value in event_dict.items()}


def configure_logging(
    level: str = "INFO",
    *,
    secrets: Iterable[str] = (),
    json_output: bool | None = None,
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging to one handler on `stream` (default stderr)."""
    stream = stream or sys.stderr
    if json_output is None:
        json_output = not stream.isatty()
    redactor = SecretRedactor(secrets)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(default=str)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # Alembic announces each migration step at INFO; keep that visible at the default level,
    # without the set-up chatter it prints on every run (context, plugins).
    logging.getLogger("alembic").setLevel(root.level)
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, root.level))
    migration_log = logging.getLogger("alembic.runtime.migration")
    migration_log.filters = [_AlembicChatter()]


class _AlembicChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))
