"""The `trading-automation` command.

Only Click and this package's light modules are imported at start-up; each command imports what it
needs when it runs, so `--help` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from trading_automation import __version__
from trading_automation.cli.context import AppContext
from trading_automation.errors import TradingAutomationError


def _reported(error: TradingAutomationError) -> click.ClickException:
    """A project error shown as one line, without a traceback, with the error's exit code."""

    class ReportedError(click.ClickException):
        exit_code = error.exit_code

        def show(self, file: Any = None) -> None:
            click.echo(f"error: {self.format_message()}", err=True)

    return ReportedError(str(error))


class _RootGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TradingAutomationError as error:
            raise _reported(error) from None


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trading-automation")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    default=".env",
    show_default=True,
    help="File of KEY=value settings read after the environment (missing file is fine).",
)
@click.pass_context
def cli(ctx: click.Context, env_file: str) -> None:
    """Mirror congressional stock purchases with fixed-dollar Alpaca orders."""
    app = AppContext(env_file=env_file)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from trading_automation.cli.config_commands import config
    from trading_automation.cli.db_commands import db
    from trading_automation.cli.demo_command import demo
    from trading_automation.cli.sandbox_command import sandbox
    from trading_automation.cli.web_command import web
    from trading_automation.cli.worker_commands import open_job, reconcile

    cli.add_command(config)
    cli.add_command(db)
    cli.add_command(demo)
    cli.add_command(open_job)
    cli.add_command(reconcile)
    cli.add_command(sandbox)
    cli.add_command(web)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="trading-automation")
