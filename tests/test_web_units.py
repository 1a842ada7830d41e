"""The dashboard's pure parts: exact P&L, SVG charts, token buckets, JSON values, the socket."""

from __future__ import annotations

import re
import socket
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from trading_automation.domain.enums import Party, TradeStatus
from trading_automation.domain.money import cents
from trading_automation.web import charts
from trading_automation.web.jsonout import jsonable
from trading_automation.web.pnl import Pnl, fill_pnl, percent, total
from trading_automation.web.security import TokenBuckets
from trading_automation.web.server import bind


def test_fill_pnl_is_exact_beyond_the_default_decimal_precision() -> None:
    qty = Decimal("123456789.123456789")
    paid = Decimal("987654321.987654321")
    now = Decimal("987654321.987654322")

    result = fill_pnl(qty, paid, now)

    assert result is not None
    # One nano-dollar per share: the default 28-digit context would round this away.
    assert result.pnl == Decimal("0.123456789123456789")
    assert qty * now - qty * paid != result.pnl  # what the default context would have said


def test_a_trade_without_fills_or_without_a_price_has_no_pnl() -> None:
    assert fill_pnl(None, Decimal(1), Decimal(1)) is None
    assert fill_pnl(Decimal(0), Decimal(1), Decimal(1)) is None
    assert fill_pnl(Decimal(1), None, Decimal(1)) is None
    assert fill_pnl(Decimal(1), Decimal(1), None) is None


def test_sums_add_exact_values_and_round_only_when_shown() -> None:
    thirds = [Pnl(cost=Decimal("1"), value=Decimal("1.005")) for _ in range(3)]

    summed = total(thirds)

    assert summed is not None
    assert summed.trades == 3
    assert summed.pnl == Decimal("0.015")
    assert cents(summed.pnl) == Decimal("0.02")  # rounding each first would give 0.03
    assert summed.pnl_pct == Decimal("0.50")
    assert total([]) is None


def test_percent_of_nothing_is_none_not_zero() -> None:
    assert percent(Decimal(5), Decimal(0)) is None
    assert percent(Decimal(-1), Decimal(3)) == Decimal("-33.33")


def test_the_pnl_chart_draws_losses_left_and_gains_right_of_zero() -> None:
    svg = str(charts.pnl_by_position([("AAPL", Decimal("-10")), ("MSFT", Decimal("20"))]))

    zero = float(re.search(r'<line class="axis" x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    bars = re.findall(
        r'<g class="bar (\w+)">.*?<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg
    )
    (loss_tone, loss_x, loss_w), (gain_tone, gain_x, gain_w) = bars
    assert (loss_tone, gain_tone) == ("loss", "gain")
    assert abs(float(loss_x) + float(loss_w) - zero) < 0.11
    assert abs(float(gain_x) - zero) < 0.11
    assert abs(float(gain_w) - 2 * float(loss_w)) < 0.2
    assert "<title>AAPL: -$10.00</title>" in svg
    assert "<title>MSFT: +$20.00</title>" in svg


def test_chart_text_is_escaped() -> None:
    svg = str(charts.pnl_by_position([("<script>", Decimal(1))]))

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_the_orders_chart_draws_bars_in_proportion_and_labels_the_peak() -> None:
    days = [(date(2024, 6, 17), 2), (date(2024, 6, 18), 0), (date(2024, 6, 19), 4)]

    svg = str(charts.orders_per_day(days))

    heights = [float(h) for h in re.findall(r'height="([\d.]+)"/></g>', svg)]
    assert heights[1] == 0
    assert abs(heights[2] - 2 * heights[0]) < 0.1
    assert "<title>2024-06-19: 4 orders</title>" in svg
    assert ">4</text>" in svg
    assert charts.orders_per_day([]) == ""


def test_token_buckets_allow_the_rate_then_refill_one_token_at_a_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(6, clock=lambda: now[0])  # one token every 10 s

    first = [buckets.take("a") for _ in range(6)]
    refused = buckets.take("a")
    other = buckets.take("b")
    now[0] = 10.0
    refilled = buckets.take("a")
    empty_again = buckets.take("a")

    assert first == [None] * 6
    assert refused == 10.0
    assert other is None
    assert refilled is None
    assert empty_again == 10.0


def test_json_values_keep_decimals_exact_and_dates_iso() -> None:
    value = {
        "price": Decimal("182.810000000"),
        "at": datetime(2024, 6, 20, 13, 30, tzinfo=UTC),
        "day": date(2024, 6, 20),
        "status": TradeStatus.FILLED,
        "party": Party.DEMOCRAT,
        "id": uuid.UUID(int=1),
        "rows": (Decimal("1E+3"),),
    }

    assert jsonable(value) == {
        "price": "182.810000000",
        "at": "2024-06-20T13:30:00+00:00",
        "day": "2024-06-20",
        "status": "FILLED",
        "party": "DEMOCRAT",
        "id": "00000000-0000-0000-0000-000000000001",
        "rows": ["1000"],
    }


def test_the_listening_socket_is_tcp_so_responses_are_not_held_back_by_nagle() -> None:
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_waiting_on_a_bucket_takes_nothing() -> None:
    now = [0.0]
    buckets = TokenBuckets(2, clock=lambda: now[0])

    assert buckets.wait("a") is None
    buckets.take("a")
    buckets.take("a")
    assert buckets.wait("a") == 30.0
    assert buckets.wait("a") == 30.0
    now[0] = 30.0
    assert buckets.wait("a") is None
    assert buckets.take("a") is None
