"""`trading-automation open-job` and `trading-automation reconcile`."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

import click

from trading_automation.cli.context import AppContext, pass_app
from trading_automation.cli.params import DATE

if TYPE_CHECKING:
    from trading_automation.clients import AlpacaClient, QuiverClient
    from trading_automation.config import Settings
    from trading_automation.worker.summary import RunSummary


@contextmanager
def broker_clients(
    settings: Settings, *, quiver: bool = True
) -> Iterator[tuple[AlpacaClient, QuiverClient | None]]:
    """Alpaca (and Quiver) clients from settings; every missing key is reported at once."""
    from trading_automation.clients import AlpacaClient, QuiverClient
    from trading_automation.errors import ConfigurationError

    problems: list[str] = []
    alpaca = quiver_client = None
    try:
        alpaca = AlpacaClient.from_settings(settings)
    except ConfigurationError as error:
        problems.extend(error.problems)
    if quiver:
        try:
            quiver_client = QuiverClient.from_settings(settings)
        except ConfigurationError as error:
            problems.extend(error.problems)
    try:
        if problems:
            raise ConfigurationError(problems)
        assert alpaca is not None
        yield alpaca, quiver_client
    finally:
        for client in (alpaca, quiver_client):
            if client is not None:
                client.close()


@click.command("open-job")
@click.option("--dry-run", is_flag=True, help="Collect and decide, but write and send nothing.")
@click.option(
    "--date",
    "requested",
    type=DATE,
    help="Run this trading day now (backfill or QA), whatever the time.",
)
@click.option("--force", is_flag=True, help="Run a day that already succeeded again.")
@pass_app
def open_job(app: AppContext, dry_run: bool, requested: date | None, force: bool) -> None:
    """The daily run at the market open: collect new BUY filings and buy each one.

    Exit status: 0 when the run succeeded (or had nothing to do), 1 when it failed or any order
    failed, 2 on bad configuration or arguments.
    """
    from trading_automation.errors import InvalidArgumentError, InvalidValueError
    from trading_automation.worker.open_job import OpenJob, OpenJobOptions

    settings = app.settings
    options = OpenJobOptions(
        dry_run=dry_run,
        requested_date=requested,
        force=force,
        poll_budget_s=settings.open_job_poll_s,
        lease=settings.job_lease,
    )
    from trading_automation.cli.strategy_commands import member_warnings_for

    for warning in member_warnings_for(app, app.strategy.strategy):
        click.echo(f"warning: {warning}", err=True)
    with broker_clients(settings) as (alpaca, quiver):
        assert quiver is not None
        job = OpenJob(
            settings=settings,
            database=app.database,
            alpaca=alpaca,
            quiver=quiver,
            echo=click.echo,
            progress=click.echo if sys.stdout.isatty() else None,
            strategy=app.strategy,
        )
        try:
            result = job.run(options)
        except InvalidValueError as error:
            if error.field != "--date":
                raise
            raise InvalidArgumentError(
                f"--date {options.requested_date}: {error.problem}"
            ) from None
    if result.summary is not None:
        print_run_summary(result.summary)
    sys.exit(result.exit_code)


def print_run_summary(summary: RunSummary) -> None:
    """The per-window and per-outcome counts of a run, as tables."""
    from trading_automation.cli.tables import render_table
    from trading_automation.worker.summary import skip_reason_words

    click.echo()
    click.echo(
        render_table(
            ["quiver day", "fetched", "new", "duplicates", "malformed", "non-BUY", "BUY", "error"],
            [
                (
                    window.day,
                    window.fetched,
                    window.stored,
                    window.duplicates,
                    window.malformed,
                    window.non_buy,
                    window.buys,
                    window.error or "",
                )
                for window in summary.windows
            ],
        )
    )
    orders = summary.orders
    rows: list[tuple[str, int]] = [
        ("BUY filings collected", orders.candidates),
        ("already traded", orders.already_traded),
        ("already skipped (a skip is final)", orders.already_skipped),
        ("resumed after a crash", orders.resumed),
        ("orders sent and placed", orders.submitted),
        ("  of which whole-share fallback", orders.fallback),
        ("orders found already placed (not sent again)", orders.found_at_broker),
        ("filled", orders.filled),
        ("partially filled", orders.partially_filled),
        ("still open after polling", orders.open_after_polling),
        ("canceled or expired", orders.canceled_or_expired),
        ("rejected", orders.rejected),
        ("failed", orders.failed),
        ("not sent (broker unavailable)", orders.not_sent),
    ]
    rows += [
        (f"skipped: {skip_reason_words(code)}", count)
        for code, count in sorted(orders.skipped.items())
    ]
    exits = summary.exits
    rows += [
        (f"exits: {cause.lower().replace('_', ' ')}", count)
        for cause, count in sorted(exits.decided.items())
    ]
    rows += [
        ("  exits sent and placed", exits.sent),
        ("  exits found already placed", exits.found_at_broker),
        ("  exits filled", exits.filled),
        ("  exits failed", exits.failed),
        ("lots closed outside the system (sold by hand)", exits.closed_outside),
        ("members' sales of nothing they hold here", exits.sales_without_lot),
    ]
    click.echo()
    click.echo(render_table(["outcome", "count"], rows))
    if exits.not_checked:
        click.echo(f"exits not checked: {exits.not_checked}", err=True)
    if summary.account:
        click.echo(
            f"\naccount after the run: cash {_dollars(summary.account.get('cash'))}, "
            f"buying power {_dollars(summary.account.get('buying_power'))}"
        )
    for error in summary.errors:
        click.echo(f"error: {error}", err=True)


def _dollars(text: str | None) -> str:
    from decimal import Decimal, InvalidOperation

    from trading_automation.domain.money import format_usd

    try:
        return format_usd(Decimal(text)) if text is not None else "unknown"
    except InvalidOperation:
        return "unknown"


@click.command()
@click.option(
    "--today",
    type=DATE,
    help="The New York date to judge stale intents by (default: the broker's today).",
)
@pass_app
def reconcile(app: AppContext, today: date | None) -> None:
    """Bring every open trade up to date from Alpaca and print what changed."""
    from trading_automation.cli.tables import render_table
    from trading_automation.domain.timestamps import NEW_YORK
    from trading_automation.worker.clock import RunClock
    from trading_automation.worker.reconcile import Reconciler, ReconcileReport

    settings = app.settings
    with broker_clients(settings, quiver=False) as (alpaca, _):
        clock = RunClock(alpaca.clock().timestamp, time.monotonic)
        day: date = today if today else clock.now().astimezone(NEW_YORK).date()
        reconciler = Reconciler(app.database, alpaca, now=clock.now, lease=settings.job_lease)
        report = ReconcileReport()
        reconciler.settle_unsent(today=day, report=report)
        reconciler.round(report)
    if report.changes:
        click.echo(
            render_table(
                ["client order id", "symbol", "was", "now", "filled qty"],
                [
                    (c.client_order_id, c.symbol, c.before.value, c.after.value, c.filled_qty)
                    for c in report.changes
                ],
            )
        )
    else:
        click.echo("no trade changed")
    click.echo(
        f"\n{len(report.changes)} changed, {report.still_open} still open, "
        f"{len(report.not_sent)} recorded today but not sent yet (the open-job sends them), "
        f"{len(report.held_by_running_job)} held by a running open-job (left to it), "
        f"{len(report.abandoned)} old intents marked FAILED"
    )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    sys.exit(1 if report.errors else 0)
