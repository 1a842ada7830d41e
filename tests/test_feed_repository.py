"""The congress feed repository on both backends."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.factories import quiver_record
from trading_automation.db import (
    CongressTradeFeed,
    Database,
    FeedTransaction,
    InvalidCursorError,
    Party,
)
from trading_automation.domain.filings import row_hash, source_hash


def _store(database: Database, records: list[Any]) -> Any:
    with database.transaction() as uow:
        return uow.feed.store(records)


def _all(database: Database) -> list[CongressTradeFeed]:
    with database.transaction(readonly=True) as uow:
        return list(uow.session.query(CongressTradeFeed).order_by(CongressTradeFeed.row_hash))


def test_storing_a_batch_reports_new_and_duplicate_records(database: Database) -> None:
    records = [quiver_record(Ticker="AAPL"), quiver_record(Ticker="MSFT")]

    first = _store(database, records)
    again = _store(database, records)

    assert (first.received, first.new, first.duplicates) == (2, 2, 0)
    assert (again.received, again.new, again.duplicates) == (2, 0, 2)
    assert len(_all(database)) == 2


def test_identical_records_within_one_batch_are_stored_once(database: Database) -> None:
    record = quiver_record()

    result = _store(database, [record, dict(record), quiver_record(Ticker="NVDA")])

    assert (result.new, result.duplicates) == (2, 1)
    assert len(_all(database)) == 2


def test_large_batches_are_stored_whole_and_deduplicated(database: Database) -> None:
    records: list[Any] = [quiver_record(Ticker="AAPL", Comments=f"lot {n}") for n in range(2343)]
    records += [quiver_record(Ticker=None, Comments="no ticker"), ["not", "an", "object"]]

    result = _store(database, records)
    again = _store(database, [*records[:1000], quiver_record(Comments="one more")])

    stored = _all(database)
    assert (result.new, result.duplicates) == (2345, 0)
    assert (again.new, again.duplicates) == (1, 1000)
    assert len(stored) == 2346
    assert len({row.id for row in stored}) == 2346
    odd = [row for row in stored if row.problems]
    assert sorted(str(row.raw_json) for row in odd if not isinstance(row.raw_json, dict)) == [
        "['not', 'an', 'object']"
    ]
    assert any(row.problems == ["missing ticker"] for row in odd)
    by_comment = {r.raw_json["Comments"]: r for r in stored if isinstance(r.raw_json, dict)}
    assert by_comment["lot 17"].raw_json == records[17]
    assert by_comment["lot 17"].ticker == "AAPL"
    assert by_comment["lot 17"].ingested_at.tzinfo is not None


def test_records_are_normalised(database: Database) -> None:
    _store(
        database,
        [
            quiver_record(
                Ticker="  brk.b ",
                Name="  Nydia M. Velázquez ",
                Transaction="Sale (Partial)",
                Party="R",
                Filed="2024-06-18T00:00:00Z",
                Traded="06/03/2024",
            )
        ],
    )

    [stored] = _all(database)
    assert stored.ticker == "BRK.B"
    assert stored.member_name == "Nydia M. Velázquez"
    assert stored.transaction is FeedTransaction.SELL
    assert stored.party is Party.REPUBLICAN
    assert stored.filing_date == date(2024, 6, 18)
    assert stored.trade_date == date(2024, 6, 3)
    assert stored.problems is None
    assert stored.source_hash == source_hash(
        "Nydia M. Velázquez", "BRK.B", date(2024, 6, 18), FeedTransaction.SELL
    )


@pytest.mark.parametrize(
    ("transaction", "expected"),
    [
        ("Purchase", FeedTransaction.BUY),
        ("purchase", FeedTransaction.BUY),
        ("Sale", FeedTransaction.SELL),
        ("Sale (Full)", FeedTransaction.SELL),
        ("Exchange", FeedTransaction.UNKNOWN),
        (None, FeedTransaction.UNKNOWN),
    ],
)
def test_transactions_map_to_buy_sell_or_unknown(
    database: Database, transaction: str | None, expected: FeedTransaction
) -> None:
    _store(database, [quiver_record(Transaction=transaction)])

    assert _all(database)[0].transaction is expected


@pytest.mark.parametrize(
    ("party", "expected"),
    [
        ("D", Party.DEMOCRAT),
        ("R", Party.REPUBLICAN),
        ("I", Party.INDEPENDENT),
        ("Democrat", Party.DEMOCRAT),
        ("L", Party.OTHER),
        ("", Party.UNKNOWN),
        (None, Party.UNKNOWN),
    ],
)
def test_parties_map_to_the_party_enum(
    database: Database, party: str | None, expected: Party
) -> None:
    _store(database, [quiver_record(Party=party)])

    assert _all(database)[0].party is expected


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"Ticker": None}, "missing ticker"),
        ({"Ticker": "  "}, "missing ticker"),
        ({"Ticker": "--"}, "missing ticker"),
        ({"Name": ""}, "missing member name"),
        ({"Filed": None}, "missing filing date"),
        ({"Filed": "18th of June"}, "unparseable filing date '18th of June'"),
        ({"Traded": "2024-13-45"}, "unparseable trade date '2024-13-45'"),
        ({"Ticker": "APPLE INC"}, "ticker 'APPLE INC' is not a listed symbol"),
    ],
)
def test_malformed_records_are_stored_flagged_and_whole(
    database: Database, fields: dict[str, Any], problem: str
) -> None:
    record = quiver_record(**fields)

    result = _store(database, [record])

    [stored] = _all(database)
    assert result.new == 1
    assert stored.problems is not None
    assert problem in stored.problems
    assert stored.source_hash is None
    assert stored.raw_json == record
    assert stored.row_hash == row_hash(record)


def test_a_record_that_is_not_an_object_is_kept_too(database: Database) -> None:
    result = _store(database, ["garbage", 42])

    stored = _all(database)
    assert result.new == 2
    assert sorted(str(row.raw_json) for row in stored) == ["42", "garbage"]
    assert all(row.problems and "not a JSON object" in row.problems[0] for row in stored)


def test_missing_fields_are_tolerated(database: Database) -> None:
    record = {
        "Ticker": "AMZN",
        "Name": "Ro Khanna",
        "Filed": "2024-06-18",
        "Transaction": "Purchase",
    }

    _store(database, [record])

    [stored] = _all(database)
    assert stored.problems is None
    assert stored.party is Party.UNKNOWN
    assert stored.trade_date is None


def test_a_large_batch_of_duplicates_adds_nothing_and_counts_each(database: Database) -> None:
    records = [quiver_record(Comments=f"dup {n}") for n in range(600)]
    _store(database, records[:400])

    result = _store(database, [*records, records[0], records[500]])

    assert (result.received, result.new, result.duplicates) == (602, 200, 402)
    assert len(_all(database)) == 600


def _page_tickers(page: Any) -> list[str | None]:
    return [entry.record.ticker for entry in page.items]


def test_listing_is_newest_filing_first_with_undated_records_last(database: Database) -> None:
    _store(
        database,
        [
            quiver_record(Ticker="OLD", Filed="2024-06-01"),
            quiver_record(Ticker="NEW", Filed="2024-06-20"),
            quiver_record(Ticker="MID", Filed="2024-06-10"),
            quiver_record(Ticker="UND", Filed=None),
        ],
    )

    with database.transaction(readonly=True) as uow:
        page = uow.feed.page(limit=10)

    assert _page_tickers(page) == ["NEW", "MID", "OLD", "UND"]
    assert page.next_cursor is None
    assert page.prev_cursor is None


def test_listing_filters_by_ticker_member_dates_and_malformed(database: Database) -> None:
    _store(
        database,
        [
            quiver_record(Ticker="AAPL", Name="Nancy Pelosi", Filed="2024-06-18"),
            quiver_record(Ticker="aapl", Name="Ro Khanna", Filed="2024-06-19"),
            quiver_record(Ticker="MSFT", Name="Nancy Pelosi", Filed="2024-06-20"),
            quiver_record(Ticker=None, Name="Nancy Pelosi", Filed="2024-06-21"),
        ],
    )

    with database.transaction(readonly=True) as uow:
        by_ticker = uow.feed.page(ticker="aapl")
        by_member = uow.feed.page(member="pelosi")
        by_dates = uow.feed.page(filed_from=date(2024, 6, 19), filed_to=date(2024, 6, 19))
        malformed = uow.feed.page(malformed=True)
        well_formed = uow.feed.page(malformed=False, member="PELOSI")

    assert sorted(e.record.member_name or "" for e in by_ticker.items) == [
        "Nancy Pelosi",
        "Ro Khanna",
    ]
    assert _page_tickers(by_member) == [None, "MSFT", "AAPL"]
    assert _page_tickers(by_dates) == ["AAPL"]
    assert [e.record.problems for e in malformed.items] == [["missing ticker"]]
    assert _page_tickers(well_formed) == ["MSFT", "AAPL"]


def test_member_filter_treats_wildcards_literally(database: Database) -> None:
    _store(database, [quiver_record(Name="Nancy Pelosi")])

    with database.transaction(readonly=True) as uow:
        assert uow.feed.page(member="%").items == []
        assert uow.feed.page(member="_ancy").items == []


def test_listing_pages_forward_and_back(database: Database) -> None:
    _store(
        database,
        [quiver_record(Ticker=f"T{n:02d}", Filed=f"2024-06-{n:02d}") for n in range(1, 8)]
        + [quiver_record(Ticker=None, Filed=None, Comments="undated")],
    )

    with database.transaction(readonly=True) as uow:
        first = uow.feed.page(limit=3)
        second = uow.feed.page(limit=3, cursor=first.next_cursor)
        third = uow.feed.page(limit=3, cursor=second.next_cursor)
        back = uow.feed.page(limit=3, cursor=third.prev_cursor)
        back_again = uow.feed.page(limit=3, cursor=back.prev_cursor)

    assert _page_tickers(first) == ["T07", "T06", "T05"]
    assert _page_tickers(second) == ["T04", "T03", "T02"]
    assert _page_tickers(third) == ["T01", None]
    assert third.next_cursor is None
    assert _page_tickers(back) == _page_tickers(second)
    assert _page_tickers(back_again) == _page_tickers(first)
    assert back_again.prev_cursor is None


def test_listing_refuses_a_tampered_cursor(database: Database) -> None:
    with database.transaction(readonly=True) as uow, pytest.raises(InvalidCursorError):
        uow.feed.page(cursor="not-a-cursor")


def test_listing_says_which_filings_were_traded(database: Database) -> None:
    traded = quiver_record(Ticker="AAPL")
    _store(database, [traded, quiver_record(Ticker="MSFT")])
    with database.transaction() as uow:
        [record] = [r for r in uow.session.query(CongressTradeFeed) if r.ticker == "AAPL"]
        assert record.source_hash is not None
        uow.trades.record_intent(source_hash=record.source_hash, symbol="AAPL")

    with database.transaction(readonly=True) as uow:
        flags = {entry.record.ticker: entry.traded for entry in uow.feed.page().items}

    assert flags == {"AAPL": True, "MSFT": False}


def test_latest_filing_date_and_lookup_by_source_hash(database: Database) -> None:
    _store(
        database,
        [quiver_record(Filed="2024-06-18"), quiver_record(Filed="2024-06-20", Ticker="MSFT")],
    )

    with database.transaction(readonly=True) as uow:
        latest = uow.feed.latest_filing_date()
        [msft] = [r for r in uow.session.query(CongressTradeFeed) if r.ticker == "MSFT"]
        assert msft.source_hash is not None
        found = uow.feed.ids_by_source_hash([msft.source_hash, "0" * 64])

    assert latest == date(2024, 6, 20)
    assert found == {msft.source_hash: msft.id}
