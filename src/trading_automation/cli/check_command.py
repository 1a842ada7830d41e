"""`trading-automation check`: one line and an exit status for a monitor."""

from __future__ import annotations

import sys

import click

from trading_automation.cli.context import AppContext, pass_app


@click.command("check")
@click.option("--notify", "alert", is_flag=True, help="Alert NOTIFY_URLS when the check fails.")
@pass_app
def check(app: AppContext, alert: bool) -> None:
    """Say whether the last trading day's open-job succeeded and the data is fresh.

    Exit status: 0 when it did (one `ok:` line), 1 when not (one `error:` line saying what is
    wrong), 2 on bad configuration.
    """
    from trading_automation.cli.worker_commands import broker_clients
    from trading_automation.domain.timestamps import NEW_YORK, utcnow
    from trading_automation.logs import SecretRedactor
    from trading_automation.notify import Notifier
    from trading_automation.worker.check import check_event, run_check

    settings = app.settings
    with broker_clients(settings, quiver=False) as (alpaca, _):
        result = run_check(
            app.database,
            alpaca,
            quiet_days=settings.quiet_days,
            lease=settings.job_lease,
            redactor=SecretRedactor(settings.secret_values()),
        )
    if result.ok:
        click.echo(result.line)
        sys.exit(0)
    click.echo(f"error: {result.line}", err=True)
    if alert:
        today = utcnow().astimezone(NEW_YORK).date()
        Notifier.from_settings(settings, app.database).notify([check_event(result, today)])
    sys.exit(1)
