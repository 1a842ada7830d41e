"""What commands share: settings and the database, each built on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from trading_automation.config import Settings
    from trading_automation.db.database import Database


class AppContext:
    """Lazily built settings and database for one command invocation."""

    def __init__(self, env_file: str | None = ".env") -> None:
        self.env_file = env_file
        self._database: Database | None = None

    @cached_property
    def settings(self) -> Settings:
        """The validated settings; raises `ConfigurationError` before any work is done."""
        from trading_automation.config import load_settings
        from trading_automation.logs import configure_logging

        settings = load_settings(_env_file=self.env_file)
        configure_logging(settings.log_level, secrets=settings.secret_values())
        return settings

    @property
    def database(self) -> Database:
        """The application database (DATABASE_URL)."""
        if self._database is None:
            from trading_automation.db.database import Database

            self._database = Database.from_settings(self.settings)
        return self._database

    def close(self) -> None:
        """Release pooled connections."""
        if self._database is not None:
            self._database.dispose()
            self._database = None


pass_app = click.make_pass_decorator(AppContext)
