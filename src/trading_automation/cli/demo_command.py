"""`trading-automation demo`: the offline demonstration on an embedded SQLite database."""

from __future__ import annotations

from pathlib import Path

import click

from trading_automation.cli.context import AppContext, pass_app

DEFAULT_DEMO_DIR = Path("demo-data")


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DEMO_DIR,
    show_default=True,
    help="Where the demo's SQLite database is kept.",
)
@pass_app
def demo(app: AppContext, directory: Path) -> None:
    """Migrate the embedded demo database and show its state (no credentials, no network)."""
    from trading_automation.cli.reports import print_status
    from trading_automation.db import migrate

    directory.mkdir(parents=True, exist_ok=True)
    database_file = (directory / "trading_automation.db").resolve()
    url = f"sqlite:///{database_file}"
    config = migrate.alembic_config(app.settings, url=url)
    migrate.upgrade(config)
    print_status(migrate.status(config))
    click.echo(f"\ndatabase file: {database_file}")
