"""The backtest's files: trades and equity as CSV, a self-contained HTML report, the text table."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.backtest_result_support import ALICE, BOB, fill, make_result, part, position
from trading_automation.backtest.attribution import attribution
from trading_automation.backtest.labels import METRICS
from trading_automation.backtest.metrics import benchmark_metrics, strategy_metrics
from trading_automation.backtest.report import (
    EQUITY_COLUMNS,
    TRADE_COLUMNS,
    metrics_table,
    write_reports,
)
from trading_automation.backtest.result import BacktestResult, Fill, Skip, Who
from trading_automation.domain.enums import CloseCause, OrderSide
from trading_automation.errors import InvalidArgumentError

MALLORY = Who("<script>alert(1)</script> & Co", "OTHER", "House")


def _result() -> BacktestResult:
    return make_result(
        ["1000", "1100.50", "990.45", "1210"],
        capital=1000,
        benchmark=["400", None, "404.50", "420"],
        cash=["100", "50.25", "990.45", "1210"],
        fills=[
            fill(0, OrderSide.BUY, "900", lot=1, who=ALICE),
            fill(1, OrderSide.BUY, "0.333333333", lot=2, who=MALLORY, reason="fractional"),
            fill(
                2,
                OrderSide.SELL,
                "1E+3",
                lot=1,
                who=ALICE,
                cause=CloseCause.STOP_LOSS,
                reason="fell 10%, below the stop",
            ),
        ],
        closed=[part(1, "-12.34", who=ALICE, cause=CloseCause.STOP_LOSS)],
        open_lots=[position(2, "5.67", who=MALLORY)],
        skips=[
            Skip(date(2024, 1, 2), "ZZZ", "no_bar", "no bar on 2024-01-02"),
            Skip(date(2024, 1, 3), "YYY", "max_positions", "10 positions held"),
            Skip(date(2024, 1, 4), "XXX", "no_bar", "no bar on 2024-01-04"),
        ],
        sales_without_lot=4,
    )


def _write(result: BacktestResult, directory: Path) -> tuple[Path, Path, Path]:
    files = write_reports(
        result,
        directory,
        metrics=strategy_metrics(result),
        benchmark_metrics=benchmark_metrics(result),
        attribution=attribution(result),
    )
    return files.trades, files.equity, files.html


def test_the_three_files_are_written_into_a_new_directory(tmp_path: Path) -> None:
    trades, equity, html = _write(_result(), tmp_path / "runs" / "first")

    assert [trades.name, equity.name, html.name] == ["trades.csv", "equity.csv", "report.html"]
    assert all(path.parent == tmp_path / "runs" / "first" for path in (trades, equity, html))
    assert all(path.stat().st_size > 0 for path in (trades, equity, html))


def test_the_trades_csv_reads_back_as_the_fills(tmp_path: Path) -> None:
    result = _result()
    trades, _equity, _html = _write(result, tmp_path)

    with trades.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == TRADE_COLUMNS
        rows = list(reader)

    read_back = [
        Fill(
            day=date.fromisoformat(row["day"]),
            symbol=row["symbol"],
            side=OrderSide(row["side"]),
            quantity=Decimal(row["quantity"]),
            price=Decimal(row["price"]),
            amount=Decimal(row["amount"]),
            lot=int(row["lot"]),
            who=Who(row["member"], row["party"], row["chamber"]),
            cause=CloseCause(row["cause"]) if row["cause"] else None,
            reason=row["reason"],
        )
        for row in rows
    ]
    assert read_back == result.fills
    # every digit, never an exponent
    assert rows[1]["amount"] == "0.333333333"
    assert rows[2]["amount"] == "1000"
    assert rows[2]["cause"] == "STOP_LOSS"
    assert rows[0]["cause"] == ""


def test_the_equity_csv_has_each_close_its_drawdown_and_the_benchmark(tmp_path: Path) -> None:
    _trades, equity, _html = _write(_result(), tmp_path)

    with equity.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == EQUITY_COLUMNS
        rows = list(reader)

    assert [row["day"] for row in rows] == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert [row["equity"] for row in rows] == ["1000", "1100.50", "990.45", "1210"]
    assert [row["cash"] for row in rows] == ["100", "50.25", "990.45", "1210"]
    assert [row["market_value"] for row in rows] == ["900", "1050.25", "0.00", "0"]
    # below the highest so far (the capital, 1000, then 1100.50, then 1210), exactly
    assert [row["drawdown"] for row in rows] == ["0", "0.00", "-110.05", "0"]
    assert [row["benchmark_close"] for row in rows] == ["400", "", "404.50", "420"]
    # 1000 in at 400, held: 404.50 / 400 * 1000 = 1011.25; the missing close carries 400
    assert [row["benchmark_value"] for row in rows] == ["1000.00", "1000.00", "1011.25", "1050.00"]


def test_the_html_report_is_self_contained_and_shows_everything(tmp_path: Path) -> None:
    result = _result()
    _trades, _equity, html_path = _write(result, tmp_path)

    html = html_path.read_text(encoding="utf-8")

    # no external resource: no link, no script, no src or href to another site
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html
    assert "<script" not in html.lower()
    # the dashboard's stylesheet, inlined
    assert "<style>" in html
    assert "--gain: #137333" in html
    # the dashboard's equity chart, with the benchmark's dashed line
    assert '<svg class="chart equity"' in html
    assert 'class="benchmark-line"' in html
    # the metrics' labels and a value computed by hand: 1210 / 1000 - 1
    for _key, label, _kind in METRICS:
        assert label in html, label
    assert "21.00%" in html
    # the parameters
    assert "2024-01-02 to 2024-01-05" in html
    assert "$1,000.00" in html
    assert "ab" * 32 in html
    assert "5 bps" in html
    # counts, and skips grouped by rule with the most frequent first
    assert re.search(r"Filings skipped</dt><dd>3<", html)
    assert re.search(r"Sales without an open lot</dt><dd>4<", html)
    assert html.index("<td>no_bar</td>") < html.index("<td>max_positions</td>")
    assert re.search(r'<td>no_bar</td><td class="num">2</td>', html)
    # attribution, with causes in words and a member's name escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "stop loss" in html
    assert "-$12.34" in html
    assert "+$5.67" in html


def test_a_run_without_closes_still_reports(tmp_path: Path) -> None:
    result = make_result([])

    _trades, equity, html_path = _write(result, tmp_path)

    assert equity.read_text(encoding="utf-8").strip() == ",".join(EQUITY_COLUMNS)
    html = html_path.read_text(encoding="utf-8")
    assert "No closes in the period." in html
    assert "No filing was skipped." in html
    assert "<svg" not in html


def test_a_directory_that_cannot_be_made_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "report"
    blocker.write_text("a file, not a directory", encoding="utf-8")

    with pytest.raises(InvalidArgumentError) as raised:
        _write(_result(), blocker)

    message = str(raised.value)
    assert message.startswith(f"cannot write the backtest's report into {blocker}: ")
    assert "\n" not in message


def test_the_terminal_table_aligns_strategy_and_benchmark_columns() -> None:
    result = make_result([110, 99, 121], benchmark=[100, 100, 105])

    table = metrics_table(strategy_metrics(result), benchmark_metrics(result), benchmark="SPY")

    lines = table.splitlines()
    assert len(lines) == len(METRICS) + 2
    assert len({len(line) for line in lines}) == 1  # every line as wide
    assert lines[0].split() == ["Metric", "Strategy", "SPY"]
    assert set(lines[1]) == {"-", " "}
    total = next(line for line in lines if line.startswith("Total return"))
    assert total.split()[-2:] == ["21.00%", "5.00%"]
    trades = next(line for line in lines if line.startswith("Trades"))
    assert trades.split()[-2:] == ["0", "1"]
    win = next(line for line in lines if line.startswith("Win rate"))
    assert win.split()[-2:] == ["n/a", "n/a"]
    # right-aligned figures end in the same column
    assert lines[2].rstrip().endswith("5.00%")


def test_the_csv_keeps_names_as_they_are(tmp_path: Path) -> None:
    trades, _equity, _html = _write(_result(), tmp_path)

    assert "<script>alert(1)</script> & Co" in trades.read_text(encoding="utf-8")


def test_the_report_reads_the_open_lots_into_the_attribution(tmp_path: Path) -> None:
    result = make_result([100], open_lots=[position(7, "-3.21", who=BOB)])

    _trades, _equity, html_path = _write(result, tmp_path)

    html = html_path.read_text(encoding="utf-8")
    assert "still open" in html
    assert "-$3.21" in html
