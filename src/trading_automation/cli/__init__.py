"""The `trading-automation` command.

Only Click and this package's light modules are imported at start-up; each command imports what it
needs when it runs, so `--help` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from trading_automation import __version__
from trading_automation.cli.context import AppContext, CommandError, command_error, one_line
from trading_automation.errors import TradingAutomationError

PROGRAM = "trading-automation"
VERSION_LINE = "%(prog)s, version %(version)s"


def _reported(error: TradingAutomationError) -> CommandError:
    """A project error shown as one `error:` line, without a traceback, with its exit code."""
    return command_error(str(error), error.exit_code)


def _as_one_line(error: click.UsageError) -> click.UsageError | CommandError:
    # Click >= 8.2 shows a group's help, not an error, when it is given no subcommand.
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        return error
    return one_line(error)


# Subcommands load when they run: `--help` reads their one-line help from here instead of
# importing them (a test keeps these lines equal to each command's own).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "backtest": (
        "trading_automation.cli.backtest_command",
        "backtest",
        "Replay stored disclosures and daily bars through the live strategy and exit code.",
    ),
    "check": (
        "trading_automation.cli.check_command",
        "check",
        "Say whether the last trading day's open-job succeeded and the data is fresh.",
    ),
    "close-job": (
        "trading_automation.cli.close_command",
        "close_job",
        "The day's close: reconcile orders, snapshot the account, send the daily summary.",
    ),
    "config": (
        "trading_automation.cli.config_commands",
        "config",
        "Inspect the effective configuration.",
    ),
    "db": (
        "trading_automation.cli.db_commands",
        "db",
        "Migrate and inspect the database (migrations use DIRECT_DATABASE_URL when set).",
    ),
    "demo": (
        "trading_automation.cli.demo_command",
        "demo",
        "Run the open-job against the local sandbox on an embedded database, twice.",
    ),
    "history": (
        "trading_automation.cli.history_commands",
        "history",
        "Load years of disclosures and daily prices into the database.",
    ),
    "notify": (
        "trading_automation.cli.notify_command",
        "notify",
        "Check the alert URLs (NOTIFY_URLS).",
    ),
    "open-job": (
        "trading_automation.cli.worker_commands",
        "open_job",
        "The daily run at the market open: collect new BUY filings and buy each one.",
    ),
    "reconcile": (
        "trading_automation.cli.worker_commands",
        "reconcile",
        "Bring every open trade up to date from Alpaca and print what changed.",
    ),
    "sandbox": (
        "trading_automation.cli.sandbox_command",
        "sandbox",
        "Run local Quiver and Alpaca (trading and market data) servers until Ctrl-C.",
    ),
    "schedule": (
        "trading_automation.cli.schedule_command",
        "schedule",
        "Run open-job, check and close-job on New York time until Ctrl-C (hosts without cron).",
    ),
    "strategy": (
        "trading_automation.cli.strategy_commands",
        "strategy",
        "Check the strategy file and explain the decisions it makes.",
    ),
    "web": (
        "trading_automation.cli.web_command",
        "web",
        "Serve the dashboard (pages and JSON API) until Ctrl-C.",
    ),
}


class _RootGroup(click.Group):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, tuple[str, str, str]] = {}

    def add_lazy(self, name: str, module: str, attribute: str, short_help: str) -> None:
        """Register a subcommand imported only when it is used."""
        self._lazy[name] = (module, attribute, short_help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy and cmd_name not in self.commands:
            module, attribute, _ = self._lazy[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self._lazy and name not in self.commands:
                placeholder = click.Command(name, short_help=self._lazy[name][2])
                text = placeholder.get_short_help_str(limit)
            else:
                command = self.get_command(ctx, name)
                text = command.get_short_help_str(limit) if command is not None else ""
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise _as_one_line(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TradingAutomationError as error:
            raise _reported(error) from None
        except click.UsageError as error:
            raise _as_one_line(error) from None


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name=PROGRAM, message=VERSION_LINE)
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    help="File of KEY=value settings read after the environment (default: .env when present; "
    "a file named here must exist).",
)
@click.pass_context
def cli(ctx: click.Context, env_file: str | None) -> None:
    """Mirror congressional stock purchases with fixed-dollar Alpaca orders."""
    app = AppContext(env_file=env_file)
    ctx.obj = app
    ctx.call_on_close(app.close)


@cli.command()
def version() -> None:
    """Show the version and exit."""
    click.echo(VERSION_LINE % {"prog": PROGRAM, "version": __version__})


def _register() -> None:
    for name, (module, attribute, short_help) in LAZY_COMMANDS.items():
        cli.add_lazy(name, module, attribute, short_help)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name=PROGRAM)
