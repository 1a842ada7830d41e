"""Local stand-ins for Quiver and Alpaca that speak their HTTP APIs, for tests and the demo.

`Sandbox` starts three servers on 127.0.0.1 (OS-assigned ports) in background threads: Quiver,
Alpaca's trading API and Alpaca's market-data API, the two Alpaca ones sharing one in-memory
`AlpacaBroker`. `SandboxProcess` runs the same in a subprocess (`trading-automation sandbox`), and
`SandboxControl` scripts either one over its `/_sandbox/...` control endpoints.

    with Sandbox() as sandbox:
        sandbox.alpaca.faults.add(Fault.drop_after_accept())
        with sandbox.alpaca_client() as alpaca:
            order = alpaca.submit_order(symbol="AAPL", client_order_id="x-1", notional=1000)
        assert sandbox.broker.orders_for("x-1") == 1
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from trading_automation import fixtures
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.sandbox.alpaca import (
    DEFAULT_CASH,
    DEFAULT_KEY_ID,
    DEFAULT_SECRET_KEY,
    AlpacaBroker,
)
from trading_automation.sandbox.alpaca_servers import AlpacaDataServer, AlpacaTradingServer
from trading_automation.sandbox.faults import Fault
from trading_automation.sandbox.history_bars import SyntheticBars
from trading_automation.sandbox.history_disclosures import SyntheticDisclosures
from trading_automation.sandbox.market import OPEN, MarketCalendar
from trading_automation.sandbox.market_data import (
    DEFAULT_REQUESTS_PER_MINUTE,
    BarsEndpoint,
    RateWindow,
)
from trading_automation.sandbox.orders import OrderScript
from trading_automation.sandbox.process import SandboxControl, SandboxProcess
from trading_automation.sandbox.quiver import DEFAULT_QUIVER_KEY, QuiverServer

if TYPE_CHECKING:
    from trading_automation.clients import AlpacaClient, QuiverClient
    from trading_automation.config import Settings

__all__ = [
    "AlpacaBroker",
    "Fault",
    "MarketCalendar",
    "OrderScript",
    "Sandbox",
    "SandboxControl",
    "SandboxProcess",
    "SyntheticBars",
    "SyntheticDisclosures",
]


# Requests an hour the sandbox's settings allow Quiver's bulk endpoints (it enforces no limit).
SANDBOX_QUIVER_BUDGET = 10_000


class Sandbox:
    """Quiver, Alpaca trading and Alpaca market data on 127.0.0.1, started and stopped together.

    The paper account starts empty; `orders` preloads it with Alpaca order payloads, e.g.
    `trading_automation.db.seed.alpaca_orders()` so that it agrees with a `db seed` database.

    The market-data server also serves daily bars of any symbol from `bars` (a seeded
    `SyntheticBars` by default), at most `bars_per_minute` bars requests a minute (None: no
    limit). With `history`, Quiver serves that synthetic disclosure history instead of the day
    files.
    """

    def __init__(
        self,
        *,
        quiver_directory: Traversable | Path | None = None,
        today: date = fixtures.DEMO_TRADING_DAY,
        now: datetime | None = None,
        clock_ticks: bool = True,
        key_id: str = DEFAULT_KEY_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        quiver_key: str = DEFAULT_QUIVER_KEY,
        cash: Decimal | str = DEFAULT_CASH,
        prices: Mapping[str, Decimal | str] | None = None,
        non_fractionable: Iterable[str] = fixtures.NON_FRACTIONABLE_SYMBOLS,
        script: OrderScript | None = None,
        orders: Iterable[Mapping[str, Any]] = (),
        holidays: Iterable[date] = (),
        half_days: Iterable[date] = (),
        alpaca_port: int = 0,
        data_port: int = 0,
        quiver_port: int = 0,
        log: Callable[[str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        history: SyntheticDisclosures | None = None,
        bars: SyntheticBars | None = None,
        bars_per_minute: int | None = DEFAULT_REQUESTS_PER_MINUTE,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.broker = AlpacaBroker(
            key_id=key_id,
            secret_key=secret_key,
            now=now or datetime.combine(today, OPEN, NEW_YORK),
            clock_ticks=clock_ticks,
            calendar=MarketCalendar().with_days(holidays=holidays, half_days=half_days),
            prices=prices,
            non_fractionable=non_fractionable,
            cash=cash,
            script=script,
            orders=orders,
            monotonic=monotonic,
        )
        self.bars = bars or SyntheticBars(calendar=self.broker.calendar)
        self.bars_endpoint = BarsEndpoint(
            self.bars,
            today=lambda: self.broker.now().astimezone(NEW_YORK).date(),
            window=RateWindow(bars_per_minute, monotonic=monotonic, wall=wall),
        )
        self.alpaca = AlpacaTradingServer(self.broker, port=alpaca_port, log=log)
        self.alpaca_data = AlpacaDataServer(
            self.broker, bars=self.bars_endpoint, port=data_port, log=log
        )
        self.quiver = QuiverServer(
            api_key=quiver_key,
            directory=quiver_directory,
            history=history,
            port=quiver_port,
            log=log,
        )

    def start(self) -> Self:
        """Start the three servers."""
        try:
            for server in (self.alpaca, self.alpaca_data, self.quiver):
                server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the three servers (held answers are released, connections closed)."""
        for server in (self.alpaca, self.alpaca_data, self.quiver):
            server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The environment variables that point the application at this sandbox.

        The sandbox's Quiver has no rate limit, so the bulk budget is lifted: reruns in one
        minute (the demo, tests) are not held to the real account's 5 requests an hour.
        """
        return {
            "PAPER_TRADING": "true",
            "ALPACA_BASE_URL": self.alpaca.url,
            "ALPACA_DATA_BASE_URL": self.alpaca_data.url,
            "ALPACA_KEY_ID": self.broker.key_id,
            "ALPACA_SECRET_KEY": self.broker.secret_key,
            "QUIVER_BASE_URL": self.quiver.base_url,
            "QUIVER_API_KEY": self.quiver.api_key,
            "QUIVER_BULK_REQUESTS_PER_HOUR": str(SANDBOX_QUIVER_BUDGET),
        }

    def settings(self, **overrides: Any) -> Settings:
        """Settings pointing at this sandbox (no `.env` file read); keyword overrides win."""
        from trading_automation.config import load_settings

        values: dict[str, Any] = {name.lower(): value for name, value in self.env().items()}
        return load_settings(_env_file=None, **(values | overrides))

    def alpaca_client(self, **overrides: Any) -> AlpacaClient:
        """An `AlpacaClient` for this sandbox; keyword arguments override its options."""
        from trading_automation.clients import AlpacaClient

        options: dict[str, Any] = {
            "key_id": self.broker.key_id,
            "secret_key": self.broker.secret_key,
            "base_url": self.alpaca.url,
            "data_base_url": self.alpaca_data.url,
        }
        return AlpacaClient(**(options | overrides))

    def quiver_client(self, **overrides: Any) -> QuiverClient:
        """A `QuiverClient` for this sandbox; keyword arguments override its options."""
        from trading_automation.clients import QuiverClient

        options: dict[str, Any] = {"api_key": self.quiver.api_key, "base_url": self.quiver.base_url}
        return QuiverClient(**(options | overrides))
