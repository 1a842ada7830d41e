"""Building a lot ledger for dashboard tests through the project's own repositories: filings
stored as Quiver sends them, buys and sells applied from Alpaca-shaped order payloads, closes
outside the system recorded by the ledger, and the sandbox broker holding what a test says."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.factories import order_payload, quiver_record
from trading_automation.db import CloseCause, CongressTradeFeed, Database, Trade
from trading_automation.domain.filings import normalize_record
from trading_automation.sandbox import Sandbox

T0 = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
PARTY_CODES = {"DEMOCRAT": "D", "REPUBLICAN": "R", "INDEPENDENT": "I"}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LedgerBuilder:
    """Filings, lots, sells and closes written as the worker writes them, one transaction each.

    Every write happens a minute after the previous one (`now`), so listings have a fixed order.
    """

    def __init__(self, database: Database, sandbox: Sandbox | None = None) -> None:
        self.database = database
        self.sandbox = sandbox
        self.now = T0
        self._orders = itertools.count(1)

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def filing(
        self,
        member: str,
        ticker: str,
        *,
        party: str = "DEMOCRAT",
        transaction: str = "Purchase",
        filed: date = date(2024, 6, 18),
        traded: date | None = None,
        **fields: object,
    ) -> tuple[uuid.UUID, str | None]:
        """Store a Quiver record (`fields` override any of it); returns its row id and its filing
        key (None for a malformed record)."""
        values: dict[str, object] = {
            "Name": member,
            "Ticker": ticker,
            "Party": PARTY_CODES.get(party, party),
            "Transaction": transaction,
            "Filed": filed.isoformat(),
            "Traded": (traded or filed - timedelta(days=8)).isoformat(),
        }
        record = quiver_record(**(values | fields))
        normalized = normalize_record(record)
        with self.database.transaction() as uow:
            uow.feed.store([record], ingested_at=self._tick())
            row_id = uow.session.scalar(
                select(CongressTradeFeed.id).where(
                    CongressTradeFeed.row_hash == normalized.row_hash
                )
            )
        assert row_id is not None
        return row_id, normalized.source_hash

    def lot(
        self,
        member: str,
        ticker: str,
        qty: str,
        price: str,
        *,
        party: str = "DEMOCRAT",
        filed: date = date(2024, 6, 18),
    ) -> Trade:
        """A filled BUY of the member's purchase filing: a lot of `qty` at `price`."""
        feed_id, key = self.filing(member, ticker, party=party, filed=filed)
        assert key is not None
        when = self._tick()
        with self.database.transaction() as uow:
            trade = uow.trades.record_intent(
                source_hash=key, symbol=ticker, congress_trade_feed_id=feed_id, now=when
            ).trade
            uow.trades.apply_order(
                trade,
                order_payload(
                    trade.client_order_id,
                    id=f"buy-{next(self._orders)}",
                    symbol=ticker,
                    status="filled",
                    filled_qty=qty,
                    filled_avg_price=price,
                    updated_at=_stamp(when),
                    filled_at=_stamp(when),
                ),
                now=when,
            )
        return trade

    def sell(
        self,
        lot: Trade,
        qty: str,
        price: str | None,
        *,
        cause: CloseCause = CloseCause.MIRRORED_SALE,
        filled: str | None = None,
        feed_id: uuid.UUID | None = None,
    ) -> Trade:
        """An exit of `qty` of `lot`, filled at `price` (`filled` of it; None price: unfilled)."""
        when = self._tick()
        with self.database.transaction() as uow:
            sell = uow.lots.record_exit(
                lot,
                cause=cause,
                ref=f"ref-{next(self._orders)}",
                trading_date=when.date(),
                quantity=Decimal(qty),
                feed_id=feed_id,
                now=when,
            ).trade
        if price is None:
            return sell
        done = filled is None or Decimal(filled) == Decimal(qty)
        with self.database.transaction() as uow:
            current = uow.trades.get(sell.id)
            assert current is not None
            [result] = uow.trades.apply_orders(
                [
                    (
                        current,
                        order_payload(
                            sell.client_order_id,
                            id=f"sell-{next(self._orders)}",
                            symbol=lot.symbol,
                            side="sell",
                            notional=None,
                            qty=qty,
                            status="filled" if done else "partially_filled",
                            filled_qty=filled or qty,
                            filled_avg_price=price,
                            updated_at=_stamp(when),
                            filled_at=_stamp(when) if done else None,
                        ),
                    )
                ],
                now=when,
            )
            assert not isinstance(result, Exception), result
        return sell

    def close_outside(
        self, lot: Trade, qty: str, reason: str = "sold by hand at the broker"
    ) -> None:
        """Record `qty` of `lot` as sold outside the system."""
        with self.database.transaction() as uow:
            assert uow.lots.close_outside(lot, Decimal(qty), reason, self._tick())

    def hold(self, symbol: str, qty: str, price: str) -> None:
        """Make the sandbox broker hold `qty` more of `symbol`, bought at `price`."""
        assert self.sandbox is not None
        self.sandbox.broker.set_prices({symbol: price})
        with self.sandbox.alpaca_client() as alpaca:
            order = alpaca.submit_order(
                symbol=symbol, client_order_id=f"held-{uuid.uuid4().hex}", qty=qty
            )
            assert alpaca.get_order(order.id).status == "filled"
