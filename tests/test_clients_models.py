"""Parsing odd Alpaca payloads: nulls, missing fields, 9-decimal strings, nanoseconds, extras."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import httpx
import pytest
from pydantic import ValidationError

from trading_automation.clients.errors import (
    AuthenticationError,
    InsufficientBuyingPowerError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    ValidationRefusedError,
    error_from_response,
    retry_after_seconds,
)
from trading_automation.clients.models import Account, CalendarDay, Clock, LatestTrade, Position
from trading_automation.domain.jsonvalues import loads


def test_numeric_strings_with_nine_decimals_stay_exact() -> None:
    position = Position.model_validate(
        {"symbol": "NVDA", "qty": "4.180203894", "avg_entry_price": "239.225", "side": "long"}
    )

    assert position.qty == Decimal("4.180203894")
    assert position.avg_entry_price == Decimal("239.225")


def test_json_numbers_become_the_decimals_that_were_written() -> None:
    trade = LatestTrade.model_validate({"symbol": "X", "trade": {"p": 0.1, "s": 3}})

    assert trade.price == Decimal("0.1")
    assert trade.size == Decimal(3)


def test_exactly_parsed_json_numbers_pass_through_every_model_unchanged() -> None:
    trade = LatestTrade.model_validate(
        loads('{"symbol": "X", "trade": {"p": 123456789.123456789, "s": 100, "i": 52983525029}}')
    )
    position = Position.model_validate(loads('{"symbol": "X", "qty": 4.180203894123456789}'))
    account = Account.model_validate(loads('{"id": "a", "cash": 1e-9, "crypto_tier": 1.5}'))

    assert trade.price == Decimal("123456789.123456789")
    assert (trade.size, trade.trade_id) == (Decimal(100), 52983525029)
    assert position.qty == Decimal("4.180203894123456789")
    assert account.cash == Decimal("1E-9")
    assert account.model_extra == {"crypto_tier": Decimal("1.5")}


def test_missing_and_empty_optional_fields_are_none_and_extras_are_kept() -> None:
    account = Account.model_validate(
        {
            "id": "a-1",
            "cash": "",
            "buying_power": None,
            "created_at": "",
            "crypto_tier": 1,
            "options_level": None,
        }
    )

    assert account.cash is None
    assert account.created_at is None
    assert account.buying_power is None
    assert account.equity is None
    assert account.model_extra == {"crypto_tier": 1, "options_level": None}


def test_nanosecond_timestamps_with_offsets_become_aware_utc_datetimes() -> None:
    clock = Clock.model_validate(
        {
            "timestamp": "2024-06-20T09:30:00.412315627-04:00",
            "is_open": True,
            "next_open": "2024-06-21T09:30:00-04:00",
            "next_close": "2024-06-20T16:00:00-04:00",
        }
    )

    assert clock.timestamp == datetime(2024, 6, 20, 13, 30, 0, 412315, tzinfo=UTC)
    assert clock.timestamp.utcoffset() is not None
    assert clock.next_close.tzinfo is UTC


def test_a_clock_without_its_required_fields_is_refused() -> None:
    with pytest.raises(ValidationError, match="is_open"):
        Clock.model_validate({"timestamp": "2024-06-20T13:30:00Z"})


def test_calendar_wall_clock_times_become_instants_across_daylight_saving() -> None:
    summer = CalendarDay.model_validate({"date": "2024-06-20", "open": "09:30", "close": "16:00"})
    winter = CalendarDay.model_validate(
        {"date": "2024-12-24", "open": "09:30", "close": "13:00", "session_close": "1700"}
    )

    assert summer.open_at == datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    assert winter.open_at == datetime(2024, 12, 24, 14, 30, tzinfo=UTC)
    assert winter.close_at == datetime(2024, 12, 24, 18, 0, tzinfo=UTC)
    assert winter.session_close == time(17, 0)
    assert winter.session_open is None
    assert winter.settlement_date is None
    assert winter.date == date(2024, 12, 24)
    assert winter.is_early_close
    assert not summer.is_early_close


def test_a_latest_trade_without_a_trade_object_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an object"):
        LatestTrade.model_validate({"symbol": "X", "trade": None})


def response(status: int, body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers)


BUYING_POWER = b'{"code": 40310000, "message": "insufficient buying power"}'
PDT = b'{"code": 40310000, "message": "trade denied due to pattern day trading protection"}'


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (422, b'{"code": 40010001, "message": "qty must be integer"}', ValidationRefusedError),
        (403, BUYING_POWER, InsufficientBuyingPowerError),
        (403, PDT, AuthenticationError),
        (401, b'{"code": 40110000, "message": "request is not authorized"}', AuthenticationError),
        (429, b"rate limit exceeded", RateLimitedError),
        (504, b"<html>gateway timeout</html>", ServiceUnavailableError),
        (409, b"", UnexpectedResponseError),
    ],
)
def test_statuses_map_to_the_error_a_caller_can_act_on(
    status: int, body: bytes, expected: type[Exception]
) -> None:
    error = error_from_response(
        response(status, body, **{"X-Request-ID": "req-7"}),
        service="alpaca",
        method="POST",
        path="/v2/orders",
    )

    assert type(error) is expected
    assert error.status_code == status
    assert error.request_id == "req-7"
    assert "alpaca POST /v2/orders" in str(error)


def test_alpacas_code_and_message_are_kept_on_the_error() -> None:
    error = error_from_response(
        response(422, b'{"code": 40010001, "message": "client_order_id must be unique"}'),
        service="alpaca",
        method="POST",
        path="/v2/orders",
    )

    assert (error.code, error.api_message) == (40010001, "client_order_id must be unique")
    assert "client_order_id must be unique" in str(error)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("-4", 0.0), ("soon", None), ("", None)],
)
def test_retry_after_seconds_are_read_from_the_header(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(response(429, b"", **{"Retry-After": header})) == seconds


def test_retry_after_may_be_an_http_date() -> None:
    past = retry_after_seconds(
        response(503, b"", **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )

    assert past == 0.0
