"""Daily bars of every ticker, fetched incrementally from Alpaca's market data.

A run asks Alpaca's clock and calendar for the trading days from the first day wanted to the last
complete session, plans the missing ranges (`domain.price_plan`), and fetches them, many symbols
per request, page by page: each page is stored in its own transaction (memory stays bounded), and
a request's symbols have their coverage recorded with its last page, so a run killed at any moment
is finished by the next one, which asks again only for what was not recorded and rewrites nothing.

A tail request that returns other values for a day already stored (the history was adjusted: a
split, a dividend) records the symbol as stale in the same transaction; the run then fetches that
symbol's whole covered history again, and every replaced bar is counted and logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from trading_automation.clients.errors import (
    RateLimitedError,
    UnexpectedResponseError,
    ValidationRefusedError,
)
from trading_automation.domain.bars import PriceBarRow, price_bar_row
from trading_automation.domain.price_plan import (
    SYMBOLS_PER_REQUEST,
    BarsRequest,
    plan,
    unknown_reason,
)
from trading_automation.domain.timestamps import NEW_YORK
from trading_automation.errors import InvalidArgumentError

if TYPE_CHECKING:
    from trading_automation.clients import AlpacaClient
    from trading_automation.clients.bars import BarsPage
    from trading_automation.clients.pacing import RequestPacer
    from trading_automation.db import Database
    from trading_automation.db.database import UnitOfWork
    from trading_automation.db.repositories.price_symbols import SymbolState
    from trading_automation.history.progress import Progress

log = structlog.get_logger(__name__)

BENCHMARK_SYMBOL = "SPY"
PAGE_LIMIT = 10_000
# 429s in a row for one page before the run gives up (each waits for the allowance to refill).
MAX_RATE_LIMITED = 5
# How far back the first day wanted goes when the feed is empty and none was given.
DEFAULT_DAYS_BACK = 365
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9./-]{0,11}$")
# Requests of each kind run in this order: a tail that finds an adjustment comes before the
# refetches, so a symbol's refetch covers what its tail found.
_ORDER = {"new": 0, "head": 1, "tail": 2, "refetch": 3}


@dataclass(frozen=True)
class PriceOptions:
    """What `history prices` was asked for (None: the defaults, see `PriceFetch.run`)."""

    symbols: tuple[str, ...] | None = None
    from_date: date | None = None
    to_date: date | None = None
    retry_unknown: bool = False


@dataclass
class PriceReport:
    """What a run did, for the command to print."""

    symbols: int = 0
    skipped_unknown: int = 0
    first_day: date | None = None
    last_day: date | None = None
    requests: int = 0
    bar_requests: int = 0
    bars_received: int = 0
    new: int = 0
    corrected: int = 0
    corrections: dict[str, int] = field(default_factory=dict)
    refetched: set[str] = field(default_factory=set)
    newly_unknown: dict[str, str] = field(default_factory=dict)
    rate_limit_waits: int = 0

    @property
    def unchanged(self) -> int:
        """Bars received that were stored already, as they were."""
        return self.bars_received - self.new - self.corrected


@dataclass
class _Batch:
    """What one request's pages brought so far."""

    last_bars: dict[str, date] = field(default_factory=dict)


class PriceFetch:
    """Fetches missing daily bars (see the module docstring); one instance per run."""

    def __init__(
        self,
        *,
        database: Database,
        alpaca: AlpacaClient,
        pacer: RequestPacer,
        now: Callable[[], datetime],
        progress: Progress | None = None,
        symbols_per_request: int = SYMBOLS_PER_REQUEST,
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        self.database = database
        self.alpaca = alpaca
        self.pacer = pacer
        self.now = now
        self.progress = progress
        self.symbols_per_request = symbols_per_request
        self.page_limit = page_limit
        self.report = PriceReport()
        self._trading_days: list[date] = []

    def run(self, options: PriceOptions) -> PriceReport:
        """Fetch what is missing; `options.symbols` default to every ticker of the feed and SPY,
        the first day to the feed's oldest filing, the last to the last complete session."""
        symbols = self._symbols(options)
        first = options.from_date or self._default_first_day()
        if options.to_date is not None and options.to_date < first:
            raise InvalidArgumentError(f"--to {options.to_date} is before --from {first}")
        with self.database.transaction() as uow:
            if options.retry_unknown:
                uow.price_symbols.forget_unknown(symbols, now=self.now())
            states = uow.price_symbols.states(symbols)
        wanted = [state for state in states.values() if not state.unknown]
        self.report.symbols = len(wanted)
        self.report.skipped_unknown = len(states) - len(wanted)
        self._trading_days = self._sessions(first, options.to_date, wanted)
        days = [day for day in self._trading_days if day >= first]
        if not days:
            return self.report
        self.report.first_day, self.report.last_day = days[0], days[-1]
        requests = sorted(
            plan(wanted, days, per_request=self.symbols_per_request),
            key=lambda request: _ORDER[request.kind],
        )
        if self.progress is not None:
            self.progress.start(sum(self._expected(request) for request in requests))
        stale_seen: set[str] = set()
        for request in requests:
            stale_seen |= self._fetch(request, states)
        # Adjustments found by this run's tails: fetch those symbols' covered history again.
        if stale_seen:
            with self.database.transaction(readonly=True) as uow:
                fresh = uow.price_symbols.states(stale_seen)
            for request in plan(fresh.values(), days, per_request=self.symbols_per_request):
                if request.kind == "refetch":
                    self._fetch(request, fresh)
        return self.report

    def _expected(self, request: BarsRequest) -> int:
        """About how many bars a request brings (one per symbol and trading day)."""
        days = sum(1 for day in self._trading_days if request.start <= day <= request.end)
        return days * len(request.symbols)

    # --- what to fetch -----------------------------------------------------------------------

    def _symbols(self, options: PriceOptions) -> list[str]:
        if options.symbols is not None:
            names = [name.strip().upper() for name in options.symbols if name.strip()]
            bad = [name for name in names if not _SYMBOL.match(name)]
            if bad:
                raise InvalidArgumentError(f"--symbols: {bad[0]!r} is not a symbol")
            if not names:
                raise InvalidArgumentError("--symbols: give at least one symbol")
            return sorted(set(names))
        with self.database.transaction(readonly=True) as uow:
            tickers = uow.feed.tickers()
        return sorted({*tickers, BENCHMARK_SYMBOL})

    def _default_first_day(self) -> date:
        with self.database.transaction(readonly=True) as uow:
            earliest = uow.feed.earliest_filing_date()
        if earliest is not None:
            return earliest
        today = self.now().astimezone(NEW_YORK).date()
        return today - timedelta(days=DEFAULT_DAYS_BACK)

    def _sessions(
        self, first: date, last: date | None, states: Iterable[SymbolState]
    ) -> list[date]:
        """Trading days from before the earliest overlap needed to the last complete session."""
        clock = self.alpaca.clock()
        self.report.requests += 1
        today = clock.timestamp.astimezone(NEW_YORK).date()
        end = min(last or today, today)
        ends = [state.covered_to for state in states if state.covered_to is not None]
        start = min([first, *(day - timedelta(days=14) for day in ends)])
        if end < start:
            return []
        calendar = self.alpaca.calendar(start, end)
        self.report.requests += 1
        # Today's bar is complete only once its session has closed.
        return [
            day.date
            for day in calendar
            if day.date < today or (day.date == today and clock.timestamp >= day.close_at)
        ]

    # --- one request -------------------------------------------------------------------------

    def _fetch(self, request: BarsRequest, states: dict[str, SymbolState]) -> set[str]:
        """Fetch one request's pages; an invalid symbol splits it until the symbol stands alone.
        Returns the symbols found stale (adjusted since they were stored)."""
        try:
            return self._pages(request, states)
        except (UnexpectedResponseError, ValidationRefusedError) as error:
            # Only a refusal that names a symbol is about the symbols; any other (a bad feed,
            # say) would refuse every symbol alike and must stop the run instead.
            if error.status_code not in (400, 422) or "symbol" not in (error.api_message or ""):
                raise
            if len(request.symbols) == 1:
                self._unknown(request.symbols[0], f"refused by the data API: {error.api_message}")
                return set()
            half = len(request.symbols) // 2
            stale = set()
            for part in (request.symbols[:half], request.symbols[half:]):
                stale |= self._fetch(
                    BarsRequest(request.kind, request.start, request.end, part), states
                )
            return stale

    def _pages(self, request: BarsRequest, states: dict[str, SymbolState]) -> set[str]:
        batch = _Batch()
        stale: set[str] = set()
        token: str | None = None
        while True:
            page = self._page(request, token)
            token = page.next_page_token
            rows = self._rows(page, request)
            with self.database.transaction() as uow:
                stored = uow.prices.store(
                    rows, fetched_at=self.now(), expect_new=request.kind in ("new", "head")
                )
                for symbol, correction in stored.corrections.items():
                    self.report.corrections[symbol] = (
                        self.report.corrections.get(symbol, 0) + correction.count
                    )
                    log.warning(
                        "bars_corrected",
                        symbol=symbol,
                        bars=correction.count,
                        first=correction.first.isoformat(),
                        last=correction.last.isoformat(),
                        kind=request.kind,
                    )
                    if request.kind == "tail":
                        uow.price_symbols.mark_stale(
                            symbol, before=correction.first, now=self.now()
                        )
                        stale.add(symbol)
                for row in rows:
                    seen = batch.last_bars.get(row.symbol)
                    batch.last_bars[row.symbol] = row.day if seen is None else max(seen, row.day)
                if token is None:
                    self._finish(uow, request, batch, states)
            self.report.bars_received += stored.received
            self.report.new += stored.new
            self.report.corrected += stored.corrected
            if self.progress is not None:
                self.progress.advance(stored.received)
            log.info(
                "bars_page",
                kind=request.kind,
                start=request.start.isoformat(),
                end=request.end.isoformat(),
                symbols=len(request.symbols),
                bars=stored.received,
                new=stored.new,
                corrected=stored.corrected,
                more=token is not None,
            )
            if token is None:
                return stale

    def _page(self, request: BarsRequest, token: str | None) -> BarsPage:
        """One page, waiting for the rate limit as its headers and 429s say."""
        limited = 0
        while True:
            self.pacer.before_request()
            try:
                page = self.alpaca.bars(
                    request.symbols,
                    start=request.start,
                    end=request.end,
                    limit=self.page_limit,
                    page_token=token,
                )
            except RateLimitedError as error:
                self.report.requests += error.attempts
                self.report.bar_requests += error.attempts
                limited += 1
                if limited > MAX_RATE_LIMITED:
                    raise
                self.pacer.after_rate_limited(error)
                self.report.rate_limit_waits += 1
                continue
            self.report.requests += 1
            self.report.bar_requests += 1
            self.pacer.observe(page.rate_limit)
            return page

    @staticmethod
    def _rows(page: BarsPage, request: BarsRequest) -> list[PriceBarRow]:
        asked = set(request.symbols)
        return [
            price_bar_row(
                symbol,
                timestamp=bar.timestamp,
                open=bar.open,
                high=bar.high,
                low=bar.low,
                close=bar.close,
                volume=bar.volume,
                adjustment="all",
            )
            for symbol, bars in page.bars.items()
            if symbol in asked
            for bar in bars
        ]

    def _finish(
        self, uow: UnitOfWork, request: BarsRequest, batch: _Batch, states: dict[str, SymbolState]
    ) -> None:
        """The request's last page: record its coverage, unknown symbols, refetches done."""
        now = self.now()
        if request.kind == "refetch":
            uow.price_symbols.clear_stale(
                request.symbols, fetched_before=request.end + timedelta(days=1), now=now
            )
            self.report.refetched |= set(request.symbols)
            return
        uow.price_symbols.cover(
            request.symbols,
            start=request.start,
            end=request.end,
            last_bars=batch.last_bars,
            now=now,
        )
        for symbol in request.symbols:
            state = states[symbol]
            known = [day for day in (state.last_bar_day, batch.last_bars.get(symbol)) if day]
            reason = unknown_reason(
                self._trading_days,
                covered_from=min(day for day in (request.start, state.covered_from) if day),
                covered_to=max(day for day in (request.end, state.covered_to) if day),
                last_bar_day=max(known) if known else None,
            )
            if reason is not None:
                uow.price_symbols.mark_unknown(symbol, reason=reason, now=now)
                self.report.newly_unknown[symbol] = reason
                log.warning("symbol_unknown", symbol=symbol, reason=reason)

    def _unknown(self, symbol: str, reason: str) -> None:
        with self.database.transaction() as uow:
            uow.price_symbols.mark_unknown(symbol, reason=reason, now=self.now())
        self.report.newly_unknown[symbol] = reason
        log.warning("symbol_unknown", symbol=symbol, reason=reason)
