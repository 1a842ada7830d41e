"""`trading-automation history ...`: disclosures and daily prices, years of them."""

from __future__ import annotations

import sys
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import click

from trading_automation.cli.context import AppContext, pass_app
from trading_automation.cli.params import DATE

if TYPE_CHECKING:
    from trading_automation.history.disclosures import DisclosureReport
    from trading_automation.history.prices import PriceReport


class TerminalProgress:
    """A progress bar on standard error while it is a terminal; nothing otherwise (each page is
    logged instead)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None

    def start(self, total: int) -> None:
        """Show a bar of `total` units."""
        if sys.stderr.isatty() and self._bar is None:
            self._bar = click.progressbar(length=max(1, total), label=self.label, file=sys.stderr)
            self._bar.__enter__()

    def advance(self, done: int) -> None:
        """Move the bar on by `done` units."""
        if self._bar is not None:
            self._bar.update(done)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, traceback)
            self._bar = None


@click.group()
def history() -> None:
    """Load years of disclosures and daily prices into the database."""


@history.command()
@click.option(
    "--from", "from_date", type=DATE, required=True, help="The first filing date to keep."
)
@click.option("--to", "to_date", type=DATE, help="The last filing date to keep (default: all).")
@click.option(
    "--page-size",
    type=click.IntRange(1, 100_000),
    default=5000,
    show_default=True,
    help="Records per page asked of Quiver (each page is one of the bulk budget's requests).",
)
@click.option("--restart", is_flag=True, help="Page through the range again from page 1.")
@pass_app
def fetch(
    app: AppContext, from_date: date, to_date: date | None, page_size: int, restart: bool
) -> None:
    """Page Quiver's congress-trading history into the feed, resuming where it stopped.

    Every page takes one of the bulk endpoints' requests an hour (QUIVER_BULK_REQUESTS_PER_HOUR,
    shared with the open-job). Exit status: 0 when the range is complete, 1 when the fetch
    stopped early (budget spent, Quiver failing): run the same command again to resume.
    """
    from trading_automation.clients import QuiverClient
    from trading_automation.domain.timestamps import utcnow
    from trading_automation.errors import InvalidArgumentError
    from trading_automation.history.disclosures import DisclosureFetch, DisclosureOptions
    from trading_automation.logs import SecretRedactor
    from trading_automation.worker.owner import process_owner
    from trading_automation.worker.quiver_budget import QuiverBudget

    if to_date is not None and to_date < from_date:
        raise InvalidArgumentError(f"--to {to_date} is before --from {from_date}")
    settings = app.settings
    database = app.database
    budget = QuiverBudget(
        database, limit=settings.quiver_bulk_requests_per_hour, now=utcnow, owner=process_owner()
    )
    options = DisclosureOptions(from_date, to_date, page_size, restart)
    with QuiverClient.from_settings(settings) as quiver, TerminalProgress("filings") as bar:
        report = DisclosureFetch(
            database=database,
            quiver=quiver,
            budget=budget,
            now=utcnow,
            redactor=SecretRedactor(settings.secret_values()),
            progress=bar,
        ).run(options)
    _print_fetch(report)
    sys.exit(0 if report.complete else 1)


def _print_fetch(report: DisclosureReport) -> None:
    if report.already_complete:
        click.echo(
            "this range is complete already (nothing asked of Quiver); --restart pages "
            "through it again"
        )
        return
    click.echo(
        f"pages {report.first_page}-{report.next_page - 1}: {report.received:,} records "
        f"received, {report.stored:,} new, {report.duplicates:,} already stored, "
        f"{report.outside_range:,} filed outside the range, {report.malformed:,} malformed "
        "(stored, flagged)"
        if report.pages
        else "no page fetched"
    )
    if report.oldest_filed is not None:
        click.echo(f"reached filings of {report.oldest_filed}")
    if report.complete:
        click.echo("complete: the whole range is stored")
    else:
        click.echo(f"error: stopped before page {report.next_page}: {report.stopped}", err=True)
        click.echo("run the same command again to resume from there", err=True)


@history.command()
@click.option(
    "--symbols",
    help="Comma-separated symbols (default: every ticker of the feed, and SPY as the benchmark).",
)
@click.option(
    "--from", "from_date", type=DATE, help="The first day wanted (default: the oldest filing)."
)
@click.option(
    "--to", "to_date", type=DATE, help="The last day wanted (default: the last complete session)."
)
@click.option(
    "--retry-unknown", is_flag=True, help="Ask again for symbols the data API did not know."
)
@pass_app
def prices(
    app: AppContext,
    symbols: str | None,
    from_date: date | None,
    to_date: date | None,
    retry_unknown: bool,
) -> None:
    """Fetch the missing daily bars of every ticker from Alpaca's market data.

    Only (symbol, trading day) ranges not asked for yet are requested, many symbols at a time,
    within Alpaca's rate limit; a bar that comes back different (a split) replaces the stored
    one. Exit status: 0 when every range was fetched, 1 when the data API failed (run again to
    resume), 2 on bad configuration or arguments.
    """
    from trading_automation.clients import AlpacaClient
    from trading_automation.clients.errors import ApiError
    from trading_automation.clients.pacing import RequestPacer
    from trading_automation.domain.timestamps import utcnow
    from trading_automation.history.prices import PriceFetch, PriceOptions
    from trading_automation.logs import SecretRedactor

    settings = app.settings
    options = PriceOptions(
        symbols=tuple(symbols.split(",")) if symbols is not None else None,
        from_date=from_date,
        to_date=to_date,
        retry_unknown=retry_unknown,
    )
    failure = None
    with AlpacaClient.from_settings(settings) as alpaca, TerminalProgress("bars") as bar:
        run = PriceFetch(
            database=app.database, alpaca=alpaca, pacer=RequestPacer(), now=utcnow, progress=bar
        )
        try:
            run.run(options)
        except ApiError as error:
            failure = SecretRedactor(settings.secret_values()).redact(str(error))
    _print_prices(run.report)
    if failure is not None:
        click.echo(f"error: {failure}", err=True)
        click.echo("what was fetched is stored; run the same command again to resume", err=True)
        sys.exit(1)


def _print_prices(report: PriceReport) -> None:
    from trading_automation.cli.tables import render_table

    span = f"{report.first_day} to {report.last_day}" if report.first_day else "none"
    rows: list[tuple[str, object]] = [
        ("symbols", f"{report.symbols:,}"),
        ("skipped: unknown to the data API", f"{report.skipped_unknown:,}"),
        ("trading days", span),
        ("requests (clock and calendar included)", f"{report.requests:,}"),
        ("bars requests", f"{report.bar_requests:,}"),
        ("waits for the rate limit", f"{report.rate_limit_waits:,}"),
        ("bars received", f"{report.bars_received:,}"),
        ("new bars", f"{report.new:,}"),
        ("unchanged (not rewritten)", f"{report.unchanged:,}"),
        ("corrected (replaced)", f"{report.corrected:,}"),
        ("symbols fetched again after an adjustment", f"{len(report.refetched):,}"),
    ]
    click.echo(render_table(["prices", "count"], rows))
    if report.corrections:
        click.echo("\ncorrected bars by symbol:")
        for symbol, count in sorted(report.corrections.items()):
            click.echo(f"  {symbol}: {count:,}")
    if report.newly_unknown:
        click.echo("\nnot known to the data API (not asked for again; --retry-unknown does):")
        for symbol, reason in sorted(report.newly_unknown.items()):
            click.echo(f"  {symbol}: {reason}")


@history.command()
@pass_app
def status(app: AppContext) -> None:
    """Show the disclosure fetches, the stored bars and the unknown symbols."""
    from trading_automation.cli.tables import render_table

    with app.database.transaction(readonly=True) as uow:
        fetches = uow.history_fetches.list_recent()
        bars = uow.prices.count()
        unknown = uow.price_symbols.unknown()
    if fetches:
        click.echo(
            render_table(
                ["range", "next page", "pages", "received", "stored", "complete"],
                [
                    (
                        f"{f.from_date}..{f.to_date or 'latest'} ({f.page_size}/page)",
                        f.next_page,
                        f.pages,
                        f"{f.records_received:,}",
                        f"{f.records_stored:,}",
                        f.completed_at.strftime("%Y-%m-%d %H:%M UTC") if f.completed_at else "no",
                    )
                    for f in fetches
                ],
            )
        )
    else:
        click.echo("no disclosure fetch yet")
    click.echo(f"\n{bars:,} daily bars stored")
    if unknown:
        click.echo("not known to the data API (not asked for again):")
    for state in unknown:
        click.echo(f"  {state.symbol}: {state.unknown_reason}")
