"""The overview's equity curve from the close-job's snapshots, with its drawdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from trading_automation.db import Database
from trading_automation.domain.bars import PriceBarRow
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
    assert "No benchmark is drawn: no SPY bar is stored on or before 2024-06-17" in page
    assert all(point["spy"] is None for point in curve["points"])
    assert curve["spy_change"] is None
    assert "benchmark-line" not in page


def _spy(database: Database, closes: dict[date, str]) -> None:
    with database.transaction() as uow:
        uow.prices.store(
            [
                PriceBarRow("SPY", day, *(Decimal(close),) * 4, 1000, "all")
                for day, close in closes.items()
            ],
            fetched_at=T0,
        )


def test_the_curve_is_drawn_against_spy_bought_with_the_first_equity_and_held(
    database: Database, serve_dashboard: Callable[..., Any]
) -> None:
    _snapshots(database, EQUITY)  # closes of 2024-06-17 to 06-21
    # The close in force on 06-17 is the Friday before's; 06-19 (a holiday) has no bar and
    # keeps 06-18's; a bar after the last snapshot is not used.
    _spy(
        database,
        {
            date(2024, 6, 14): "400",
            date(2024, 6, 18): "404",
            date(2024, 6, 20): "396",
            date(2024, 6, 21): "410.5",
            date(2024, 6, 24): "900",
        },
    )

    with serve_dashboard() as served:
        page = served.get("/overview").text
        curve = served.json("/api/overview")["equity"]

    # 100,000 dollars of SPY at 400: 250 shares, valued at each close in force.
    assert [p["spy"] for p in curve["points"]] == [
        "100000.00",
        "101000.00",
        "101000.00",
        "99000.00",
        "102625.00",
    ]
    assert curve["spy_change"] == "2625.00"
    assert curve["spy_change_pct"] == "2.63"
    assert '<polyline class="benchmark-line"' in page
    assert "SPY held since 2024-06-17</dt><dd>+$2,625.00 (+2.63%)" in page
    assert "The dashed line is SPY bought with the first close" in page


def test_spy_bars_that_start_after_the_first_close_draw_no_benchmark(
    database: Database, serve_dashboard: Callable[..., Any]
) -> None:
    _snapshots(database, EQUITY)
    _spy(database, {date(2024, 6, 18): "404"})

    with serve_dashboard() as served:
        curve = served.json("/api/overview")["equity"]

    assert curve["spy_change"] is None
    assert {point["spy"] for point in curve["points"]} == {None}


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
    assert "benchmark-line" not in svg


def test_the_benchmark_widens_the_scale_and_skips_unknown_days() -> None:
    points = [
        (date(2024, 6, 17), Decimal(100), Decimal(0)),
        (date(2024, 6, 18), Decimal(110), Decimal(0)),
    ]

    svg = str(equity_curve(points, [None, Decimal(200)]))

    assert "$200.00" in svg  # the top of the scale is the benchmark's high
    [line] = [part for part in svg.split("<polyline") if 'class="benchmark-line"' in part]
    assert line.split('points="')[1].split('"')[0].count(",") == 1  # one known point
    assert "dashed: SPY held" in svg


def test_a_single_close_is_drawn_in_the_middle_without_dividing_by_zero() -> None:
    svg = str(equity_curve([(date(2024, 6, 17), Decimal(100), Decimal(0))]))

    assert svg.count("<circle") == 1
    assert "2024-06-17" in svg
