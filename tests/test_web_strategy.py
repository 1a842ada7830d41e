"""The dashboard's view of the strategy: the file in effect, skips per rule, and the filings page
filtered by decision with amendments marked. Served for real, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import quiver_record
from tests.test_strategy_job import SKIPPED, STRATEGY
from trading_automation.db import CongressTradeFeed, Database, FilingSkip, Trade
from trading_automation.domain.filings import normalize_record
from trading_automation.sandbox import Sandbox
from trading_automation.worker.open_job import OpenJob, OpenJobOptions

# A later filing of Nancy Pelosi's AAPL purchase (traded 2024-06-14, first filed 2024-06-20).
AMENDMENT = quiver_record(
    Ticker="AAPL",
    Name="Nancy Pelosi",
    Traded="2024-06-14",
    Filed="2024-06-21",
    Trade_Size_USD="1000001.0",
)


@pytest.fixture
def strategy_path(tmp_path: Path) -> Path:
    path = tmp_path / "strategy.toml"
    path.write_text(STRATEGY)
    return path


@pytest.fixture
def decided(
    database: Database, web_sandbox: Sandbox, migrated_url: str, strategy_path: Path
) -> Database:
    """A run with the strategy, then an amendment of a bought filing stored by a later fetch."""
    settings = web_sandbox.settings(
        database_url=migrated_url, log_level="WARNING", strategy_file=str(strategy_path)
    )
    with web_sandbox.alpaca_client() as alpaca, web_sandbox.quiver_client() as quiver:
        result = OpenJob(settings=settings, database=database, alpaca=alpaca, quiver=quiver).run(
            OpenJobOptions(poll_budget_s=15, poll_first_delay_s=0.01)
        )
    assert result.exit_code == 0, result.lines
    with database.transaction() as uow:
        uow.feed.store_filings([normalize_record(AMENDMENT)])
    return database


def _ids(database: Database, query: Any) -> set[str]:
    with database.transaction(readonly=True) as uow:
        return {str(value) for value in uow.session.scalars(query)}


def test_the_overview_shows_the_strategy_in_effect_and_the_skips_per_rule(
    decided: Database, serve_dashboard: Any, strategy_path: Path
) -> None:
    digest = hashlib.sha256(strategy_path.read_bytes()).hexdigest()

    with serve_dashboard(strategy_file=str(strategy_path)) as served:
        body = served.json("/api/overview")["strategy"]
        page = served.get("/overview").text

    assert body["file"] == str(strategy_path)
    assert body["sha256"] == digest
    assert body["latest_run_sha256"] is None  # the run used this same file
    assert body["skips_by_rule"] == SKIPPED
    assert "Whom: every member; never Kevin Hern" in body["lines"]
    assert (
        "How much: $500.00 x the disclosed size's multiplier (3 brackets), from $1.00 to "
        in (body["lines"][2])
    )
    assert digest[:12] in page
    assert '<tr><td><code>filings.max_report_lag_days</code></td><td class="num">6</td></tr>' in (
        page
    )


def test_without_a_strategy_file_the_overview_says_so(
    decided: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        body = served.json("/api/overview")["strategy"]
        page = served.get("/overview").text

    assert body["file"] is None
    assert body["latest_run_sha256"] is not None  # the latest run used a file this one lacks
    assert "No strategy file: TRADE_NOTIONAL_USD for every BUY filing" in page
    assert body["lines"][3] == "Limits: none"


def test_the_filings_page_filters_by_decision_and_marks_amendments(
    decided: Database, serve_dashboard: Any
) -> None:
    skipped = _ids(
        decided,
        select(CongressTradeFeed.id).join(
            FilingSkip, FilingSkip.source_hash == CongressTradeFeed.source_hash
        ),
    )
    traded = _ids(
        decided,
        select(CongressTradeFeed.id).join(
            Trade, Trade.source_hash == CongressTradeFeed.source_hash
        ),
    )
    amendment = _ids(
        decided, select(CongressTradeFeed.id).where(CongressTradeFeed.amends_id.is_not(None))
    )

    with serve_dashboard() as served:
        listed = {
            choice: served.json(f"/api/filings?decision={choice}&limit=500")["filings"]
            for choice in ("skipped", "traded", "amendment", "undecided")
        }
        page = served.get("/filings?decision=amendment").text
        skipped_page = served.get("/filings?decision=skipped&ticker=NVDA").text
        refused = served.get("/api/filings?decision=maybe")

    assert len(skipped) == 9
    assert len(traded) == 3
    assert len(amendment) == 1
    assert {f["id"] for f in listed["skipped"]} == skipped
    assert {f["id"] for f in listed["traded"]} == traded
    assert {f["id"] for f in listed["amendment"]} == amendment
    # The amendment was stored after the run: no run has decided it yet.
    assert {f["id"] for f in listed["undecided"]} == amendment
    [shown] = listed["amendment"]
    assert shown["amends_filed"] == "2024-06-20"
    assert {f["skip_rule"] for f in listed["skipped"]} == set(SKIPPED)
    assert "amendment</span> of the filing of 2024-06-20" in page
    assert "filed 8 days after the trade; max_report_lag_days is 7" in skipped_page
    assert refused.status_code == 400
    assert refused.json()["field"] == "decision"
