"""The ledger's P&L and the positions' comparison as plain functions of values."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from trading_automation.domain.enums import CloseCause, Party
from trading_automation.web.formatting import exit_cause, member_url, plural
from trading_automation.web.ledger_pnl import NO_FILING, ledger_pnl
from trading_automation.web.ledger_views import ledger, lot_totals, lot_view
from trading_automation.web.lot_queries import CloseRecord, LotRecord
from trading_automation.web.read_models import LotGroup
from trading_automation.web.views import PositionView

ZERO = Decimal(0)
CLOSED_AT = datetime(2024, 6, 21, 14, tzinfo=UTC)


def group(member: str | None, party: Party | None, symbol: str, **sums: str | int) -> LotGroup:
    """A lot group of one lot, with these sums (text: a decimal)."""
    values = {
        key: Decimal(value) if isinstance(value, str) else value for key, value in sums.items()
    }
    one = LotGroup(member, party, symbol, lots=1, filled_qty=Decimal(1), cost=Decimal(1))
    return replace(one, **values)


def test_realized_pnl_is_summed_exactly_and_rounded_once() -> None:
    # Each member made 0.4 of a cent, shown as $0.00; together 1.2 cents, shown as $0.01.
    groups = [
        group(name, Party.DEMOCRAT, symbol, closes=1, proceeds="100.004", closed_cost="100")
        for name, symbol in (("Jane Doe", "AAPL"), ("John Roe", "MSFT"), ("Ann Poe", "NVDA"))
    ]

    pnl = ledger_pnl(groups, {})

    assert {g.name: g.realized_pl for g in pnl.by_member} == dict.fromkeys(
        ("Jane Doe", "John Roe", "Ann Poe"), ZERO
    )
    assert pnl.total is not None
    assert pnl.total.realized_pl == Decimal("0.01")
    assert pnl.by_party[0].realized_pl == Decimal("0.01")


def test_unrealized_pnl_values_only_the_open_quantity_and_needs_prices() -> None:
    groups = [
        group("Jane Doe", Party.DEMOCRAT, "AAPL", open_lots=1, open_qty="3", open_cost="300"),
        group("Jane Doe", Party.DEMOCRAT, "XYZ", open_lots=2, open_qty="1", open_cost="10"),
    ]

    priced = ledger_pnl(groups, {"AAPL": Decimal("110")})
    blind = ledger_pnl(groups, None)

    [jane] = priced.by_member
    assert (jane.cost, jane.current_value, jane.unrealized_pl) == (
        Decimal("300.00"),
        Decimal("330.00"),
        Decimal("30.00"),
    )
    assert jane.unpriced_lots == priced.unpriced_lots == 2  # XYZ has no price: left out
    assert blind.priced is False
    assert blind.total is not None
    assert (blind.total.unrealized_pl, blind.total.cost, blind.unpriced_lots) == (None, None, 0)
    assert blind.total.realized_pl == ZERO


def test_a_member_is_listed_under_the_party_of_most_of_their_lots() -> None:
    groups = [
        group("Jane Doe", Party.DEMOCRAT, "AAPL", lots=3),
        group("Jane Doe", Party.INDEPENDENT, "MSFT", lots=1),
        group(None, None, "NVDA"),
    ]

    pnl = ledger_pnl(groups, {})

    members = {g.name: g for g in pnl.by_member}
    assert members["Jane Doe"].party is Party.DEMOCRAT
    assert members["Jane Doe"].lots == 4
    assert NO_FILING in members
    assert {g.name for g in pnl.by_party} == {"DEMOCRAT", "INDEPENDENT", "UNKNOWN"}


def _lot(symbol: str, filled: str, closed: str, price: str = "100") -> LotRecord:
    return LotRecord(
        trade_id=uuid.uuid4(),
        symbol=symbol,
        member="Jane Doe",
        party=Party.DEMOCRAT,
        filed=date(2024, 6, 18),
        bought_on=date(2024, 6, 20),
        filled_qty=Decimal(filled),
        closed_qty=Decimal(closed),
        fill_price=Decimal(price),
    )


def _position(symbol: str, qty: str) -> PositionView:
    return PositionView(symbol, Decimal(qty), None, None, None, None, None, None)


def test_a_lots_realized_pnl_counts_priced_closes_and_shows_the_rest_as_sold_outside() -> None:
    lot = _lot("AAPL", "10", "6")
    closes = [
        CloseRecord(
            lot.trade_id, None, CloseCause.STOP_LOSS, Decimal(4), Decimal(90), None, CLOSED_AT
        ),
        CloseRecord(lot.trade_id, None, CloseCause.OUTSIDE, Decimal(2), None, "by hand", CLOSED_AT),
    ]

    view, _sums = lot_view(lot, closes, Decimal(120))
    totals = lot_totals([lot_view(lot, closes, Decimal(120))], priced=True)

    assert (view.realized_pl, view.realized_pl_pct) == (Decimal("-40.00"), Decimal("-10.00"))
    assert view.outside_qty == 2
    assert (view.open_qty, view.unrealized_pl) == (Decimal(4), Decimal("80.00"))
    assert (totals.realized_pl, totals.unrealized_pl, totals.outside_closed_lots) == (
        Decimal("-40.00"),
        Decimal("80.00"),
        1,
    )


def test_quantities_agree_whatever_their_digits_and_every_disagreement_is_named() -> None:
    lots = [
        lot_view(_lot("AAPL", "7.000000000", "0"), [], None)[0],
        lot_view(_lot("MSFT", "3", "0"), [], None)[0],
        lot_view(_lot("NVDA", "2", "0.5"), [], None)[0],
    ]
    positions = [_position("AAPL", "7"), _position("MSFT", "3.5"), _position("GOOGL", "1")]

    shown = ledger(positions, lots)
    blind = ledger(None, lots)

    warnings = {h.symbol: h.warning for h in shown.holdings}
    assert warnings["AAPL"] is None
    assert warnings["MSFT"] == "Alpaca holds 3.5, the ledger's open lots 3: 0.5 more at the broker"
    assert warnings["NVDA"] is not None
    assert warnings["NVDA"].startswith("Alpaca holds none, but the ledger's open lots hold 1.5")
    assert warnings["GOOGL"] is not None
    assert warnings["GOOGL"].startswith("Alpaca holds 1 but the ledger has no open lot")
    assert shown.disagreements == 3
    assert blind.disagreements == 0
    assert {h.symbol for h in blind.holdings} == {"AAPL", "MSFT", "NVDA"}


@pytest.mark.parametrize("cause", list(CloseCause))
def test_every_exit_cause_reads_as_words(cause: CloseCause) -> None:
    words = exit_cause(cause)
    assert words
    assert words != cause.value
    assert "_" not in words


def test_member_urls_encode_every_character_of_a_name() -> None:
    assert member_url("Nancy Pelosi") == "/members/Nancy%20Pelosi"
    assert member_url("José O'Brien/Jr.") == "/members/Jos%C3%A9%20O%27Brien%2FJr."


def test_counts_read_in_the_singular_or_the_plural() -> None:
    assert [plural(n, "lot") for n in (0, 1, 2)] == ["0 lots", "1 lot", "2 lots"]
    assert plural(2, "open lot") == "2 open lots"
