"""The lot ledger on the dashboard, served for real on SQLite and PostgreSQL with the sandbox as
the broker: realized and unrealized P&L on the overview, sells linked to their lots on the trades
page, and the ledger's open lots beside the broker's positions. Lots, sells and closes are written
through the repositories; expected figures are worked out here from the inputs."""

from __future__ import annotations

import html
import re
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from tests.ledger_support import LedgerBuilder
from trading_automation.db import CloseCause, Database
from trading_automation.sandbox import Sandbox

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def D(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def exact(text: str) -> Decimal:
    """Evaluate a product/sum of decimals with enough digits to be exact."""
    with localcontext(Context(prec=100)):
        return Decimal(eval(text, {"D": Decimal}))


def build(database: Database, sandbox: Sandbox) -> dict[str, Any]:
    """Two members, three lots: sold by mirrored sale, by holding limit, partly by stop loss,
    partly outside the system; the broker holds what remains open of AAPL at $120."""
    ledger = LedgerBuilder(database, sandbox)
    jane_aapl = ledger.lot("Jane Doe", "AAPL", "10", "100.123456789")
    sale = ledger.filing("Jane Doe", "AAPL", transaction="Sale (Partial)")
    jane_sell = ledger.sell(jane_aapl, "4", "110.5", feed_id=sale[0])
    ledger.close_outside(jane_aapl, "2.5")
    jane_msft = ledger.lot("Jane Doe", "MSFT", "3", "400")
    msft_sell = ledger.sell(jane_msft, "3", "390.25", cause=CloseCause.HOLDING_LIMIT)
    john_aapl = ledger.lot("John Roe", "AAPL", "5.000000001", "90", party="REPUBLICAN")
    john_sell = ledger.sell(john_aapl, "2", "95", filled="1.5", cause=CloseCause.STOP_LOSS)
    ledger.hold("AAPL", "7.000000001", "120")  # 3.5 + 3.500000001 open, as the ledger says
    return {
        "jane_aapl": jane_aapl,
        "jane_sell": jane_sell,
        "jane_msft": jane_msft,
        "msft_sell": msft_sell,
        "john_aapl": john_aapl,
        "john_sell": john_sell,
    }


# -- overview ------------------------------------------------------------------------------------


def test_overview_shows_realized_and_unrealized_pnl_per_member_party_and_in_total(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    build(database, web_sandbox)
    jane_realized = exact(
        "D('4') * (D('110.5') - D('100.123456789')) + D('3') * (D('390.25') - 400)"
    )
    jane_unrealized = exact("D('3.5') * (120 - D('100.123456789'))")
    john_realized = exact("D('1.5') * (95 - 90)")
    john_unrealized = exact("D('3.500000001') * (120 - 90)")

    with serve_dashboard() as served:
        overview = served.json("/api/overview")
        page = served.get("/overview").text

    pnl = overview["pnl"]
    assert (overview["trades"]["total"], overview["trades"]["sells"]) == (6, 3)
    # What the lots cost: sells' fills are not purchases.
    assert Decimal(overview["trades"]["filled_value"]) == cents(
        exact("10 * D('100.123456789') + 3 * 400 + D('5.000000001') * 90")
    )
    members = {group["name"]: group for group in pnl["by_member"]}
    parties = {group["name"]: group for group in pnl["by_party"]}
    assert set(members) == {"Jane Doe", "John Roe"}
    for group, realized, unrealized in (
        (members["Jane Doe"], jane_realized, jane_unrealized),
        (parties["DEMOCRAT"], jane_realized, jane_unrealized),
        (members["John Roe"], john_realized, john_unrealized),
        (parties["REPUBLICAN"], john_realized, john_unrealized),
        (pnl["total"], jane_realized + john_realized, jane_unrealized + john_unrealized),
    ):
        assert D(group["realized_pl"]) == cents(realized), group["name"]
        assert D(group["unrealized_pl"]) == cents(unrealized), group["name"]
    jane = members["Jane Doe"]
    assert (jane["lots"], jane["open_lots"], jane["closes"]) == (2, 1, 2)
    assert (jane["outside_closes"], D(jane["outside_qty"])) == (1, Decimal("2.5"))
    assert D(jane["open_qty"]) == Decimal("3.5")
    # Unrealized counts the open quantity only: 3.5 of the 10 bought.
    assert D(jane["cost"]) == cents(exact("D('3.5') * D('100.123456789')"))
    assert D(jane["current_value"]) == Decimal("420.00")
    assert pnl["total"]["closes"] == 3
    assert D(pnl["total"]["closed_qty"]) == Decimal("8.5")  # 4 + 3 + 1.5, the priced closes
    assert pnl["priced"] is True
    assert pnl["unpriced_lots"] == 0

    section = page[page.index('id="pnl"') :]
    assert f"+${cents(jane_realized + john_realized):,.2f}" in section
    assert f"+${cents(jane_unrealized + john_unrealized):,.2f}" in section
    assert "sold outside the system" in section
    assert '<a href="/members/Jane%20Doe">Jane Doe</a>' in section


def test_the_overview_keeps_realized_pnl_when_the_broker_does_not_answer(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    build(database, web_sandbox)

    with serve_dashboard() as served:
        served.sandbox.alpaca.stop()
        pnl = served.json("/api/overview")["pnl"]
        page = served.get("/overview").text

    total = pnl["total"]
    assert pnl["priced"] is False
    assert total["unrealized_pl"] is None
    assert total["current_value"] is None
    expected = exact(
        "D('4') * (D('110.5') - D('100.123456789')) + D('3') * (D('390.25') - 400)"
        " + D('1.5') * (95 - 90)"
    )
    assert D(total["realized_pl"]) == cents(expected)
    assert "Unrealized P&amp;L is unavailable" in page
    assert f"+${cents(expected):,.2f}" in page


def test_a_lot_closed_in_full_leaves_unrealized_pnl_and_its_open_count(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    lot = ledger.lot("Jane Doe", "MSFT", "2", "400")
    ledger.sell(lot, "2", "450")

    with serve_dashboard() as served:
        pnl = served.json("/api/overview")["pnl"]

    [jane] = pnl["by_member"]
    assert (jane["lots"], jane["open_lots"]) == (1, 0)
    assert D(jane["realized_pl"]) == Decimal("100.00")
    assert D(jane["unrealized_pl"]) == 0  # nothing open: nothing to value
    assert D(jane["cost"]) == 0


# -- trades --------------------------------------------------------------------------------------


def test_trades_show_sells_with_their_cause_and_the_lot_they_closed(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    made = build(database, web_sandbox)

    with serve_dashboard() as served:
        trades = {t["id"]: t for t in served.json("/api/trades")["trades"]}
        page = served.get("/trades").text

    sell = trades[str(made["jane_sell"].id)]
    lot = made["jane_aapl"]
    assert (sell["side"], sell["exit_cause"]) == ("SELL", "MIRRORED_SALE")
    assert sell["lot_trade_id"] == str(lot.id)
    assert sell["lot"]["member"] == "Jane Doe"
    assert sell["lot"]["symbol"] == "AAPL"
    assert D(sell["lot"]["fill_price"]) == Decimal("100.123456789")
    assert D(sell["realized_pl"]) == cents(exact("D('4') * (D('110.5') - D('100.123456789'))"))
    assert sell["unrealized_pl"] is None
    bought = trades[str(lot.id)]
    assert bought["side"] == "BUY"
    assert bought["exit_cause"] is None
    assert bought["lot_trade_id"] is None
    assert (D(bought["closed_qty"]), D(bought["open_qty"])) == (Decimal("6.5"), Decimal("3.5"))
    # Its unrealized P&L counts its open 3.5 shares only.
    assert D(bought["unrealized_pl"]) == cents(exact("D('3.5') * (120 - D('100.123456789'))"))
    stop = trades[str(made["john_sell"].id)]
    assert (stop["exit_cause"], stop["status"]) == ("STOP_LOSS", "PARTIALLY_FILLED")
    assert D(stop["realized_pl"]) == Decimal("7.50")
    assert trades[str(made["msft_sell"].id)]["exit_cause"] == "HOLDING_LIMIT"

    row = _row(page, f"trade-{made['jane_sell'].id}")
    assert "sell" in row
    assert "mirrored sale: the member sold" in row
    assert f'href="/members/Jane%20Doe#lot-{lot.id}"' in row
    assert "AAPL · Jane Doe · bought 2024-06-20" in row
    assert "closed 6.5 · open 3.5" in _row(page, f"trade-{lot.id}")
    assert "holding limit reached" in _row(page, f"trade-{made['msft_sell'].id}")
    assert "stop loss" in _row(page, f"trade-{made['john_sell'].id}")


def _row(page: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, row_id
    return html.unescape(match.group(1))


# -- positions -----------------------------------------------------------------------------------


def test_positions_show_the_ledgers_open_lots_beside_each_broker_position(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    made = build(database, web_sandbox)

    with serve_dashboard() as served:
        body = served.json("/api/positions")
        page = served.get("/positions").text

    [aapl] = body["ledger"]["holdings"]  # MSFT was closed in full and the broker holds none
    assert aapl["symbol"] == "AAPL"
    assert D(aapl["broker_qty"]) == D(aapl["ledger_qty"]) == Decimal("7.000000001")
    assert D(aapl["difference"]) == 0
    assert aapl["warning"] is None
    assert body["ledger"]["disagreements"] == 0
    lots = {lot["trade_id"]: lot for lot in aapl["lots"]}
    assert set(lots) == {str(made["jane_aapl"].id), str(made["john_aapl"].id)}
    jane = lots[str(made["jane_aapl"].id)]
    assert (jane["member"], jane["bought_on"]) == ("Jane Doe", "2024-06-20")
    assert (D(jane["open_qty"]), D(jane["fill_price"])) == (
        Decimal("3.5"),
        Decimal("100.123456789"),
    )
    assert D(lots[str(made["john_aapl"].id)]["open_qty"]) == Decimal("3.500000001")
    assert 'role="alert"' not in page
    assert "2 open lots" in page
    assert f'id="lot-{made["john_aapl"].id}"' in page
    assert '<a href="/members/John%20Roe">John Roe</a>' in page


def test_positions_warn_where_the_broker_and_the_ledger_disagree(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    ledger.lot("Jane Doe", "AAPL", "5", "100")
    ledger.hold("AAPL", "5", "100")  # agrees
    ledger.lot("Jane Doe", "MSFT", "3", "400")
    ledger.hold("MSFT", "2", "400")  # one sold by hand, not yet recorded
    ledger.lot("John Roe", "NVDA", "2", "120", party="REPUBLICAN")  # the broker holds none
    ledger.hold("GOOGL", "1", "170")  # bought outside the system

    with serve_dashboard() as served:
        body = served.json("/api/positions")
        page = served.get("/positions").text

    holdings = {h["symbol"]: h for h in body["ledger"]["holdings"]}
    assert list(holdings) == ["AAPL", "GOOGL", "MSFT", "NVDA"]
    assert holdings["AAPL"]["warning"] is None
    assert (D(holdings["MSFT"]["broker_qty"]), D(holdings["MSFT"]["ledger_qty"])) == (2, 3)
    assert D(holdings["MSFT"]["difference"]) == -1
    assert "1 fewer at the broker" in holdings["MSFT"]["warning"]
    assert D(holdings["NVDA"]["broker_qty"]) == 0
    assert holdings["NVDA"]["position"] is None
    assert "Alpaca holds none" in holdings["NVDA"]["warning"]
    assert D(holdings["GOOGL"]["ledger_qty"]) == 0
    assert holdings["GOOGL"]["lots"] == []
    assert "no open lot" in holdings["GOOGL"]["warning"]
    assert body["ledger"]["disagreements"] == 3
    assert len(body["portfolio"]["positions"]) == 3  # the broker's own list is unchanged
    warnings = re.findall(r'<tr class="warning" role="alert">(.*?)</tr>', page, re.S)
    assert len(warnings) == 3
    assert any("disagree on NVDA" in row for row in warnings)
    assert "3 symbols disagree" in page


def test_positions_list_the_ledger_without_warnings_when_the_broker_does_not_answer(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    ledger.lot("Jane Doe", "MSFT", "3", "400")

    with serve_dashboard() as served:
        served.sandbox.alpaca.stop()
        body = served.json("/api/positions")
        page = served.get("/positions").text

    [msft] = body["ledger"]["holdings"]
    assert body["portfolio"] is None
    assert msft["broker_qty"] is None
    assert msft["difference"] is None
    assert msft["warning"] is None
    assert D(msft["ledger_qty"]) == 3
    assert msft["lots"][0]["unrealized_pl"] is None
    assert "Positions are unavailable" in page
    assert 'role="alert"><td' not in page
