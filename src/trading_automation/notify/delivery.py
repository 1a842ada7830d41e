"""Delivery of one message to Apprise URLs, each in its own thread, all within one deadline.

Nothing here raises: a URL that Apprise does not know, that refuses the message or that has not
answered by the deadline is reported as failed, with a reason that shows no secret (Apprise's own
privacy form of the URL is the only form shown).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from trading_automation.domain.enums import AlertLevel

log = structlog.get_logger(__name__)

_NOTIFY_TYPES = {
    AlertLevel.INFO: "info",
    AlertLevel.WARNING: "warning",
    AlertLevel.ERROR: "failure",
}


@dataclass(frozen=True)
class Message:
    """What is sent: a title, a plain-text body and its level."""

    title: str
    body: str
    level: AlertLevel


@dataclass(frozen=True)
class Delivery:
    """How one URL took one message: `shown` is the URL with its secrets hidden."""

    url_index: int
    shown: str
    ok: bool
    error: str | None = None


def shown_url(url: str) -> str:
    """The URL with its secrets hidden: Apprise's privacy form (tokens and passwords masked), or
    only its scheme and host where that form hides nothing (a webhook's path may be its token)."""
    import apprise

    scheme = url.split("://", 1)[0]
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    private = str(plugin.url(privacy=True)) if plugin is not None else ""  # type: ignore[no-untyped-call]
    if plugin is not None and url.split("?", 1)[0] not in private:
        return private
    try:
        parts = urlsplit(url)
        host = parts.hostname if not parts.username else None
        port = f":{parts.port}" if host and parts.port else ""
    except ValueError:
        host = port = None
    return f"{scheme}://{host}{port}/…" if host else f"{scheme}://…"


def _send(url: str, message: Message) -> tuple[bool, str | None]:
    import apprise

    notifier = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not notifier.add(url):
        return False, "not a URL Apprise knows (check its scheme and form)"
    result = notifier.notify(
        title=message.title,
        body=message.body,
        notify_type=_NOTIFY_TYPES[message.level],
        body_format=apprise.NotifyFormat.TEXT,
    )
    return (True, None) if bool(result) else (False, "the service refused it or did not answer")


def deliver(
    urls: Sequence[str],
    messages: Sequence[Message],
    *,
    timeout_s: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[list[Delivery]]:
    """Send every message to every URL at once; per message, how each URL took it.

    Returns within about `timeout_s` whatever the URLs do: a send still running then is left to
    finish in the background (its thread is a daemon) and reported as timed out.
    """
    outcomes: dict[tuple[int, int], tuple[bool, str | None]] = {}
    lock = threading.Lock()

    def work(message_index: int, url_index: int) -> None:
        try:
            outcome = _send(urls[url_index], messages[message_index])
        except Exception as error:  # a plugin's failure must never escape
            outcome = (False, f"{type(error).__name__} while sending")
        with lock:
            outcomes[(message_index, url_index)] = outcome

    threads = []
    for message_index in range(len(messages)):
        for url_index in range(len(urls)):
            thread = threading.Thread(
                target=work, args=(message_index, url_index), daemon=True, name="notify"
            )
            thread.start()
            threads.append(thread)
    deadline = monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - monotonic()))
    shown = [shown_url(url) for url in urls]
    report: list[list[Delivery]] = []
    with lock:
        for message_index in range(len(messages)):
            row = []
            for url_index in range(len(urls)):
                ok, error = outcomes.get(
                    (message_index, url_index),
                    (False, f"no answer within {timeout_s:g} s (NOTIFY_TIMEOUT_S)"),
                )
                row.append(Delivery(url_index + 1, shown[url_index], ok, error))
            report.append(row)
    return report
