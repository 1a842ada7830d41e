"""The Quiver client against the sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.sandbox_support import FAST_RETRY
from trading_automation import fixtures
from trading_automation.clients import (
    AuthenticationError,
    QuiverClient,
    ServiceUnavailableError,
    UnexpectedResponseError,
)
from trading_automation.config import load_settings
from trading_automation.domain.jsonvalues import loads
from trading_automation.errors import ConfigurationError
from trading_automation.sandbox import Fault, Sandbox

DAY = date(2024, 6, 18)


def test_a_day_of_records_comes_back_exactly_as_published(
    sandbox: Sandbox, quiver: QuiverClient
) -> None:
    records = quiver.congress_trading(DAY)

    assert records == loads(fixtures.quiver_day_body(DAY))
    assert records == fixtures.quiver_day(DAY), "the fixture loader parses like the client"
    assert records[0]["excess_return"] == Decimal("4.02")
    assert records[4] == records[5], "duplicates are kept: the repository decides"
    assert sandbox.quiver.requests()[0].query == {"date": "20240618"}
    assert sandbox.quiver.requests()[0].path == "/beta/bulk/congresstrading"


def test_a_number_with_eighteen_significant_digits_survives_exactly(
    sandbox: Sandbox, quiver: QuiverClient
) -> None:
    sandbox.quiver.set_day(
        DAY, b'[{"Ticker": "AAPL", "excess_return": 123456789.123456789, "Trade_Size_USD": 15001}]'
    )

    [record] = quiver.congress_trading(DAY)

    assert record["excess_return"] == Decimal("123456789.123456789")
    assert record["Trade_Size_USD"] == 15001
    assert type(record["Trade_Size_USD"]) is int


def test_unicode_names_and_odd_values_survive_untouched(quiver: QuiverClient) -> None:
    names = {record.get("Name") for record in quiver.congress_trading(DAY)}
    upload = quiver.congress_trading(date(2024, 6, 20))

    assert "Zoë Lofgren" in names
    assert "Nydia M. Velázquez" in names
    assert any("Ticker" not in record for record in upload)
    assert any(record["Filed"] == "N/A" for record in upload)


@pytest.mark.parametrize("body", [b"", b"null", b"  null\n", b"[]"])
def test_an_empty_or_null_body_is_an_empty_day(
    sandbox: Sandbox, quiver: QuiverClient, body: bytes
) -> None:
    sandbox.quiver.set_day(DAY, body)

    assert quiver.congress_trading(DAY) == []


def test_a_day_without_a_file_is_an_empty_day(quiver: QuiverClient) -> None:
    assert quiver.congress_trading(date(2024, 6, 22)) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"detail": "maintenance"}', "expected a JSON array, got a JSON object"),
        (b"<html>Bad gateway</html>", "not JSON"),
    ],
)
def test_a_body_that_is_not_an_array_of_records_is_an_error_naming_the_day(
    sandbox: Sandbox, quiver: QuiverClient, body: bytes, problem: str
) -> None:
    sandbox.quiver.set_day(DAY, body)

    with pytest.raises(UnexpectedResponseError) as raised:
        quiver.congress_trading(DAY)

    assert problem in str(raised.value)
    assert "congress trading for 2024-06-18 is unreadable" in str(raised.value)
    assert sandbox.quiver.request_count() == 1, "a malformed body is not retried"


def test_the_sandbox_serves_any_directory_of_day_files(tmp_path: Path) -> None:
    (tmp_path / "2030-01-02.json").write_text('[{"Ticker": "ZZZ", "Transaction": "Purchase"}]')

    with Sandbox(quiver_directory=tmp_path) as sandbox, sandbox.quiver_client() as quiver:
        assert quiver.congress_trading(date(2030, 1, 2)) == [
            {"Ticker": "ZZZ", "Transaction": "Purchase"}
        ]
        assert quiver.congress_trading(DAY) == []


def test_a_wrong_key_is_an_authentication_error(sandbox: Sandbox) -> None:
    with (
        sandbox.quiver_client(api_key="not-the-key", retry=FAST_RETRY) as quiver,
        pytest.raises(AuthenticationError) as raised,
    ):
        quiver.congress_trading(DAY)

    assert raised.value.status_code == 401
    assert raised.value.api_message == "Invalid token."


def test_server_errors_are_retried_then_the_day_is_served(
    sandbox: Sandbox, quiver: QuiverClient
) -> None:
    sandbox.quiver.faults.add(Fault.http_status(502, times=2))

    records = quiver.congress_trading(DAY)

    assert len(records) == 9
    assert [r.status for r in sandbox.quiver.requests()] == [502, 502, 200]


def test_a_dropped_connection_on_a_read_is_retried(sandbox: Sandbox, quiver: QuiverClient) -> None:
    sandbox.quiver.faults.add(Fault.drop())

    assert len(quiver.congress_trading(DAY)) == 9
    assert [r.status for r in sandbox.quiver.requests()] == [None, 200]


def test_an_unreachable_server_is_service_unavailable_naming_the_day() -> None:
    with Sandbox() as stopped:
        url = stopped.quiver.base_url
    with (
        QuiverClient(api_key="k", base_url=url, retry=FAST_RETRY) as quiver,
        pytest.raises(ServiceUnavailableError) as raised,
    ):
        quiver.congress_trading(DAY)

    assert "could not connect" in str(raised.value)
    assert "date=20240618" in str(raised.value)
    assert raised.value.attempts == FAST_RETRY.max_attempts


def test_from_settings_requires_the_quiver_key() -> None:
    with pytest.raises(ConfigurationError, match="QUIVER_API_KEY"):
        QuiverClient.from_settings(load_settings(_env_file=None))


def test_from_settings_reaches_the_sandbox(sandbox: Sandbox) -> None:
    with QuiverClient.from_settings(sandbox.settings()) as quiver:
        assert len(quiver.congress_trading(date(2024, 6, 15))) == 1


def test_elements_that_are_not_records_come_back_with_the_others(
    sandbox: Sandbox, quiver: QuiverClient
) -> None:
    sandbox.quiver.set_day(DAY, b'[{"Ticker": "AAPL"}, "oops", null, 42, [1]]')

    assert quiver.congress_trading(DAY) == [{"Ticker": "AAPL"}, "oops", None, 42, [1]]
