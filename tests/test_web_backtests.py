"""The Backtests pages and their JSON twins, served for real on SQLite and PostgreSQL: the runs
stored, one run's curve against its benchmark, its metrics and attribution. Expected figures are
computed here from the stored run, never taken from the dashboard's code."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from markupsafe import escape

from tests.backtest_samples import (
    BENCHMARK_METRICS,
    DAYS,
    METRICS,
    PARAMETERS,
    SHA,
    STRATEGY_JSON,
    attribution,
    sample_result,
)
from trading_automation.backtest.labels import METRICS as METRIC_LABELS
from trading_automation.backtest.result import EquityDay
from trading_automation.db.database import Database
from trading_automation.web.backtest_views import equity_points

NOW = datetime(2024, 6, 20, 21, 0, tzinfo=UTC)
CAPITAL = Decimal("100000.00")
CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _usd(value: Decimal) -> str:
    shown = _cents(value)
    return f"-${-shown:,.2f}" if shown < 0 else f"${shown:,.2f}"


def _save(
    database: Database,
    *,
    created_at: datetime = NOW,
    member: str = "Nancy Pelosi",
    metrics: dict[str, Any] | None = None,
) -> uuid.UUID:
    with database.transaction() as uow:
        return uow.backtests.save(
            sample_result(),
            metrics=METRICS if metrics is None else metrics,
            benchmark_metrics=BENCHMARK_METRICS,
            attribution=attribution(member),
            strategy_json=STRATEGY_JSON,
            parameters=PARAMETERS,
            created_at=created_at,
        )


def test_no_run_stored_shows_an_empty_list_and_the_nav_links_the_page(
    database: Database, serve_dashboard: Any
) -> None:
    with serve_dashboard() as served:
        body = served.json("/api/backtests")
        page = served.get("/backtests")
        overview = served.get("/overview").text

    assert body == {"runs": [], "filters": {}}
    assert page.status_code == 200
    assert "No backtest stored yet" in page.text
    assert '<a href="/backtests" class="active" aria-current="page">Backtests</a>' in page.text
    assert '<a href="/backtests">Backtests</a>' in overview


def test_stored_runs_are_listed_newest_first_with_their_headline_figures(
    database: Database, serve_dashboard: Any
) -> None:
    older = _save(database, created_at=NOW - timedelta(days=1), metrics={})
    newer = _save(database)

    with serve_dashboard() as served:
        body = served.json("/api/backtests")
        page = served.get("/backtests").text
        limited = served.json("/api/backtests?limit=1")

    assert [run["id"] for run in body["runs"]] == [str(newer), str(older)]
    assert [run["id"] for run in limited["runs"]] == [str(newer)]
    assert limited["filters"] == {"limit": "1"}
    run = body["runs"][0]
    assert run["created_at"] == NOW.isoformat()
    assert (run["period_from"], run["period_to"]) == ("2024-01-02", "2024-01-05")
    assert Decimal(run["capital"]) == CAPITAL
    assert Decimal(run["final_equity"]) == Decimal("101100.75")
    assert run["total_return"] == METRICS["total_return"]
    assert (run["sharpe"], run["max_drawdown"]) == (1.5, -0.02944)
    assert (run["strategy_sha256"], run["fills"]) == (SHA, 2)
    # As the page shows them: percentages and ratios with two decimals.
    assert (run["total_return_shown"], run["sharpe_shown"]) == ("1.10%", "1.50")
    assert run["max_drawdown_shown"] == "-2.94%"
    assert body["runs"][1]["total_return"] is None
    assert body["runs"][1]["total_return_shown"] == "n/a"
    row = page[page.index(f'<tr id="run-{newer}">') :]
    row = row[: row.index("</tr>")]
    for shown in (
        "2024-01-02 to 2024-01-05",
        "$100,000.00",
        "$101,100.75",
        "1.10%",
        "1.50",
        "-2.94%",
        f">{SHA[:12]}</code>",
        f'href="/backtests/{newer}"',
    ):
        assert shown in row
    assert page.index(str(newer)) < page.index(str(older))


def _expected_curve() -> list[dict[str, Any]]:
    """Equity, drawdown from the highest equity so far (the capital first), and the benchmark
    bought with the capital at its first close and held, the last close carried forward."""
    points = []
    peak, base, close = CAPITAL, None, None
    for day in DAYS:
        equity = day.cash + day.market_value
        peak = max(peak, equity)
        if day.benchmark_close is not None:
            close = day.benchmark_close
            base = base or close
        held = _cents(CAPITAL * close / base) if base and close else None
        points.append(
            {"day": day.day.isoformat(), "equity": equity, "drawdown": equity - peak, "held": held}
        )
    return points


def test_a_run_shows_its_curve_against_the_benchmark_its_metrics_and_attribution(
    database: Database, serve_dashboard: Any
) -> None:
    run_id = _save(database)

    with serve_dashboard() as served:
        body = served.json(f"/api/backtests/{run_id}")
        response = served.get(f"/backtests/{run_id}")
    page = response.text

    assert response.status_code == 200
    assert body["id"] == str(run_id)
    assert (Decimal(body["slippage_bps"]), Decimal(body["risk_free_rate"])) == (
        Decimal("2.5"),
        Decimal("0.0425"),
    )
    assert body["strategy"] == STRATEGY_JSON
    assert body["parameters"] == PARAMETERS
    assert (body["fills"], body["skips"], body["benchmark"]) == (2, 1, "SPY")
    # The curve, exact to the cent, and as the chart labels each close.
    expected = _expected_curve()
    assert [
        {
            "day": p["day"],
            "equity": Decimal(p["equity"]),
            "drawdown": Decimal(p["drawdown"]),
            "held": None if p["benchmark"] is None else Decimal(p["benchmark"]),
        }
        for p in body["curve"]
    ] == expected
    assert expected[2]["drawdown"] == Decimal("-450.25")
    assert expected[1]["held"] == CAPITAL  # no bar that day: the last close carried forward
    assert '<svg class="chart equity"' in page
    assert 'class="benchmark-line"' in page
    for point in expected:
        label = f"{point['day']}: {_usd(point['equity'])}, drawdown {_usd(point['drawdown'])}"
        assert f"<title>{label}</title>" in page
    held = expected[-1]["held"]
    assert Decimal(body["benchmark_final"]) == held
    assert Decimal(body["benchmark_change"]) == held - CAPITAL
    assert Decimal(body["max_drawdown"]) == Decimal("-450.25")
    assert Decimal(body["change"]) == Decimal("1100.75")
    assert "+$1,100.75" in page
    # Every metric's label, with the values the JSON twin gives, in the page's table.
    assert [row["label"] for row in body["metric_rows"]] == [
        label for _k, label, _f in METRIC_LABELS
    ]
    assert body["metrics"] == METRICS
    assert body["benchmark_metrics"] == BENCHMARK_METRICS
    shown = {row["label"]: (row["strategy"], row["benchmark"]) for row in body["metric_rows"]}
    assert shown["Total return"] == ("1.10%", "1.04%")
    assert shown["Sortino ratio"] == ("n/a", "n/a")
    assert shown["Trades (fills)"] == ("2", "1")
    assert shown["Maximum drawdown length (trading days)"] == ("2.0", "n/a")
    for row in body["metric_rows"]:
        assert (
            f'<tr><td>{escape(row["label"])}</td><td class="num">{row["strategy"]}</td>'
            f'<td class="num">{row["benchmark"]}</td></tr>'
        ) in page
    # The attribution tables, in order, with their money exact.
    tables = {table["key"]: table for table in body["attribution"]}
    assert list(tables) == ["member", "party", "chamber", "exit_cause"]
    for key, rows in attribution().items():
        [row] = tables[key]["rows"]
        assert row["name"] == rows[0]["name"]
        assert Decimal(row["realized"]) == Decimal(rows[0]["realized"])
        assert Decimal(row["pnl"]) == Decimal(rows[0]["pnl"])
        assert row["lots"] == rows[0]["lots"]
        assert f'<div id="attribution-{key}">' in page
    assert tables["exit_cause"]["rows"][0]["label"] == "mirrored sale: the member sold"
    assert "mirrored sale: the member sold" in page
    assert "Nancy Pelosi" in page
    assert "max_holding_days" in page  # the strategy in effect
    assert "exits.max_holding_days" in page  # the other parameters


def test_an_unknown_run_is_a_404_and_a_malformed_id_a_400_naming_it(
    database: Database, serve_dashboard: Any
) -> None:
    _save(database)
    unknown = uuid.uuid4()

    with serve_dashboard() as served:
        missing_page = served.get(f"/backtests/{unknown}")
        missing_api = served.get(f"/api/backtests/{unknown}")
        malformed_page = served.get("/backtests/not-a-run")
        malformed_api = served.get("/api/backtests/12345")
        nested = served.get(f"/backtests/{unknown}/more")

    assert missing_page.status_code == missing_api.status_code == 404
    assert f"no backtest run has the id {unknown}" in missing_page.text
    assert missing_api.json() == {"error": f"no backtest run has the id {unknown}"}
    assert malformed_page.status_code == malformed_api.status_code == 400
    assert "expected a backtest run&#39;s id (a UUID), got &#39;not-a-run&#39;" in (
        malformed_page.text
    )
    assert malformed_api.json()["field"] == "id"
    assert nested.status_code == 404
    assert "<h1>404</h1>" in nested.text


def test_a_member_name_holding_markup_is_shown_as_text(
    database: Database, serve_dashboard: Any
) -> None:
    run_id = _save(database, member="<b>x</b>")

    with serve_dashboard() as served:
        page = served.get(f"/backtests/{run_id}").text
        body = served.json(f"/api/backtests/{run_id}")

    assert "<b>x</b>" not in page
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page
    assert body["attribution"][0]["rows"][0]["name"] == "<b>x</b>"


def test_the_benchmark_starts_at_its_first_close_and_carries_its_last_close_forward() -> None:
    days = [
        EquityDay(date(2024, 1, 2), Decimal(1000), Decimal(0), None),
        EquityDay(date(2024, 1, 3), Decimal(900), Decimal(50), Decimal("0")),
        EquityDay(date(2024, 1, 4), Decimal(900), Decimal(80), Decimal("200")),
        EquityDay(date(2024, 1, 5), Decimal(900), Decimal(120), None),
        EquityDay(date(2024, 1, 8), Decimal(900), Decimal(90), Decimal("201.003")),
    ]

    points = equity_points(days, Decimal(1000))

    # No close yet, then a zero close (nothing can be bought at it), then bought at 200.
    assert [p.benchmark for p in points] == [
        None,
        None,
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("1005.02"),  # 1000 x 201.003 / 200 = 1005.015, half-up
    ]
    assert [p.equity for p in points] == [Decimal(v) for v in (1000, 950, 980, 1020, 990)]
    assert [p.drawdown for p in points] == [Decimal(v) for v in (0, -50, -20, 0, -30)]
