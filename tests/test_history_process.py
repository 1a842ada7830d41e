"""`history fetch` and `history prices` as real processes: SIGKILLed mid-fetch, then run again,
on both backends; nothing is lost and nothing is stored twice."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import select

from tests.process_support import finish, kill, start_command, wait_until
from trading_automation.db import CongressTradeFeed, Database, HistoryFetch, PriceBar
from trading_automation.domain.filings import normalize_record
from trading_automation.sandbox import Fault, Sandbox, SyntheticDisclosures

HISTORY = SyntheticDisclosures(start=date(2024, 5, 1), end=date(2024, 6, 20), per_day=10)
FROM = date(2024, 5, 10)
PAGE = 40
QUIVER_PATH = "/beta/bulk/congresstrading"
BARS_PATH = "/v2/stocks/bars"


def _env(sandbox: Sandbox, database_url: str, **extra: str) -> dict[str, str]:
    kept = ("DATABASE_", "DB_", "ALPACA_", "QUIVER_", "PAPER_", "HTTP_", "LOG_")
    base = {key: value for key, value in os.environ.items() if not key.startswith(kept)}
    return base | sandbox.env() | {"DATABASE_URL": database_url, "LOG_LEVEL": "INFO"} | extra


def start(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen[str]:
    return start_command(env, "history", *args, cwd=cwd)


def expected_hashes(pages: int | None = None) -> list[str]:
    kept = []
    for page in range(1, (pages or HISTORY.total // PAGE + 1) + 1):
        for record in HISTORY.page(page, PAGE):
            filing = normalize_record(record)
            if filing.filing_date is None or filing.filing_date >= FROM:
                kept.append(filing.row_hash)
    return sorted(set(kept))


def feed_hashes(database: Database) -> list[str]:
    with database.transaction(readonly=True) as uow:
        return sorted(uow.session.scalars(select(CongressTradeFeed.row_hash)))


def test_a_fetch_killed_mid_page_resumes_at_that_page_and_stores_everything_once(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    args = ("fetch", "--from", FROM.isoformat(), "--page-size", str(PAGE))
    with Sandbox(history=HISTORY) as sandbox:
        env = _env(sandbox, migrated_url)
        # The fourth page is held unanswered: the process is killed while it waits for it.
        sandbox.quiver.faults.add(Fault.latency(60, method="GET", path=QUIVER_PATH, skip=3))
        fetcher = start(env, *args, cwd=tmp_path)
        wait_until(lambda: sandbox.quiver.request_count() >= 4, fetcher, "the fourth page")
        kill(fetcher)
        at_kill = feed_hashes(database)
        with database.transaction(readonly=True) as uow:
            progress = uow.session.scalar(select(HistoryFetch.next_page))
        sandbox.quiver.faults.clear()
        sandbox.quiver.release()
        code, out, err = finish(start(env, *args, cwd=tmp_path))
        pages = [logged.query["page"] for logged in sandbox.quiver.requests()]

    assert progress == 4
    assert at_kill == expected_hashes(pages=3)
    assert code == 0, (out, err)
    assert "complete: the whole range is stored" in out
    assert feed_hashes(database) == expected_hashes()
    assert pages == ["1", "2", "3", "4", *(str(n) for n in range(4, len(pages)))]


def test_a_fetch_stopped_by_the_budget_says_when_to_run_again_and_exits_1(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    args = ("fetch", "--from", FROM.isoformat(), "--page-size", str(PAGE))
    with Sandbox(history=HISTORY) as sandbox:
        env = _env(sandbox, migrated_url, QUIVER_BULK_REQUESTS_PER_HOUR="2")
        code, out, err = finish(start(env, *args, cwd=tmp_path))

    assert code == 1
    assert "pages 1-2:" in out
    assert "error: stopped before page 3: not sent: Quiver's bulk endpoints allow 2" in err
    assert "run the same command again" in err
    assert "Traceback" not in err


SYMBOLS = [f"S{number:03d}" for number in range(150)]


def bars(database: Database) -> dict[tuple[str, date], object]:
    with database.transaction(readonly=True) as uow:
        return {(bar.symbol, bar.day): bar.fetched_at for bar in uow.session.query(PriceBar)}


def test_a_price_fetch_killed_between_requests_is_finished_by_the_next_run(
    database: Database, migrated_url: str, tmp_path: Path
) -> None:
    args = ("prices", "--symbols", ",".join(SYMBOLS), "--from", "2024-06-03")
    with Sandbox() as sandbox:
        env = _env(sandbox, migrated_url)
        # 150 symbols are two requests of 100 and 50: the second is held, then the process dies.
        sandbox.alpaca_data.faults.add(Fault.latency(60, method="GET", path=BARS_PATH, skip=1))
        fetcher = start(env, *args, cwd=tmp_path)
        wait_until(
            lambda: sandbox.alpaca_data.request_count("GET", BARS_PATH) >= 2,
            fetcher,
            "the second bars request",
        )
        kill(fetcher)
        at_kill = bars(database)
        sandbox.alpaca_data.faults.clear()
        sandbox.alpaca_data.release()
        sandbox.alpaca_data.clear_requests()
        code, out, err = finish(start(env, *args, cwd=tmp_path))
        rerun = [r.query["symbols"] for r in sandbox.alpaca_data.requests() if r.path == BARS_PATH]
        expected = {
            (symbol, bar.day)
            for symbol in SYMBOLS
            for bar in sandbox.bars.bars(
                symbol,
                date(2024, 6, 3),
                date(2024, 6, 18),
                adjustment="all",
                today=date(2024, 6, 20),
            )
        }

    after = bars(database)
    assert {symbol for symbol, _ in at_kill} == set(SYMBOLS[:100])
    assert code == 0, (out, err)
    assert rerun == [",".join(SYMBOLS[100:])], "only what was not recorded is asked again"
    assert set(after) == expected
    assert {key: after[key] for key in at_kill} == at_kill, "nothing stored was rewritten"
    assert "new bars" in out


def test_bad_symbols_are_one_error_line_with_exit_2(migrated_url: str, tmp_path: Path) -> None:
    with Sandbox() as sandbox:
        code, _out, err = finish(
            start(_env(sandbox, migrated_url), "prices", "--symbols", "AA PL", cwd=tmp_path)
        )

    assert code == 2
    assert err.strip().splitlines()[-1] == "error: --symbols: 'AA PL' is not a symbol"
