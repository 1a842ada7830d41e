"""`trading-automation backtest`: replay the stored history through the live decision code."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trading_automation.cli.context import AppContext, pass_app
from trading_automation.cli.params import DATE

if TYPE_CHECKING:
    from trading_automation.backtest.result import Params
    from trading_automation.backtest.runner import Outcome
    from trading_automation.backtest.sweep import Sweep

DEFAULT_OUT = Path("backtest-report")
DEMO_DIR = Path("demo-data")
SORTABLE = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "volatility",
    "win_rate",
    "alpha",
)


def _decimal(name: str, text: str) -> Decimal:
    from trading_automation.errors import InvalidArgumentError

    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        raise InvalidArgumentError(f"{name} {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidArgumentError(f"{name} {text!r} is not a number")
    return value


@click.command()
@click.option("--from", "from_date", type=DATE, help="The first day replayed.")
@click.option("--to", "to_date", type=DATE, help="The last day replayed.")
@click.option(
    "--strategy",
    "strategy_file",
    type=click.Path(dir_okay=False),
    help="The strategy file (TOML) to replay (default: STRATEGY_FILE).",
)
@click.option(
    "--capital",
    default="100000",
    show_default=True,
    metavar="USD",
    help="Starting cash, in dollars.",
)
@click.option(
    "--slippage-bps",
    default="5",
    show_default=True,
    metavar="BPS",
    help="Basis points of the open every fill pays (buys above it, sells below it).",
)
@click.option(
    "--risk-free-rate",
    metavar="RATE",
    help="The yearly risk-free rate for Sharpe and Sortino (default: BACKTEST_RISK_FREE_RATE).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Where the report files are written (default: {DEFAULT_OUT}).",
)
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="Replay every combination of these strategy values (repeatable): sizing.usd=500,1000.",
)
@click.option(
    "--sort-by",
    type=click.Choice(SORTABLE),
    default="sharpe",
    show_default=True,
    help="The metric a sweep's table is sorted by, best first.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    help="Processes a sweep runs in on this machine.",
)
@click.option(
    "--dask-scheduler",
    metavar="ADDRESS",
    help="Run a sweep on this Dask cluster (tcp://host:8786) instead of local processes.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Fetch the sandbox's synthetic history into demo-data/backtest.sqlite and replay it.",
)
@pass_app
def backtest(  # noqa: PLR0917 - Click passes every option as an argument
    app: AppContext,
    from_date: date | None,
    to_date: date | None,
    strategy_file: str | None,
    capital: str,
    slippage_bps: str,
    risk_free_rate: str | None,
    out: Path | None,
    sweeps: tuple[str, ...],
    sort_by: str,
    workers: int,
    dask_scheduler: str | None,
    demo: bool,
) -> None:
    """Replay stored disclosures and daily bars through the live strategy and exit code.

    Each disclosure is decided at the first market open after it became public and fills at that
    open's price plus the slippage; the portfolio is valued at each close. Writes report.html,
    trades.csv and equity.csv to --out, stores the run for the dashboard's Backtests page, and
    prints the metrics against SPY held. Exit status 0, or 2 on bad arguments or a period with
    no stored bars.
    """
    from trading_automation.backtest.demo import DEMO_END, DEMO_START
    from trading_automation.backtest.result import Params
    from trading_automation.backtest.sweep import parse_sweep
    from trading_automation.cli.demo_command import prepare_directory
    from trading_automation.errors import InvalidArgumentError

    # Every argument is checked before anything is fetched or loaded.
    out_option = "--out" if out is not None or not demo else "--demo"
    if demo:
        from_date = from_date or DEMO_START
        to_date = to_date or DEMO_END
        out = out or DEMO_DIR / "backtest-report"
    if from_date is None or to_date is None:
        raise InvalidArgumentError("--from and --to are required (or --demo)")
    if to_date < from_date:
        raise InvalidArgumentError(f"--to {to_date} is before --from {from_date}")
    money = {
        "capital": _decimal("--capital", capital),
        "slippage_bps": _decimal("--slippage-bps", slippage_bps),
    }
    rate = _decimal("--risk-free-rate", risk_free_rate) if risk_free_rate is not None else None
    parsed = [parse_sweep(option) for option in sweeps]
    if dask_scheduler is not None and not sweeps:
        raise InvalidArgumentError("--dask-scheduler runs a sweep: give --sweep KEY=V1,V2,...")
    try:
        Params(from_date, to_date, **money, risk_free_rate=rate or Decimal(0))
    except ValueError as error:
        raise InvalidArgumentError(str(error)) from None
    out = out or DEFAULT_OUT
    prepare_directory(out, out_option)
    app.strategy_file = strategy_file
    if demo:
        _use_demo_database(app)
    params = Params(
        from_date,
        to_date,
        **money,
        risk_free_rate=rate if rate is not None else app.settings.backtest_risk_free_rate,
    )
    _run(
        app,
        params,
        sweeps=parsed,
        sort_by=sort_by,
        workers=workers,
        dask_scheduler=dask_scheduler,
        out=out,
    )


def _use_demo_database(app: AppContext) -> None:
    """Fill the demo's database and point this command at it."""
    from trading_automation.backtest.demo import demo_strategy_file, fetch_demo_history
    from trading_automation.cli.demo_command import prepare_directory
    from trading_automation.config import load_settings
    from trading_automation.logs import configure_logging

    prepare_directory(DEMO_DIR, "--demo")
    configure_logging("ERROR")  # the fetch's warnings are summed up below
    data = fetch_demo_history(DEMO_DIR, echo=click.echo)
    click.echo(
        f"stored {data.disclosures:,} disclosures and {data.bars:,} daily bars in "
        f"{data.database_file}"
    )
    if data.unknown:
        click.echo(
            f"the data API knows no bars of {', '.join(data.unknown)} (delisted, renamed or made "
            "up): their filings are skipped with no_bar"
        )
    click.echo("")
    if app.strategy_file is None:
        app.strategy_file = str(demo_strategy_file())
    settings = load_settings(
        database_url=f"sqlite:///{data.database_file}",
        log_level="ERROR",
        strategy_file=app.strategy_file,
    )
    app.use_settings(settings)


def _run(
    app: AppContext,
    params: Params,
    *,
    sweeps: list[Sweep],
    sort_by: str,
    workers: int,
    dask_scheduler: str | None,
    out: Path,
) -> None:
    from trading_automation.backtest.report import write_reports
    from trading_automation.backtest.runner import load_period, run_backtests
    from trading_automation.backtest.sweep import variants
    from trading_automation.domain.timestamps import utcnow
    from trading_automation.worker.exits import exit_policy

    settings = app.settings
    loaded = app.strategy
    grid = variants(
        loaded.strategy,
        sweeps,
        lambda strategy: exit_policy(settings, strategy),
    )
    history = load_period(app.database, params)
    click.echo(
        f"replaying {params.start} to {params.end}: {len(history.sessions):,} sessions, "
        f"{history.disclosures:,} disclosures, bars of {len(history.bars):,} symbols"
    )
    click.echo(f"strategy: {loaded.label}")
    if not sweeps:
        click.echo(f"strategy settings, defaults filled in: sha256 {grid[0].sha256[:12]}")
    if history.disclosures == 0:
        click.echo(
            f"warning: no disclosure became public in the period: run `trading-automation "
            f"history fetch --from {params.start}` first",
            err=True,
        )
    outcomes = run_backtests(
        app.database,
        history,
        grid,
        params,
        now=utcnow,
        workers=workers,
        dask_scheduler=dask_scheduler,
        parameters={"strategy_file": str(loaded.path) if loaded.path else None},
    )
    if sweeps:
        _print_sweep(outcomes, sort_by, out)
        return
    (outcome,) = outcomes
    files = write_reports(
        outcome.result,
        out,
        metrics=outcome.metrics,
        benchmark_metrics=outcome.benchmark,
        attribution=outcome.attribution,
    )
    _print_one(outcome)
    click.echo(f"\nreport: {files.html}\ntrades: {files.trades}\nequity: {files.equity}")
    url = app.settings.database_url
    where = f"DATABASE_URL={url} " if url.startswith("sqlite") else ""
    click.echo(
        f"stored as backtest run {outcome.run_id}; the dashboard's Backtests page shows it: "
        f"{where}trading-automation web, then http://127.0.0.1:8000/backtests"
    )
    sys.exit(0)


def _print_one(outcome: Outcome) -> None:
    from trading_automation.backtest.report import metrics_table
    from trading_automation.domain.enums import OrderSide
    from trading_automation.domain.money import format_usd

    result = outcome.result
    buys = sum(1 for fill in result.fills if fill.side is OrderSide.BUY)
    skips = ", ".join(f"{rule} {count:,}" for rule, count in outcome.skips_by_rule().most_common())
    click.echo(
        f"fills: {len(result.fills):,} ({buys:,} buys, {len(result.fills) - buys:,} sells); "
        f"skipped filings: {len(result.skips):,}{f' ({skips})' if skips else ''}; "
        f"sales of nothing held: {result.sales_without_lot:,}"
    )
    click.echo(
        f"final equity {format_usd(result.final_equity)} from {format_usd(result.params.capital)}"
        f"; {len(result.open_lots):,} lots still open\n"
    )
    click.echo(metrics_table(outcome.metrics, outcome.benchmark))


def _print_sweep(outcomes: list[Outcome], sort_by: str, out: Path) -> None:
    import csv

    from trading_automation.backtest.labels import format_metric
    from trading_automation.backtest.sweep import sort_key
    from trading_automation.cli.tables import render_table

    ranked = sorted(outcomes, key=lambda outcome: sort_key(sort_by, outcome.metrics))
    shown = ("total_return", "cagr", "sharpe", "max_drawdown", "trades")
    kinds = {"trades": "count", "sharpe": "ratio"}
    keys = [key for key, _value in ranked[0].variant.overrides]
    rows = [
        [
            *(str(value) for _key, value in outcome.variant.overrides),
            *(format_metric(outcome.metrics.get(name), kinds.get(name, "pct")) for name in shown),  # type: ignore[arg-type]
            str(outcome.run_id)[:8],
        ]
        for outcome in ranked
    ]
    click.echo(f"\n{len(ranked)} strategies, best {sort_by} first:\n")
    click.echo(render_table([*keys, *shown, "run"], rows))
    path = out / "sweep.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*keys, *shown, "run_id"])
        for outcome in ranked:
            writer.writerow(
                [
                    *(str(value) for _key, value in outcome.variant.overrides),
                    *(outcome.metrics.get(name) for name in shown),
                    str(outcome.run_id),
                ]
            )
    click.echo(f"\nsweep table: {path}; every run is stored for the dashboard's Backtests page")
