"""Readable summaries printed by several commands."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from trading_automation.cli.tables import render_table
from trading_automation.web.read_models import trade_totals

if TYPE_CHECKING:
    from trading_automation.db.database import Database
    from trading_automation.db.migrate import SchemaStatus


def print_status(status: SchemaStatus) -> None:
    """Print where a database stands: URL, revision, head, rows per table."""
    state = "up to date" if status.current == status.head else "needs `db upgrade`"
    click.echo(f"database  {status.url}")
    click.echo(f"revision  {status.current or 'base (empty schema)'} (head {status.head}, {state})")
    if status.row_counts:
        click.echo()
        click.echo(render_table(["table", "rows"], sorted(status.row_counts.items())))


def print_overview(database: Database, *, runs: int = 5) -> None:
    """Print trades by status, the most recent job runs and the latest checkpoints."""
    with database.transaction(readonly=True) as uow:
        totals = trade_totals(uow)
        recent_runs = uow.job_runs.list_recent(limit=runs)
        checkpoints = uow.checkpoints.list_recent(limit=runs)
    click.echo("trades by status")
    click.echo(
        render_table(
            ["status", "trades"],
            [(status.value, count) for status, count in totals.by_status.items()],
        )
    )
    click.echo(
        f"notional submitted ${totals.notional_submitted:,}  filled value ${totals.filled_value:,}"
    )
    click.echo("\nrecent job runs")
    click.echo(
        render_table(
            ["trading day", "status", "attempt", "started (UTC)", "finished (UTC)", "errors"],
            [
                (
                    run.trading_date_et,
                    run.status.value,
                    run.attempt,
                    _minute(run.started_at),
                    _minute(run.finished_at),
                    len((run.summary_json or {}).get("errors", [])),
                )
                for run in recent_runs
            ],
        )
    )
    click.echo("\ningest checkpoints")
    click.echo(
        render_table(
            ["trading day", "last filing processed (UTC)"],
            [(c.trading_date_et, _minute(c.last_filed_ts_processed_et)) for c in checkpoints],
        )
    )


def _minute(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""
