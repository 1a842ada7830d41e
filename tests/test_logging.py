"""Logging: structured events, and secrets masked in every record, ours and libraries'."""

from __future__ import annotations

import io
import json
import logging

import structlog

from trading_automation.logs import SecretRedactor, configure_logging


def test_events_are_json_lines_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    structlog.get_logger("test").info("order_submitted", symbol="AMZN", notional="1000")

    event = json.loads(stream.getvalue().splitlines()[-1])
    assert event["event"] == "order_submitted"
    assert event["symbol"] == "AMZN"
    assert event["level"] == "info"
    assert event["timestamp"].endswith("Z")


def test_known_secrets_are_masked_in_our_events_and_in_library_records() -> None:
    stream = io.StringIO()
    configure_logging("INFO", secrets=["sk-abcdef-123", "db-pass"], stream=stream)

    structlog.get_logger("test").info(
        "request", headers={"APCA-API-SECRET-KEY": "sk-abcdef-123"}, note="key sk-abcdef-123"
    )
    logging.getLogger("some.library").warning("connecting with sk-abcdef-123")
    structlog.get_logger("test").info("db", url="postgresql://app:db-pass@host/db")

    output = stream.getvalue()
    assert "sk-abcdef-123" not in output
    assert "db-pass" not in output
    assert output.count("********") >= 4


def test_url_passwords_are_masked_even_when_not_known_in_advance() -> None:
    redactor = SecretRedactor()

    assert (
        redactor.redact("failed: postgresql://u:unknown@h/db")
        == "failed: postgresql://u:********@h/db"
    )


def test_levels_below_the_configured_one_are_dropped() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", stream=stream)

    structlog.get_logger("test").info("quiet")
    structlog.get_logger("test").warning("loud")

    assert "quiet" not in stream.getvalue()
    assert "loud" in stream.getvalue()
