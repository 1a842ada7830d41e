"""Every dashboard page and its JSON twin, served for real, on SQLite and PostgreSQL, with the
sandbox as the broker. Expected figures are computed here from the database rows and the
sandbox's own account, never taken from the dashboard's code."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from trading_automation.db.database import Database
from trading_automation.db.models import CongressTradeFeed, Trade
from trading_automation.db.run_models import IngestCheckpoint, JobRun
from trading_automation.demo import LATER_PRICES
from trading_automation.domain.timestamps import NEW_YORK

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def trades_with_filings(database: Database) -> list[tuple[Trade, CongressTradeFeed | None]]:
    with database.transaction(readonly=True) as uow:
        rows = uow.session.execute(
            select(Trade, CongressTradeFeed)
            .outerjoin(CongressTradeFeed, Trade.congress_trade_feed_id == CongressTradeFeed.id)
            .order_by(Trade.created_at.desc(), Trade.id.desc())
        ).all()
    return [(trade, feed) for trade, feed in rows]


def D(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


# -- overview ------------------------------------------------------------------------------------


def test_overview_shows_the_account_and_position_totals_alpaca_reports(
    traded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        body = served.json("/api/overview")
        page = served.get("/overview").text
        account = served.sandbox.broker.account()
        positions = served.sandbox.broker.positions()

    unrealized = sum(Decimal(p["unrealized_pl"]) for p in positions)
    cost_basis = sum(Decimal(p["cost_basis"]) for p in positions)
    assert body["broker"]["ok"] is True
    assert D(body["account"]["equity"]) == Decimal(account["equity"])
    assert D(body["account"]["cash"]) == Decimal(account["cash"])
    assert D(body["account"]["buying_power"]) == Decimal(account["buying_power"])
    assert D(body["portfolio"]["unrealized_pl"]) == unrealized
    assert D(body["portfolio"]["cost_basis"]) == cost_basis
    assert D(body["portfolio"]["unrealized_pl_pct"]) == pct(unrealized, cost_basis)
    assert unrealized != 0  # the prices moved after the fills
    assert len(body["portfolio"]["positions"]) == len(positions) == 9
    assert f"${Decimal(account['equity']):,.2f}" in page
    assert f"${cost_basis:,.2f}" in page
    assert f"{'+' if unrealized > 0 else '-'}${abs(unrealized):,.2f}" in page


def test_overview_counts_trades_by_status_and_per_new_york_day(
    seeded: Database, serve_dashboard: Any
) -> None:
    rows = trades_with_filings(seeded)
    by_status: dict[str, int] = defaultdict(int)
    per_day: dict[str, int] = defaultdict(int)
    for trade, _feed in rows:
        by_status[trade.status.value] += 1
        per_day[trade.created_at.astimezone(NEW_YORK).date().isoformat()] += 1

    with serve_dashboard() as served:
        body = served.json("/api/overview")
        page = served.get("/overview").text

    assert body["trades"]["total"] == len(rows)
    assert {k: v for k, v in body["trades"]["by_status"].items() if v} == by_status
    days = {entry["day"]: entry["trades"] for entry in body["per_day"]}
    assert len(days) == 30
    assert body["newest_day"] == max(per_day)
    assert {day: n for day, n in days.items() if n} == per_day
    assert '<svg class="chart"' in page
    for day, count in per_day.items():
        assert f"<title>{day}: {count} orders</title>" in page


def test_pnl_per_member_and_party_values_each_fill_at_its_symbols_current_price(
    traded: Database, serve_dashboard: Any
) -> None:
    expected: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    parties: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for trade, feed in trades_with_filings(traded):
        if not trade.filled_qty:
            continue
        assert feed is not None
        assert feed.member_name
        assert feed.party
        assert trade.filled_avg_price is not None
        price = LATER_PRICES[trade.symbol]
        for bucket in (expected[feed.member_name], parties[feed.party.value]):
            bucket["cost"] += trade.filled_qty * trade.filled_avg_price
            bucket["value"] += trade.filled_qty * price
            bucket["trades"] += 1

    with serve_dashboard() as served:
        pnl = served.json("/api/overview")["pnl"]
        page = served.get("/overview").text

    members = {group["name"]: group for group in pnl["by_member"]}
    assert set(members) == set(expected)
    for name, sums in expected.items():
        group = members[name]
        assert group["lots"] == group["open_lots"] == sums["trades"]
        assert D(group["cost"]) == cents(sums["cost"])
        assert D(group["current_value"]) == cents(sums["value"])
        assert D(group["unrealized_pl"]) == cents(sums["value"] - sums["cost"])
        assert D(group["unrealized_pl_pct"]) == pct(sums["value"] - sums["cost"], sums["cost"])
    by_party = {group["name"]: group for group in pnl["by_party"]}
    assert set(by_party) == set(parties)
    for party, sums in parties.items():
        assert D(by_party[party]["unrealized_pl"]) == cents(sums["value"] - sums["cost"])
    everything = sum(s["value"] - s["cost"] for s in expected.values())
    assert D(pnl["total"]["unrealized_pl"]) == cents(everything)
    assert pnl["unpriced_lots"] == 0
    assert "Nancy Pelosi" in page
    assert "REPUBLICAN" in page


# -- trades --------------------------------------------------------------------------------------


def test_trades_lists_every_trade_newest_first_with_its_filing_and_its_pnl(
    traded: Database, serve_dashboard: Any
) -> None:
    rows = trades_with_filings(traded)
    with serve_dashboard() as served:
        body = served.json("/api/trades")
        page = served.get("/trades").text

    assert [t["id"] for t in body["trades"]] == [str(trade.id) for trade, _ in rows]
    assert body["matching"] == len(rows)
    for shown, (trade, feed) in zip(body["trades"], rows, strict=True):
        assert feed is not None
        assert shown["member"] == feed.member_name
        assert shown["party"] == (feed.party.value if feed.party else None)
        assert shown["filed"] == (feed.filing_date.isoformat() if feed.filing_date else None)
        assert shown["status"] == trade.status.value
        if trade.filled_qty and trade.filled_avg_price is not None:
            price = LATER_PRICES[trade.symbol]
            gain = trade.filled_qty * price - trade.filled_qty * trade.filled_avg_price
            assert D(shown["current_value"]) == cents(trade.filled_qty * price)
            assert D(shown["unrealized_pl"]) == cents(gain)
            assert D(shown["unrealized_pl_pct"]) == pct(
                gain, trade.filled_qty * trade.filled_avg_price
            )
        else:
            assert shown["unrealized_pl"] is None
    skipped = next(trade for trade, _ in rows if trade.status.value == "SKIPPED")
    assert skipped.status_reason
    assert skipped.status_reason in page
    assert "badge-filled" in page
    assert "badge-skipped" in page
    assert "9 sh" in page  # KKR bought as whole shares


def test_trades_filter_by_symbol_status_and_new_york_date_range(
    seeded: Database, serve_dashboard: Any
) -> None:
    rows = [trade for trade, _ in trades_with_filings(seeded)]
    day = date(2024, 6, 18)
    start = datetime.combine(day, time(0), NEW_YORK)
    in_range = [t for t in rows if start <= t.created_at < start + timedelta(days=1)]
    assert in_range
    assert len(in_range) < len(rows)

    with serve_dashboard() as served:
        filled = served.json("/api/trades?status=filled&limit=500")["trades"]
        amzn = served.json("/api/trades?symbol=amzn")["trades"]
        dated = served.json("/api/trades?from=2024-06-18&to=2024-06-18")["trades"]
        both = served.json("/api/trades?symbol=AMZN&status=FILLED")["trades"]
        page = served.get("/trades?status=SKIPPED").text

    assert [t["id"] for t in filled] == [str(t.id) for t in rows if t.status.value == "FILLED"]
    assert [t["id"] for t in amzn] == [str(t.id) for t in rows if t.symbol == "AMZN"]
    assert [t["id"] for t in dated] == [str(t.id) for t in in_range]
    assert {t["symbol"] for t in both} == {"AMZN"}
    assert {t["status"] for t in both} == {"FILLED"}
    skipped = sum(1 for t in rows if t.status.value == "SKIPPED")
    assert f"{skipped} matching" in page
    assert '<option value="SKIPPED" selected>' in page


def test_trades_keyset_pagination_walks_forward_to_the_end_and_back(
    seeded: Database, serve_dashboard: Any
) -> None:
    every = [str(trade.id) for trade, _ in trades_with_filings(seeded)]
    with serve_dashboard() as served:
        pages: list[dict[str, Any]] = [served.json("/api/trades?limit=4")]
        while pages[-1]["next_cursor"]:
            pages.append(served.json(f"/api/trades?limit=4&cursor={pages[-1]['next_cursor']}"))
        back = served.json(f"/api/trades?limit=4&cursor={pages[-1]['prev_cursor']}")
        first_html = served.get("/trades?limit=4").text
        last_html = served.get(f"/trades?limit=4&cursor={pages[-2]['next_cursor']}").text

    seen = [t["id"] for page in pages for t in page["trades"]]
    assert seen == every
    assert len(pages) == -(-len(every) // 4)
    assert pages[0]["prev_cursor"] is None
    assert pages[-1]["next_cursor"] is None
    assert [t["id"] for t in back["trades"]] == [t["id"] for t in pages[-2]["trades"]]
    assert f'rel="next" href="/trades?limit=4&amp;cursor={pages[0]["next_cursor"]}"' in first_html
    assert 'rel="prev"' not in first_html
    assert 'rel="next"' not in last_html
    assert 'rel="prev"' in last_html


def test_a_cursor_at_the_end_gives_an_empty_last_page(
    seeded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        everything = served.json("/api/trades?limit=500")
        one_before_end = served.json(f"/api/trades?limit={len(everything['trades']) - 1}")
        last = served.json(f"/api/trades?limit=1&cursor={one_before_end['next_cursor']}")
        beyond_cursor = _cursor_after(last["trades"][0])
        beyond = served.get(f"/api/trades?cursor={beyond_cursor}")
        beyond_page = served.get(f"/trades?cursor={beyond_cursor}")

    assert last["next_cursor"] is None
    assert beyond.status_code == 200
    assert beyond.json()["trades"] == []
    assert beyond.json()["next_cursor"] is None
    assert beyond_page.status_code == 200
    assert "No trades match" in beyond_page.text or "No trades yet" in beyond_page.text


def _cursor_after(trade: dict[str, Any]) -> str:
    import uuid

    from trading_automation.db.repositories import Cursor

    return Cursor(datetime.fromisoformat(trade["created_at"]), uuid.UUID(trade["id"])).encode()


def test_a_tampered_or_foreign_cursor_is_a_400_not_a_500(
    seeded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        real = served.json("/api/trades?limit=2")["next_cursor"]
        filings_cursor = served.json("/api/filings?limit=2")["next_cursor"]
        tampered = real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB")
        answers = {
            cursor: (
                served.get(f"/api/trades?cursor={cursor}"),
                served.get(f"/trades?cursor={cursor}"),
            )
            for cursor in (tampered, "not-a-cursor", "%00%ff", filings_cursor)
        }
        filings = served.get("/api/filings?cursor=garbage")

    for api, page in answers.values():
        assert api.status_code == 400, api.text
        assert api.json()["field"] == "cursor"
        assert page.status_code == 400
        assert "cursor" in page.text
    assert filings.status_code == 400


def test_invalid_filters_are_a_400_naming_the_parameter(
    seeded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        answers = {
            name: served.get(f"/api/trades?{query}")
            for name, query in {
                "status": "status=BOGUS",
                "from": "from=2024-13-01",
                "limit": "limit=0",
                "symbol": "symbol=%21%21",
            }.items()
        }
        reversed_range = served.get("/api/trades?from=2024-06-20&to=2024-06-18")
        page = served.get("/trades?status=BOGUS")

    for name, answer in answers.items():
        assert answer.status_code == 400
        assert answer.json()["field"] == name
    assert reversed_range.status_code == 400
    assert page.status_code == 400
    assert "status: expected one of" in page.text


# -- positions, filings, jobs --------------------------------------------------------------------


def test_positions_show_what_alpaca_holds_with_totals(
    traded: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        body = served.json("/api/positions")
        page = served.get("/positions").text
        held = {p["symbol"]: p for p in served.sandbox.broker.positions()}

    shown = {p["symbol"]: p for p in body["portfolio"]["positions"]}
    assert set(shown) == set(held)
    for symbol, position in held.items():
        for field in ("qty", "avg_entry_price", "current_price", "market_value", "cost_basis"):
            assert D(shown[symbol][field]) == Decimal(position[field]), (symbol, field)
        assert D(shown[symbol]["unrealized_pl"]) == Decimal(position["unrealized_pl"])
        assert f">{symbol}</a>" in page
    total_value = sum(Decimal(p["market_value"]) for p in held.values())
    assert D(body["portfolio"]["market_value"]) == total_value
    assert f"${total_value:,.2f}" in page


def test_filings_list_every_record_flag_the_malformed_and_say_which_were_traded(
    seeded: Database, serve_dashboard: Any
) -> None:
    with seeded.transaction(readonly=True) as uow:
        records = list(uow.session.scalars(select(CongressTradeFeed)))
        traded_keys = set(uow.session.scalars(select(Trade.source_hash)))
    malformed = {str(r.id) for r in records if r.problems}
    traded = {str(r.id) for r in records if r.source_hash in traded_keys}

    with serve_dashboard() as served:
        listed = served.json("/api/filings?limit=500")["filings"]
        only_bad = served.json("/api/filings?malformed=only&limit=500")["filings"]
        pelosi = served.json("/api/filings?member=pelosi")["filings"]
        page = served.get("/filings?malformed=only").text

    assert len(listed) == len(records)
    assert {f["id"] for f in listed if f["traded"]} == traded
    assert {f["id"] for f in only_bad} == malformed
    assert malformed
    assert all(f["problems"] for f in only_bad)
    assert pelosi
    assert all("Pelosi" in f["member"] for f in pelosi)
    assert page.count('class="malformed"') == len(malformed)
    dates = [f["filing_date"] for f in listed if f["filing_date"]]
    assert dates == sorted(dates, reverse=True)


def test_jobs_show_each_run_with_duration_summary_errors_and_the_checkpoints(
    seeded: Database, serve_dashboard: Any
) -> None:
    with seeded.transaction(readonly=True) as uow:
        runs = list(uow.session.scalars(select(JobRun).order_by(JobRun.trading_date_et.desc())))
        marks = list(uow.session.scalars(select(IngestCheckpoint)))

    with serve_dashboard() as served:
        body = served.json("/api/jobs")
        page = served.get("/jobs").text

    assert [r["trading_date_et"] for r in body["job_runs"]] == [
        r.trading_date_et.isoformat() for r in runs
    ]
    for shown, run in zip(body["job_runs"], runs, strict=True):
        assert run.started_at
        assert run.finished_at
        seconds = Decimal(str((run.finished_at - run.started_at).total_seconds()))
        assert D(shown["duration_s"]) == seconds
        minutes, rest = divmod(int(seconds), 60)
        assert seconds == int(seconds)  # the seeded runs last whole seconds, over a minute
        assert shown["duration"] == f"{minutes} min {rest} s"
        assert f"<dd>{minutes} min {rest} s</dd>" in page
        assert shown["status"] == run.status.value
        assert shown["summary"] == run.summary_json
    assert "quiver 2024-06-16: service unavailable (HTTP 503)" in page
    assert "badge-failed" in page
    assert "badge-success" in page
    assert len(body["checkpoints"]) == len(marks) > 0
    assert page.count("<tr><td>2024-06-") >= len(marks)


# -- health, empty state -------------------------------------------------------------------------


def test_health_reports_the_database_and_the_broker(seeded: Database, serve_dashboard: Any) -> None:
    with serve_dashboard(dashboard_cache_s=0) as served:
        healthy = served.get("/api/health")
        served.sandbox.alpaca.stop()
        degraded = served.get("/api/health")

    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"
    assert healthy.json()["database"]["ok"] is True
    assert healthy.json()["broker"]["ok"] is True
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded"
    assert degraded.json()["database"]["ok"] is True
    assert "unreachable" in degraded.json()["broker"]["error"]


def test_an_empty_database_reads_as_empty_not_as_an_error(
    database: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        pages = {path: served.get(path) for path in ("/overview", "/trades", "/filings", "/jobs")}
        overview = served.json("/api/overview")
        trades = served.json("/api/trades")

    assert {path: r.status_code for path, r in pages.items()} == dict.fromkeys(pages, 200)
    assert "No trades yet" in pages["/overview"].text
    assert "No open positions" in pages["/overview"].text
    assert "No trades yet" in pages["/trades"].text
    assert "No filings stored yet" in pages["/filings"].text
    assert "No job has run yet" in pages["/jobs"].text
    assert trades["trades"] == []
    assert trades["matching"] == 0
    assert overview["trades"]["total"] == 0
    assert overview["per_day"] == []
    # An empty account is a fact from Alpaca, not a missing figure.
    assert D(overview["portfolio"]["unrealized_pl"]) == 0
    assert overview["portfolio"]["positions"] == []


def test_jobs_keep_every_attempt_of_a_run_forced_again(
    traded: Database, web_sandbox: Any, serve_dashboard: Any, migrated_url: str
) -> None:
    from trading_automation.worker.open_job import OpenJob, OpenJobOptions

    settings = web_sandbox.settings(database_url=migrated_url, log_level="WARNING")
    with web_sandbox.alpaca_client() as alpaca, web_sandbox.quiver_client() as quiver:
        again = OpenJob(settings=settings, database=traded, alpaca=alpaca, quiver=quiver).run(
            OpenJobOptions(force=True, poll_budget_s=1, poll_first_delay_s=0.01)
        )
    assert again.exit_code == 0, again.lines

    with serve_dashboard() as served:
        [run] = served.json("/api/jobs")["job_runs"]
        page = served.get("/jobs").text

    first, second = run["attempts"][1], run["attempts"][0]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert first["summary"]["orders"]["submitted"] == 11
    assert sum(window["stored"] for window in first["summary"]["windows"]) > 0
    assert second["summary"]["orders"]["already_traded"] == 12
    assert second["summary"]["orders"]["submitted"] == 0
    assert page.count("<tr><td>1</td>") == 1
    assert page.count("<tr><td>2</td>") == 1
    assert first["duration"].endswith(("ms", "s"))
