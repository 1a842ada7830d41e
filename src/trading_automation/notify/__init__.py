"""Alerts that reach a person: events, their messages, and delivery through Apprise URLs.

    notifier = Notifier.from_settings(settings, database)   # NOTIFY_URLS unset: does nothing
    notifier.notify([event, ...])                            # never raises, bounded in time

Each event says what happened, what it means for the money and what to do. A problem is alerted
once per trading day (remembered in the `alert` table); repeats are only counted. Delivery runs
in threads with a deadline (`NOTIFY_TIMEOUT_S`): a URL that hangs or fails is logged and counted,
never allowed to fail or hold back a trading run.
"""

from trading_automation.notify.events import Event
from trading_automation.notify.notifier import Notifier, NotifyReport

__all__ = ["Event", "Notifier", "NotifyReport"]
