"""`trading-automation notify test`: send a test message to every NOTIFY_URLS entry."""

from __future__ import annotations

import sys

import click

from trading_automation.cli.context import AppContext, pass_app


@click.group()
def notify() -> None:
    """Check the alert URLs (NOTIFY_URLS)."""


@notify.command("test")
@pass_app
def test(app: AppContext) -> None:
    """Send a test message to every URL of NOTIFY_URLS and say which worked.

    Exit status: 0 when every URL took the message, 1 when any did not, 2 when NOTIFY_URLS is
    not set.
    """
    from trading_automation.domain.enums import AlertLevel
    from trading_automation.errors import ConfigurationError
    from trading_automation.logs import SecretRedactor
    from trading_automation.notify.delivery import Message, deliver

    settings = app.settings
    urls = settings.notify_url_list
    if not urls:
        raise ConfigurationError(
            ["NOTIFY_URLS: not set, so no alert is sent; set one or more Apprise URLs"]
        )
    redactor = SecretRedactor(settings.secret_values())
    message = Message(
        "trading-automation: test alert",
        "What happened: someone ran `trading-automation notify test`.\n"
        "What it means for the money: nothing; this only checks that alerts reach you.\n"
        "What to do: nothing. Alerts about failed runs, orders and exits will arrive here.",
        AlertLevel.INFO,
    )
    [deliveries] = deliver(urls, [message], timeout_s=settings.notify_timeout_s)
    for delivery in deliveries:
        shown = redactor.redact(delivery.shown)
        if delivery.ok:
            click.echo(f"ok      {delivery.url_index}. {shown}")
        else:
            click.echo(f"failed  {delivery.url_index}. {shown}: {delivery.error}")
    worked = sum(1 for delivery in deliveries if delivery.ok)
    click.echo(f"\n{worked} of {len(deliveries)} URLs took the test message")
    sys.exit(0 if worked == len(deliveries) else 1)
