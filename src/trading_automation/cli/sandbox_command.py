"""`trading-automation sandbox`: local Quiver and Alpaca servers until Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Any

import click

from trading_automation.cli.context import CommandError
from trading_automation.cli.params import DATE


def _parse_time(_ctx: click.Context, _param: click.Parameter, value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected HH:MM (New York time)") from None


def _parse_money(_ctx: click.Context, _param: click.Parameter, value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter("expected an amount such as 100000") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter("expected a non-negative amount")
    return amount


@click.command()
@click.option(
    "--fixtures",
    "fixtures_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory of Quiver day files (YYYY-MM-DD.json); default: the packaged fixtures.",
)
@click.option(
    "--today",
    type=DATE,
    default="2024-06-20",
    show_default=True,
    help="The sandbox's trading date (America/New_York).",
)
@click.option(
    "--at",
    "at_time",
    default="09:30",
    show_default=True,
    callback=_parse_time,
    help="The sandbox's time of day on --today (New York time).",
)
@click.option("--frozen-clock", is_flag=True, help="Keep the clock at --today --at; do not tick.")
@click.option(
    "--holiday",
    multiple=True,
    type=DATE,
    help="Another market holiday (repeatable); NYSE's 2024-2026 are built in.",
)
@click.option(
    "--half-day",
    multiple=True,
    type=DATE,
    help="Another 13:00 close (repeatable); NYSE's 2024-2026 are built in.",
)
@click.option(
    "--non-fractionable",
    default="BRK.A,KKR",
    show_default=True,
    help="Comma-separated symbols that refuse notional orders (a 422, like Alpaca).",
)
@click.option(
    "--cash",
    default="100000",
    show_default=True,
    callback=_parse_money,
    help="The paper account's starting cash.",
)
@click.option(
    "--seed-orders/--no-seed-orders",
    default=True,
    show_default=True,
    help="Start the paper account with the orders of `db seed`'s trades, so that a seeded "
    "database reconciles against it; --no-seed-orders starts it empty.",
)
@click.option(
    "--fill-after-polls",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Polls of an order (GET by id or client id, or in a list) before it fills.",
)
@click.option(
    "--partial-fill-after-polls",
    type=click.IntRange(min=1),
    default=None,
    help="Polls before an order is half filled (default: no partial fills).",
)
@click.option(
    "--alpaca-port", type=click.IntRange(0, 65535), default=0, help="Trading API port (0: any)."
)
@click.option(
    "--data-port", type=click.IntRange(0, 65535), default=0, help="Market-data port (0: any)."
)
@click.option(
    "--quiver-port", type=click.IntRange(0, 65535), default=0, help="Quiver port (0: any)."
)
@click.option(
    "--key-id", default="sandbox-key-id", show_default=True, help="APCA-API-KEY-ID required."
)
@click.option(
    "--secret-key",
    default="sandbox-secret-key",
    show_default=True,
    help="APCA-API-SECRET-KEY required.",
)
@click.option(
    "--quiver-key",
    default="sandbox-quiver-key",
    show_default=True,
    help="Quiver bearer token required.",
)
@click.option(
    "--history-from",
    type=DATE,
    help="Serve a synthetic disclosure history from this date to --today instead of the "
    "fixture days (paged like Quiver's bulk endpoint).",
)
@click.option(
    "--bars-per-minute",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Daily-bars requests allowed a minute, like Alpaca (0: no limit).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line of URLs and keys.")
@click.option("--quiet", is_flag=True, help="Do not log each request to standard error.")
def sandbox(
    *,
    fixtures_dir: Path | None,
    today: date,
    at_time: time,
    frozen_clock: bool,
    holiday: tuple[date, ...],
    half_day: tuple[date, ...],
    non_fractionable: str,
    cash: Decimal,
    seed_orders: bool,
    fill_after_polls: int,
    partial_fill_after_polls: int | None,
    alpaca_port: int,
    data_port: int,
    quiver_port: int,
    key_id: str,
    secret_key: str,
    quiver_key: str,
    history_from: date | None,
    bars_per_minute: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run local Quiver and Alpaca (trading and market data) servers until Ctrl-C.

    They speak the real HTTP APIs on 127.0.0.1 with an in-memory paper account, so the
    application can run offline: point it at the printed variables. Faults and state are
    scriptable through /_sandbox/... control endpoints (see the README).
    """
    from trading_automation.domain.timestamps import NEW_YORK
    from trading_automation.sandbox import OrderScript, Sandbox, SyntheticDisclosures

    if history_from is not None and history_from > today:
        raise click.BadParameter(
            f"{history_from} is after --today {today}", param_hint="--history-from"
        )

    orders: list[dict[str, Any]] = []
    if seed_orders:
        from trading_automation.db.seed import alpaca_orders

        orders = alpaca_orders()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    server = Sandbox(
        quiver_directory=fixtures_dir,
        now=datetime.combine(today, at_time, NEW_YORK),
        clock_ticks=not frozen_clock,
        key_id=key_id,
        secret_key=secret_key,
        quiver_key=quiver_key,
        cash=cash,
        non_fractionable=[s.strip() for s in non_fractionable.split(",") if s.strip()],
        script=OrderScript(
            fill_after_polls=fill_after_polls, partial_fill_after_polls=partial_fill_after_polls
        ),
        orders=orders,
        holidays=holiday,
        half_days=half_day,
        alpaca_port=alpaca_port,
        data_port=data_port,
        quiver_port=quiver_port,
        log=None if quiet else log,
        history=SyntheticDisclosures(start=history_from, end=today) if history_from else None,
        bars_per_minute=bars_per_minute or None,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
    except OSError as error:
        asked = {
            "--alpaca-port": alpaca_port,
            "--data-port": data_port,
            "--quiver-port": quiver_port,
        }
        ports = ", ".join(f"{option} {port}" for option, port in asked.items() if port)
        raise CommandError(
            f"could not start the sandbox on 127.0.0.1: {error.strerror or error}"
            + (f" ({ports})" if ports else "")
        ) from None
    try:
        _announce(server, as_json)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    if not as_json:
        click.echo("sandbox stopped")


def _announce(server: Any, as_json: bool) -> None:
    env = server.env()
    if as_json:
        info = {
            "alpaca": server.alpaca.url,
            "alpaca_data": server.alpaca_data.url,
            "quiver": server.quiver.base_url,
            "quiver_server": server.quiver.url,
            "env": env,
        }
        click.echo(json.dumps(info))
        sys.stdout.flush()
        return
    click.echo("Sandbox running on 127.0.0.1 (Ctrl-C to stop)")
    click.echo(f"  Alpaca trading  {server.alpaca.url}")
    click.echo(f"  Alpaca data     {server.alpaca_data.url}")
    click.echo(f"  Quiver          {server.quiver.base_url}")
    click.echo(f"  control         {server.alpaca.url}/_sandbox/orders  (see the README)")
    click.echo("\nPoint the application at it:")
    for name, value in env.items():
        click.echo(f"  export {name}={value}")
    sys.stdout.flush()
