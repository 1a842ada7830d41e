"""`backtest --demo`: the sandbox's synthetic history, fetched into an embedded database.

It starts the local sandbox (Quiver with a synthetic disclosure history, Alpaca's market data with
seeded daily bars), then runs the very fetches of `history fetch` and `history prices` through the
real clients over HTTP into a fresh SQLite file, so the backtest that follows reads what a user's
own database would hold. Offline: nothing leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from trading_automation import fixtures

if TYPE_CHECKING:
    from trading_automation.config import Settings
    from trading_automation.db import Database

# The sandbox's calendar knows the holidays of these years; the history ends before its today.
DEMO_START = date(2024, 1, 2)
DEMO_END = date(2024, 6, 14)
# Disclosures from a month before the period, so amendments of earlier filings are recognised.
LEAD = timedelta(days=31)
DEMO_DATABASE = "backtest.sqlite"
DEMO_STRATEGY = "demo_strategy.toml"


def demo_strategy_file() -> Path:
    """The strategy the demo replays when none is named (shipped inside the package)."""
    from importlib.resources import files

    return Path(str(files("trading_automation.backtest").joinpath(DEMO_STRATEGY)))


@dataclass(frozen=True)
class DemoData:
    """The demo's database and what was fetched into it."""

    settings: Settings
    database_file: Path
    start: date
    end: date
    disclosures: int
    bars: int
    unknown: tuple[str, ...] = ()


def fetch_demo_history(
    directory: Path,
    *,
    start: date = DEMO_START,
    end: date = DEMO_END,
    echo: Callable[[str], None] = print,
) -> DemoData:
    """A fresh SQLite database in `directory` holding the sandbox's disclosures and bars of
    `start`..`end` (see the module docstring)."""
    from trading_automation.config import load_settings
    from trading_automation.db import Database
    from trading_automation.db.migrate import alembic_config, upgrade
    from trading_automation.demo import fresh_database_file

    database_file = fresh_database_file(directory, DEMO_DATABASE)
    settings = load_settings(database_url=f"sqlite:///{database_file}", log_level="WARNING")
    upgrade(alembic_config(settings))
    database = Database.from_settings(settings)
    try:
        disclosures, bars, unknown = fill_from_sandbox(database, start, end, echo=echo)
    finally:
        database.dispose()
    return DemoData(settings, database_file, start, end, disclosures, bars, unknown)


def fill_from_sandbox(
    database: Database,
    start: date,
    end: date,
    *,
    echo: Callable[[str], None] = print,
) -> tuple[int, int, tuple[str, ...]]:
    """Fetch the sandbox's synthetic disclosures (from a month before `start`) and the daily
    bars of their tickers and SPY into `database`, through `history fetch`'s and `history
    prices`' own code; returns the disclosures and bars stored and the symbols without bars."""
    from trading_automation.clients.pacing import RequestPacer
    from trading_automation.domain.timestamps import utcnow
    from trading_automation.history.disclosures import DisclosureFetch, DisclosureOptions
    from trading_automation.history.prices import PriceFetch, PriceOptions
    from trading_automation.sandbox import Sandbox, SyntheticDisclosures

    if end >= fixtures.DEMO_TRADING_DAY:
        raise ValueError(f"the sandbox's history ends before {fixtures.DEMO_TRADING_DAY}")
    first = start - LEAD
    synthetic = SyntheticDisclosures(start=first, end=end)
    with Sandbox(history=synthetic, bars_per_minute=None) as sandbox:
        echo(f"fetching the sandbox's synthetic disclosures from {first} to {end} ...")
        with sandbox.quiver_client() as quiver:
            fetched = DisclosureFetch(
                database=database, quiver=quiver, budget=None, now=utcnow
            ).run(DisclosureOptions(first, end))
        echo(f"fetching daily bars of every ticker and SPY from {first} to {end} ...")
        with sandbox.alpaca_client() as alpaca:
            prices = PriceFetch(
                database=database, alpaca=alpaca, pacer=RequestPacer(), now=utcnow
            ).run(PriceOptions(from_date=first, to_date=end))
    return fetched.stored, prices.new, tuple(sorted(prices.newly_unknown))
