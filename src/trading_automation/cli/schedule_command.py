"""`trading-automation schedule`: run the jobs on New York time until stopped."""

from __future__ import annotations

import click

from trading_automation.cli.context import AppContext, pass_app


@click.command("schedule")
@click.option(
    "--list",
    "count",
    type=click.IntRange(1, 100),
    help="Print the next COUNT runs (New York and UTC times) and exit.",
)
@pass_app
def schedule(app: AppContext, count: int | None) -> None:
    """Run open-job, check and close-job on New York time until Ctrl-C (hosts without cron)."""
    from trading_automation.domain.timestamps import utcnow
    from trading_automation.scheduler import JobRunner, build_scheduler, next_runs, run_process
    from trading_automation.worker.schedule import new_york_time

    app.settings  # noqa: B018 - validates the settings and configures logging first
    if count is not None:
        for name, moment in next_runs(utcnow(), count):
            click.echo(f"{moment:%Y-%m-%d %a}  {new_york_time(moment)}  {name}")
        return
    scheduler = build_scheduler(JobRunner(run_process, env_file=app.env_file))
    for name, moment in next_runs(utcnow(), 3):
        click.echo(f"next: {name} at {moment:%Y-%m-%d} {new_york_time(moment)}")
    click.echo("scheduler running; Ctrl-C stops it")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
