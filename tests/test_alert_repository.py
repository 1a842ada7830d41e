"""The alert table's rules on both backends: one send per problem and day, even under a race."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from trading_automation.db import AlertLevel, Database

DAY = date(2024, 6, 20)
T0 = datetime(2024, 6, 20, 13, 35, tzinfo=UTC)


def _record(database: Database, sends: list[bool]) -> None:
    with database.transaction() as uow:
        claim = uow.alerts.record(
            "run_failed:open-job",
            DAY,
            kind="run_failed",
            level=AlertLevel.ERROR,
            title="t",
            message="m",
            now=T0,
        )
    sends.append(claim.send)


def test_of_many_workers_alerting_the_same_problem_at_once_exactly_one_sends(
    database: Database,
) -> None:
    sends: list[bool] = []
    workers = [threading.Thread(target=_record, args=(database, sends)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    with database.transaction(readonly=True) as uow:
        alert = uow.alerts.get("run_failed:open-job", DAY)
    assert sorted(sends) == [False] * 5 + [True]
    assert alert is not None
    assert alert.occurrences == 6
