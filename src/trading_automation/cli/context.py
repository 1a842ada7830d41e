"""What commands share: settings and the database, each built on first use, and the one-line
`error:` that every refusal prints."""

from __future__ import annotations

from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    from pathlib import Path

    from alembic.config import Config

    from trading_automation.config import Settings
    from trading_automation.db.database import Database
    from trading_automation.strategy_file import LoadedStrategy

CREATE_HINT = "`trading-automation db upgrade` creates it"

# How a command uses the migration database: it must exist, it may be created (`db upgrade`), or
# it is not opened at all (`db history`).
DatabaseUse = Literal["existing", "create", "unused"]


class CommandError(click.ClickException):
    """A command that cannot go on, shown as one `error:` line without a traceback (exit 2)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def command_error(message: str, exit_code: int) -> CommandError:
    """A `CommandError` that exits with `exit_code`."""

    class Failure(CommandError):
        pass

    Failure.exit_code = exit_code
    return Failure(message)


def one_line(error: click.UsageError) -> CommandError:
    """A usage error as one `error:` line that says where the command's help is."""
    message = error.format_message().strip().removesuffix(".")
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]  # Click's "Invalid value ..." reads as a clause
    if error.ctx is not None:
        message = f"{message} (see `{error.ctx.command_path} --help`)"
    return command_error(message, error.exit_code)


class AppContext:
    """Lazily built settings and database for one command invocation (`env_file`: a file named
    with `--env-file`, else None for the default `.env`)."""

    def __init__(self, env_file: str | None = None) -> None:
        self.env_file = env_file
        self._database: Database | None = None
        self._logging = False
        # `strategy check FILE` names the strategy file instead of STRATEGY_FILE.
        self.strategy_file: str | None = None
        self._strategy: LoadedStrategy | None = None

    @cached_property
    def plain_settings(self) -> Settings:
        """The validated settings, without configuring logging (for commands that only print).

        The strategy file (STRATEGY_FILE) is validated here too, so every command refuses a bad
        one before doing anything; what it overrides is said once, on standard error.
        """
        from trading_automation.config import load_settings
        from trading_automation.strategy_file import load_strategy

        # No file named: the default `.env`, which may be missing.
        overrides: dict[str, Any] = {} if self.env_file is None else {"_env_file": self.env_file}
        settings = load_settings(warn=_warn, **overrides)
        self._strategy = load_strategy(settings, self.strategy_file)
        for warning in self._strategy.warnings:
            _warn(warning)
        return settings

    def use_settings(self, settings: Settings) -> None:
        """Run the command with `settings` instead of the environment's (a demo's database)."""
        from trading_automation.strategy_file import load_strategy

        self.__dict__["plain_settings"] = settings
        self._strategy = load_strategy(settings, self.strategy_file)

    @property
    def strategy(self) -> LoadedStrategy:
        """The strategy in effect (validated with the settings)."""
        self.plain_settings  # noqa: B018 - loads and validates both
        assert self._strategy is not None
        return self._strategy

    @property
    def settings(self) -> Settings:
        """The validated settings, logging configured from them; raises `ConfigurationError`
        before any work is done."""
        settings = self.plain_settings
        if not self._logging:
            from trading_automation.logs import configure_logging

            configure_logging(terminal_log_level(settings), secrets=settings.secret_values())
            self._logging = True
        return settings

    @property
    def database(self) -> Database:
        """The application database (DATABASE_URL), which must already exist."""
        if self._database is None:
            from trading_automation.db.database import Database

            settings = self.settings
            require_existing(settings.database_url, "DATABASE_URL")
            self._database = Database.from_settings(settings)
        return self._database

    def alembic(self, database: DatabaseUse = "existing") -> Config:
        """The Alembic configuration for the migration URL (DIRECT_DATABASE_URL, else
        DATABASE_URL); unless `database` says otherwise, that database must already exist."""
        from trading_automation.db.migrate import alembic_config

        settings = self.settings
        if database == "existing":
            variable = "DIRECT_DATABASE_URL" if settings.direct_database_url else "DATABASE_URL"
            require_existing(settings.migration_database_url, variable)
        return alembic_config(settings)

    def close(self) -> None:
        """Release pooled connections."""
        if self._database is not None:
            self._database.dispose()
            self._database = None


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL opens, or None for PostgreSQL and in-memory SQLite."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):  # a URI filename (`?uri=true`)
        name, _, options = name.removeprefix("file:").partition("?")
        if "mode=memory" in options or parsed.query.get("mode") == "memory" or not name:
            return None
    return Path(name)


def require_existing(url: str, variable: str) -> None:
    """Refuse a SQLite URL whose file does not exist, which opening it would create empty."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise CommandError(
            f"the SQLite database {path} does not exist (check {variable}); {CREATE_HINT}"
        )


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


pass_app = click.make_pass_decorator(AppContext)


def terminal_log_level(settings: Settings) -> str:
    """LOG_LEVEL; on a terminal, when it was not set, WARNING: a person there reads what the
    command prints itself, and each step's event is for logs kept by a scheduler."""
    import sys

    if "log_level" in settings.model_fields_set or not sys.stderr.isatty():
        return settings.log_level
    return "WARNING"
