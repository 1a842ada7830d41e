"""Readable summaries printed by several commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from trading_automation.cli.tables import render_table

if TYPE_CHECKING:
    from trading_automation.db.migrate import SchemaStatus


def print_status(status: SchemaStatus) -> None:
    """Print where a database stands: URL, revision, head, rows per table."""
    state = "up to date" if status.current == status.head else "needs `db upgrade`"
    click.echo(f"database  {status.url}")
    click.echo(f"revision  {status.current or 'base (empty schema)'} (head {status.head}, {state})")
    if status.row_counts:
        click.echo()
        click.echo(render_table(["table", "rows"], sorted(status.row_counts.items())))
