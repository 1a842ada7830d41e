"""A member's page and its JSON twin, served for real on SQLite and PostgreSQL: their filings
newest first and keyset-paginated, their lots open and closed with P&L, names of every kind in
URLs, and a 404 for a name no filing carries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from markupsafe import escape

from tests.ledger_support import LedgerBuilder
from trading_automation.db import Database
from trading_automation.sandbox import Sandbox

NAME = "José Ñúñez-O'Brien Jr."
PATH = "/members/" + quote(NAME, safe="")
SHOWN = str(escape(NAME))  # as a page shows it


def D(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def test_a_member_page_lists_their_lots_open_and_closed_with_realized_and_unrealized_pnl(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    closed = ledger.lot(NAME, "MSFT", "2", "400", filed=date(2024, 6, 10))
    ledger.sell(closed, "2", "425.5")
    held = ledger.lot(NAME, "AAPL", "4", "100", filed=date(2024, 6, 12))
    ledger.close_outside(held, "1")
    other = ledger.lot("Jane Doe", "AAPL", "3", "90")
    ledger.hold("AAPL", "6", "110")

    with serve_dashboard() as served:
        body = served.json("/api" + PATH)
        page = served.get(PATH)

    assert body["member"]["name"] == NAME
    assert body["member"]["party"] == "DEMOCRAT"
    lots = {lot["trade_id"]: lot for lot in body["lots"]}
    assert list(lots) == [str(held.id), str(closed.id)]  # newest first, never Jane's
    assert str(other.id) not in lots
    msft, aapl = lots[str(closed.id)], lots[str(held.id)]
    assert (D(msft["open_qty"]), D(msft["realized_pl"])) == (0, Decimal("51.00"))
    assert msft["unrealized_pl"] is None  # MSFT is no longer held: no current price
    assert (D(aapl["closed_qty"]), D(aapl["open_qty"])) == (1, 3)
    assert D(aapl["outside_qty"]) == 1
    assert aapl["realized_pl"] is None  # sold outside: no price, no realized P&L
    assert D(aapl["unrealized_pl"]) == Decimal("30.00")
    totals = body["totals"]
    assert (totals["lots"], totals["open_lots"], totals["closes"]) == (2, 1, 1)
    assert D(totals["realized_pl"]) == Decimal("51.00")
    assert D(totals["unrealized_pl"]) == Decimal("30.00")
    assert D(totals["cost"]) == Decimal("300.00")
    assert totals["outside_closed_lots"] == 1
    assert page.status_code == 200
    assert f"<h1>{SHOWN}</h1>" in page.text
    assert f'id="lot-{closed.id}" class="closed"' in page.text
    assert "+$51.00" in page.text
    assert "+$30.00" in page.text


def test_a_members_filings_are_newest_first_and_keyset_paginated_both_ways(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    first_day = date(2024, 5, 1)
    for day in range(7):
        ledger.filing(NAME, "AAPL", filed=first_day + timedelta(days=day))
    ledger.filing(NAME, "MSFT", transaction="Sale (Full)", filed=first_day + timedelta(days=3))
    ledger.filing("José Ñúñez", "NVDA")  # a different member whose name is a prefix of it
    ledger.filing(NAME, "AAPL", filed=first_day, Filed="not a date")  # malformed: no date

    with serve_dashboard() as served:
        pages = [served.json(f"/api{PATH}?limit=3")]
        while pages[-1]["filings"]["next_cursor"]:
            cursor = pages[-1]["filings"]["next_cursor"]
            pages.append(served.json(f"/api{PATH}?limit=3&cursor={cursor}"))
        back = served.json(f"/api{PATH}?limit=3&cursor={pages[-1]['filings']['prev_cursor']}")
        html = served.get(f"{PATH}?limit=3").text

    listed = [f for page in pages for f in page["filings"]["filings"]]
    assert len(listed) == 9
    assert len(pages) == 3
    assert {f["member"] for f in listed} == {NAME}
    dated = [f["filing_date"] for f in listed if f["filing_date"]]
    assert dated == sorted(dated, reverse=True)
    assert listed[-1]["filing_date"] is None  # undated records last
    assert listed[-1]["problems"]
    assert pages[0]["filings"]["prev_cursor"] is None
    assert back["filings"]["filings"] == pages[-2]["filings"]["filings"]
    assert pages[0]["member"]["filings"] == 9
    assert "SELL" in {f["transaction"] for f in listed}
    next_link = f'rel="next" href="{PATH}?limit=3&amp;cursor='
    assert next_link in html


def test_member_names_link_to_their_page_from_trades_filings_and_positions(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    ledger.lot(NAME, "AAPL", "1", "100")
    ledger.hold("AAPL", "1", "100")
    link = f'<a href="{PATH}">{SHOWN}</a>'

    with serve_dashboard() as served:
        pages = {path: served.get(path).text for path in ("/trades", "/filings", "/positions")}
        followed = served.get(PATH)

    for path, text in pages.items():
        assert link in text, path
    assert PATH == "/members/Jos%C3%A9%20%C3%91%C3%BA%C3%B1ez-O%27Brien%20Jr."
    assert followed.status_code == 200


def test_a_name_with_a_slash_has_its_own_page(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    ledger = LedgerBuilder(database, web_sandbox)
    ledger.filing("A/B Smith", "AAPL")

    with serve_dashboard() as served:
        body = served.json("/api/members/A%2FB%20Smith")
        page = served.get("/filings").text

    assert body["member"]["name"] == "A/B Smith"
    assert 'href="/members/A%2FB%20Smith"' in page


def test_a_name_no_filing_carries_is_a_404_page_and_json_error(
    database: Database, web_sandbox: Sandbox, serve_dashboard: Any
) -> None:
    LedgerBuilder(database, web_sandbox).filing("Jane Doe", "AAPL")

    with serve_dashboard() as served:
        api = served.get("/api/members/Jane")  # part of a name is not a member
        page = served.get("/members/Nobody%20At%20All")
        bad_limit = served.get("/api/members/Jane%20Doe?limit=0")
        bad_cursor = served.get("/api/members/Jane%20Doe?cursor=garbage")

    assert api.status_code == 404
    assert api.json() == {"error": "no stored filing names a member 'Jane'"}
    assert page.status_code == 404
    assert "no stored filing names a member &#39;Nobody At All&#39;" in page.text
    assert (bad_limit.status_code, bad_limit.json()["field"]) == (400, "limit")
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (400, "cursor")
