"""Credentials never show: not in logs (ours or httpx's, at DEBUG), error messages, tracebacks,
or the reprs of clients, requests and errors — on success, on refusal and on failure."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator
from datetime import date

import pytest

from trading_automation.clients import (
    AlpacaClient,
    ApiError,
    QuiverClient,
    RetryPolicy,
)
from trading_automation.logs import configure_logging
from trading_automation.sandbox import Fault, Sandbox

KEY_ID = "AKIDLEAKCHECK0001"
SECRET = "sk-leak-check-secret-0002"
QUIVER_KEY = "qk-leak-check-secret-0003"
WRONG_SECRET = "sk-leak-check-wrong-0004"
SECRETS = (KEY_ID, SECRET, QUIVER_KEY, WRONG_SECRET)
FAST = RetryPolicy(max_attempts=2, budget_s=3, backoff_s=0.01, backoff_max_s=0.02)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    # No secrets handed to the redactor: the clients themselves must not emit them.
    configure_logging("DEBUG", stream=stream, json_output=True)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    configure_logging("INFO", stream=io.StringIO())


def error_text(error: BaseException) -> str:
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    cause = error.__cause__
    while cause is not None:
        shown += [str(cause), repr(cause), repr(getattr(cause, "request", None))]
        cause = cause.__cause__
    return "\n".join(shown)


def test_no_credential_appears_anywhere_on_success_or_failure(
    log_stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_log: list[str] = []
    shown: list[str] = []
    with Sandbox(
        key_id=KEY_ID, secret_key=SECRET, quiver_key=QUIVER_KEY, log=sandbox_log.append
    ) as sandbox:
        alpaca = sandbox.alpaca_client(retry=FAST)
        quiver = sandbox.quiver_client(retry=FAST)
        wrong = sandbox.alpaca_client(secret_key=WRONG_SECRET, retry=FAST)
        wrong_quiver = sandbox.quiver_client(api_key=WRONG_SECRET, retry=FAST)
        shown += [repr(alpaca), repr(quiver), repr(wrong), str(alpaca), str(quiver)]

        alpaca.clock()
        quiver.congress_trading(date(2024, 6, 18))
        alpaca.submit_order(symbol="NVDA", client_order_id="leak-1", notional=1000)
        sandbox.alpaca.faults.add(Fault.drop_after_accept())
        alpaca.submit_order(symbol="AAPL", client_order_id="leak-2", notional=1000)

        failures: list[ApiError] = []
        for attempt in (
            wrong.account,
            lambda: wrong_quiver.congress_trading(date(2024, 6, 18)),
            lambda: alpaca.submit_order(symbol="BRK.A", client_order_id="leak-3", notional=1000),
        ):
            with pytest.raises(ApiError) as raised:
                attempt()
            failures.append(raised.value)
        sandbox.alpaca.faults.add(
            Fault.drop_after_accept(),
            Fault.http_status(503, path="/v2/orders:by_client_order_id", times=None),
        )
        with pytest.raises(ApiError) as unknown:
            alpaca.submit_order(symbol="MSFT", client_order_id="leak-4", notional=1000)
        failures.append(unknown.value)
        for client in (alpaca, quiver, wrong, wrong_quiver):
            client.close()

    shown += [error_text(error) for error in failures]
    captured = capsys.readouterr()
    everything = "\n".join(
        [*shown, log_stream.getvalue(), *sandbox_log, captured.out, captured.err]
    )

    assert "http_retry" in everything or "order_outcome_unknown" in everything
    assert "HTTP Request" in everything, "httpx's own request log was captured"
    assert len(failures) == 4
    for secret in SECRETS:
        assert secret not in everything


def test_a_client_repr_shows_where_it_points_and_nothing_else() -> None:
    alpaca = AlpacaClient(key_id=KEY_ID, secret_key=SECRET, base_url="http://127.0.0.1:9")
    quiver = QuiverClient(api_key=QUIVER_KEY, base_url="http://127.0.0.1:9/beta")

    assert repr(alpaca) == (
        "AlpacaClient(base_url='http://127.0.0.1:9', "
        "data_base_url='https://data.alpaca.markets', paper=True)"
    )
    assert repr(quiver) == "QuiverClient(base_url='http://127.0.0.1:9/beta')"
    alpaca.close()
    quiver.close()
