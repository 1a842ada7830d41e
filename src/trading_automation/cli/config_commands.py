"""`trading-automation config ...`"""

from __future__ import annotations

import click

from trading_automation.cli.context import AppContext, pass_app


@click.group()
def config() -> None:
    """Inspect the effective configuration."""


@config.command("show")
@pass_app
def show(app: AppContext) -> None:
    """Print every setting; secrets and database passwords are masked."""
    values = app.plain_settings.masked()
    width = max(len(name) for name in values)
    for name, value in values.items():
        click.echo(f"{name.ljust(width)}  {value}")
