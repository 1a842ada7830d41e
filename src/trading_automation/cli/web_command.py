"""`trading-automation web`: the read-only dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from trading_automation.cli.context import AppContext, pass_app
from trading_automation.cli.demo_command import demo_directory_option, prepare_directory

if TYPE_CHECKING:
    from trading_automation.config import Settings
    from trading_automation.db.database import Database

DASHBOARD_FIELDS = (
    "dashboard_host",
    "dashboard_port",
    "dashboard_username",
    "dashboard_password",
    "dashboard_cache_s",
    "dashboard_rate_limit_per_minute",
    "log_level",
)


@click.command()
@click.option("--host", help="Address to listen on (default: DASHBOARD_HOST, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default: DASHBOARD_PORT, 8000; 0: any)."
)
@click.option(
    "--demo",
    is_flag=True,
    help="Recreate the offline demo quietly and serve it with its sandbox broker.",
)
@demo_directory_option
@pass_app
def web(app: AppContext, host: str | None, port: int | None, demo: bool, directory: Path) -> None:
    """Serve the dashboard (pages and JSON API) until Ctrl-C.

    It only reads: the database (DATABASE_URL) in read-only transactions and Alpaca's account and
    positions. Off 127.0.0.1 it requires DASHBOARD_USERNAME and DASHBOARD_PASSWORD.
    """
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["dashboard_host"] = host
    if port is not None:
        overrides["dashboard_port"] = port
    settings = _with(app.settings, overrides)
    # Refuse an unsafe address before doing anything else, demo included.
    from trading_automation.errors import ConfigurationError

    problems = settings.dashboard_problems()
    if problems:
        raise ConfigurationError(problems)
    if not demo:
        _serve(settings, app.database)
        return

    from trading_automation.demo import LATER_PRICES, live_demo
    from trading_automation.logs import configure_logging

    prepare_directory(directory)
    click.echo(f"recreating the demo in {directory} ...")
    configure_logging("WARNING")  # the demo's job runs quietly; the server logs as configured
    with live_demo(directory, echo=lambda _line: None) as live:
        live.sandbox.broker.set_prices(LATER_PRICES)
        demo_settings = live.sandbox.settings(
            database_url=live.settings.database_url,
            **{name: getattr(settings, name) for name in DASHBOARD_FIELDS},
        )
        click.echo(
            f"demo database {live.result.database_file}: "
            f"{live.result.broker_orders_after_first} orders at the sandbox broker "
            f"({live.sandbox.alpaca.url}), prices moved to illustrative later ones"
        )
        configure_logging(demo_settings.log_level, secrets=demo_settings.secret_values())
        _serve(demo_settings)


def _with(settings: Settings, overrides: dict[str, Any]) -> Settings:
    if not overrides:
        return settings
    from trading_automation.config import load_settings

    values = {name: getattr(settings, name) for name in type(settings).model_fields}
    return load_settings(_env_file=None, **(values | overrides))


def _serve(settings: Settings, database: Database | None = None) -> None:
    """Serve until Ctrl-C; a `database` handed in (one that must exist) stays the caller's."""
    from trading_automation.web.app import create_app
    from trading_automation.web.server import bind, serve, url_of

    application = create_app(settings, database=database)
    sock = bind(settings.dashboard_host, settings.dashboard_port)
    auth = " (HTTP basic auth required)" if settings.dashboard_auth else ""
    click.echo(f"dashboard: {url_of(sock)}/overview{auth}  (Ctrl-C to stop)")
    serve(application, sock)
