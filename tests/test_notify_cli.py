"""`trading-automation notify test` against a real webhook and a real SMTP server."""

from __future__ import annotations

from click.testing import CliRunner

from tests.notify_support import Mailbox, Webhooks, plain_text
from trading_automation.cli import cli


def _run(env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--env-file", "/dev/null", "notify", "test"], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_notify_test_sends_to_every_url_and_says_which_worked(
    webhooks: Webhooks, mailbox: Mailbox
) -> None:
    urls = f"{webhooks.url()} {mailbox.url()},{webhooks.url('fail')}"

    code, out, _ = _run({"NOTIFY_URLS": urls, "NOTIFY_TIMEOUT_S": "5"})

    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("ok      1. json://127.0.0.1:")
    assert lines[1].startswith("ok      2. mailto://")
    assert lines[2].startswith("failed  3. json://127.0.0.1:")
    assert lines[2].endswith(": the service refused it or did not answer")
    assert lines[-1] == "2 of 3 URLs took the test message"
    [body] = webhooks.bodies()
    assert body["title"] == "trading-automation: test alert"
    [mail] = mailbox.messages
    assert "What to do: nothing." in plain_text(mail)


def test_notify_test_exits_0_when_every_url_worked(webhooks: Webhooks) -> None:
    code, out, _ = _run({"NOTIFY_URLS": webhooks.url()})

    assert code == 0
    assert out.splitlines()[-1] == "1 of 1 URLs took the test message"


def test_notify_test_without_urls_says_so_in_one_line() -> None:
    code, _, err = _run({})

    assert code == 2
    assert "NOTIFY_URLS: not set" in err
    assert "Traceback" not in err


def test_notify_test_never_prints_a_password_of_a_url(mailbox: Mailbox) -> None:
    url = mailbox.url().replace("mailto://", "mailto://bot:hunter2-secret@")

    _code, out, err = _run({"NOTIFY_URLS": url, "NOTIFY_TIMEOUT_S": "5"})

    assert "hunter2-secret" not in out + err
