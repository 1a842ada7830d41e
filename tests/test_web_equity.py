"""The overview's equity curve from the close-job's snapshots, with its drawdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from trading_automation.db import Database
from trading_automation.web.charts import equity_curve

T0 = datetime(2024, 6, 20, 20, 30, tzinfo=UTC)
EQUITY = ["100000.00", "101000.00", "99990.00", "100500.00", "102000.00"]


def _snapshots(database: Database, values: list[str]) -> None:
    with database.transaction() as uow:
        for offset, value in enumerate(values):
            day = date(2024, 6, 17) + timedelta(days=offset)
            uow.snapshots.upsert(
                day,
                taken_at=T0 + timedelta(days=offset),
                equity=Decimal(value),
                cash=Decimal(0),
                long_market_value=Decimal(value),
                day_pl=None,
                realized_pl=Decimal(0),
                positions=[],
                now=T0,
            )


def test_the_overview_draws_equity_and_drawdown_from_the_snapshots(
    database: Database, serve_dashboard: Callable[..., Any]
) -> None:
    _snapshots(database, EQUITY)

    with serve_dashboard() as served:
        page = served.get("/overview").text
        api = served.json("/api/overview")

    curve = api["equity"]
    assert [p["equity"] for p in curve["points"]] == [
        "100000.00",
        "101000.00",
        "99990.00",
        "100500.00",
        "102000.00",
    ]
    assert [p["drawdown"] for p in curve["points"]] == [
        "0.00",
        "0.00",
        "-1010.00",
        "-500.00",
        "0.00",
    ]
    assert curve["max_drawdown"] == "-1010.00"
    assert curve["max_drawdown_pct"] == "-1.00"
    assert curve["change"] == "2000.00"
    assert curve["peak"] == "102000.00"
    assert '<section id="equity">' in page
    assert "<title>2024-06-19: $99,990.00, drawdown -$1,010.00</title>" in page
    assert "Largest drawdown</dt><dd>-$1,010.00 (-1.00%)" in page
    assert "No benchmark is drawn" in page


def test_before_the_first_close_the_overview_says_how_the_curve_starts(
    database: Database, serve_dashboard: Callable[..., Any]
) -> None:
    with serve_dashboard() as served:
        page = served.get("/overview").text
        api = served.json("/api/overview")

    assert api["equity"] is None
    assert "No closes yet: the close-job snapshots the account" in page


def test_the_chart_scales_the_line_and_the_drawdown_and_escapes_its_labels() -> None:
    points = [
        (date(2024, 6, 17), Decimal(100), Decimal(0)),
        (date(2024, 6, 18), Decimal(50), Decimal(-50)),
        (date(2024, 6, 19), Decimal(150), Decimal(0)),
    ]

    svg = str(equity_curve(points))

    assert svg.startswith('<svg class="chart equity"')
    assert '<polyline class="equity-line" points="96.0,' in svg
    assert "$150.00" in svg
    assert "-$50.00" in svg
    assert svg.count("<circle") == 3
    assert str(equity_curve([])) == ""


def test_a_single_close_is_drawn_in_the_middle_without_dividing_by_zero() -> None:
    svg = str(equity_curve([(date(2024, 6, 17), Decimal(100), Decimal(0))]))

    assert svg.count("<circle") == 1
    assert "2024-06-17" in svg
