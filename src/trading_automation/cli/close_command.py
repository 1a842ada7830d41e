"""`trading-automation close-job`: the day's close."""

from __future__ import annotations

import sys
from datetime import date

import click

from trading_automation.cli.context import AppContext, pass_app
from trading_automation.cli.params import DATE


@click.command("close-job")
@click.option(
    "--date",
    "requested",
    type=DATE,
    help="Close this past trading day now (a missed day); the snapshot is the account as it is.",
)
@click.option("--force", is_flag=True, help="Run a day whose close already succeeded again.")
@pass_app
def close_job(app: AppContext, requested: date | None, force: bool) -> None:
    """The day's close: reconcile orders, snapshot the account, send the daily summary.

    Exit status: 0 when the close succeeded (or had nothing to do), 1 when a step failed, 2 on
    bad configuration or arguments.
    """
    from trading_automation.cli.worker_commands import broker_clients
    from trading_automation.errors import InvalidArgumentError, InvalidValueError
    from trading_automation.worker.close_job import CloseJob

    settings = app.settings
    with broker_clients(settings, quiver=False) as (alpaca, _):
        job = CloseJob(settings=settings, database=app.database, alpaca=alpaca, echo=click.echo)
        try:
            result = job.run(requested, force=force)
        except InvalidValueError as error:
            if error.field != "--date":
                raise
            raise InvalidArgumentError(f"--date {requested}: {error.problem}") from None
    if result.summary is not None:
        for problem in result.summary.errors:
            click.echo(f"error: {problem}", err=True)
    sys.exit(result.exit_code)
