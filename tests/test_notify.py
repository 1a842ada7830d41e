"""Alerts: delivered for real to a JSON webhook and an SMTP server, once per problem and day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.notify_support import Mailbox, Webhooks, plain_text
from trading_automation.db import AlertLevel, Database
from trading_automation.notify import Event, Notifier
from trading_automation.notify.delivery import Message, deliver

DAY = date(2024, 6, 20)
T0 = datetime(2024, 6, 20, 13, 35, tzinfo=UTC)
SECRET = "alpaca-secret-XYZ-123"


def _event(level: AlertLevel = AlertLevel.ERROR, day: date = DAY, problem: str = "") -> Event:
    return Event(
        kind="run_failed",
        level=level,
        trading_date=day,
        problem=problem,
        title=f"open-job for {day} failed",
        happened="Quiver did not answer for 2024-06-20.",
        money="The filings of that day were not bought.",
        todo="Run `trading-automation open-job --date 2024-06-20` once Quiver answers.",
        details=["quiver 2024-06-20: service error (HTTP 503)"],
    )


def _notifier(urls: list[str], database: Database | None, **options: object) -> Notifier:
    return Notifier(
        urls=urls,
        database=database,
        timeout_s=float(options.pop("timeout_s", 5.0)),  # type: ignore[arg-type]
        secrets=[SECRET],
        now=options.pop("now", lambda: T0),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def test_an_event_reaches_every_webhook_and_mailbox_with_what_to_do(
    database: Database, webhooks: Webhooks, mailbox: Mailbox
) -> None:
    notifier = _notifier([webhooks.url(), mailbox.url()], database)

    report = notifier.notify([_event()])

    [body] = webhooks.bodies()
    [mail] = mailbox.messages
    assert report.sent == ["run_failed"]
    assert body["title"] == "open-job for 2024-06-20 failed"
    assert body["type"] == "failure"
    assert body["message"].splitlines()[:3] == [
        "What happened: Quiver did not answer for 2024-06-20.",
        "What it means for the money: The filings of that day were not bought.",
        "What to do: Run `trading-automation open-job --date 2024-06-20` once Quiver answers.",
    ]
    assert mail["Subject"] == "open-job for 2024-06-20 failed"
    assert mail["To"] == "ops@example.com"
    assert "- quiver 2024-06-20: service error (HTTP 503)" in plain_text(mail)
    with database.transaction(readonly=True) as uow:
        alert = uow.alerts.get("run_failed", DAY)
    assert alert is not None
    assert (alert.delivered, alert.failed, alert.occurrences) == (2, 0, 1)


def test_the_same_problem_on_the_same_day_is_alerted_once_and_counted(
    database: Database, webhooks: Webhooks
) -> None:
    notifier = _notifier([webhooks.url()], database)

    first = notifier.notify([_event()])
    again = notifier.notify([_event()])
    third = notifier.notify([_event()])
    next_day = notifier.notify([_event(day=DAY + timedelta(days=1))])

    assert first.sent == ["run_failed"]
    assert again.repeats == third.repeats == ["run_failed"]
    assert again.sent == []
    assert next_day.sent == ["run_failed"]
    assert len(webhooks.bodies()) == 2
    with database.transaction(readonly=True) as uow:
        alert = uow.alerts.get("run_failed", DAY)
        counts = uow.alerts.counts()
    assert alert is not None
    assert alert.occurrences == 3
    assert (counts.recorded, counts.sent, counts.repeats) == (2, 2, 2)


def test_a_receiver_that_hangs_or_fails_does_not_hold_back_the_others_or_the_caller(
    database: Database, webhooks: Webhooks
) -> None:
    urls = [webhooks.url("hang"), webhooks.url("fail"), webhooks.url("ok")]
    notifier = _notifier(urls, database, timeout_s=0.5)

    report = notifier.notify([_event()])

    assert report.sent == ["run_failed"]
    assert report.failed_deliveries == 2
    assert len(webhooks.bodies()) == 1
    with database.transaction(readonly=True) as uow:
        alert = uow.alerts.get("run_failed", DAY)
    assert alert is not None
    assert (alert.delivered, alert.failed) == (1, 2)


def test_a_hanging_receiver_is_reported_as_timed_out_and_a_failing_one_as_refused(
    webhooks: Webhooks,
) -> None:
    message = Message("t", "b", AlertLevel.INFO)

    [[hung, failed]] = deliver(
        [webhooks.url("hang"), webhooks.url("fail")], [message], timeout_s=0.3
    )

    assert not hung.ok
    assert hung.error == "no answer within 0.3 s (NOTIFY_TIMEOUT_S)"
    assert not failed.ok
    assert failed.error == "the service refused it or did not answer"


def test_an_alert_no_url_took_is_tried_again_on_a_repeat_after_fifteen_minutes(
    database: Database, webhooks: Webhooks
) -> None:
    clock = [T0]
    failing = _notifier([webhooks.url("fail")], database, now=lambda: clock[0])
    working = _notifier([webhooks.url()], database, now=lambda: clock[0])

    first = failing.notify([_event()])
    clock[0] = T0 + timedelta(minutes=5)
    soon = working.notify([_event()])
    clock[0] = T0 + timedelta(minutes=16)
    later = working.notify([_event()])

    assert first.undelivered == ["run_failed"]
    assert soon.repeats == ["run_failed"]
    assert later.sent == ["run_failed"]
    assert len(webhooks.bodies()) == 1


def test_secrets_never_appear_in_a_message(database: Database, webhooks: Webhooks) -> None:
    event = Event(
        kind="broker_auth",
        level=AlertLevel.ERROR,
        trading_date=DAY,
        problem="",
        title=f"Alpaca refused the keys {SECRET}",
        happened=f"key {SECRET} was refused",
        money="Nothing can be bought or sold.",
        todo="Check ALPACA_KEY_ID and ALPACA_SECRET_KEY.",
    )

    _notifier([webhooks.url()], database).notify([event])

    [body] = webhooks.bodies()
    assert SECRET not in body["title"] + body["message"]
    assert "********" in body["message"]


def test_events_below_notify_level_are_dropped_and_not_recorded(
    database: Database, webhooks: Webhooks
) -> None:
    notifier = _notifier([webhooks.url()], database, level=AlertLevel.WARNING)

    report = notifier.notify([_event(AlertLevel.INFO), _event(AlertLevel.ERROR, problem="x")])

    assert report.below_level == ["run_failed"]
    assert report.sent == ["run_failed:x"]
    with database.transaction(readonly=True) as uow:
        assert uow.alerts.get("run_failed", DAY) is None


def test_without_urls_nothing_is_sent_or_recorded(database: Database) -> None:
    report = _notifier([], database).notify([_event()])

    assert report.sent == report.undelivered == report.repeats == []
    with database.transaction(readonly=True) as uow:
        assert uow.alerts.counts().recorded == 0


def test_a_url_apprise_does_not_know_fails_without_showing_its_secret(webhooks: Webhooks) -> None:
    message = Message("t", "b", AlertLevel.INFO)

    [[unknown, known]] = deliver(
        [f"nosuchservice://{SECRET}@host/path", webhooks.url()], [message], timeout_s=5
    )

    assert not unknown.ok
    assert unknown.error == "not a URL Apprise knows (check its scheme and form)"
    assert SECRET not in unknown.shown
    assert known.ok


def test_a_long_list_of_details_is_cut_to_one_screen() -> None:
    event = Event(
        kind="orders_failed",
        level=AlertLevel.WARNING,
        trading_date=DAY,
        problem="",
        title="t",
        happened="h",
        money="m",
        todo="t",
        details=[f"order {n}" for n in range(30)],
    )

    lines = event.message.splitlines()

    assert "- order 11" in lines
    assert "- order 12" not in lines
    assert "- ... and 18 more" in lines
    assert len(lines) <= 20
