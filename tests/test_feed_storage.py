"""Any record Quiver sends is stored, exactly and reversibly, on both backends; none fails a day.

PostgreSQL's JSONB refuses NUL characters, NaN and numbers beyond NUMERIC; no driver encodes a lone
surrogate; Python's JSON encoder recurses. These tests feed arbitrary JSON values through
normalise → store → read back, and one run of the open-job with such records in its day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, cast, select

from tests.factories import quiver_record
from tests.worker_support import run_job, trades
from trading_automation.db import CongressTradeFeed, Database, TradeStatus
from trading_automation.domain.filings import MAX_TEXT_CHARS, digest, normalize_record
from trading_automation.domain.jsonvalues import (
    ENVELOPE_KEY,
    MAX_STORED_DEPTH,
    canonical_json,
    decode_stored,
    is_envelope,
    loads,
    storage_text,
)
from trading_automation.sandbox import OrderScript, Sandbox

# Every code point, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=4300, max_value=4400).map(lambda digits: loads("7" * digits)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.builds(Decimal, st.sampled_from(["1e200000", "1e-20000", "123456789.123456789"])),
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, ANY_TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


def _stored(database: Database, row_hash: str) -> CongressTradeFeed:
    with database.transaction(readonly=True) as uow:
        return uow.session.scalars(
            select(CongressTradeFeed).where(CongressTradeFeed.row_hash == row_hash)
        ).one()


def _column_content(database: Database, row_hash: str) -> Any:
    """What the raw_json column itself holds (the model reads it decoded)."""
    with database.transaction(readonly=True) as uow:
        text = uow.session.execute(
            select(cast(CongressTradeFeed.__table__.c.raw_json, Text)).where(
                CongressTradeFeed.row_hash == row_hash
            )
        ).scalar_one()
    return loads(text)


def _round_trip(database: Database, records: list[Any]) -> None:
    with database.transaction() as uow:
        uow.feed.store(records)
    for record in records:
        text = canonical_json(record)
        stored = _stored(database, digest(text))
        assert canonical_json(stored.raw_json) == text
        assert canonical_json(decode_stored(_column_content(database, digest(text)))) == text


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = {"level": level, "inner": value} if level % 2 else [value]
    return value


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.one_of(JSON_VALUES, st.builds(quiver_record, Comments=JSON_VALUES)), max_size=4))
def test_any_json_value_is_stored_and_read_back_exactly(
    database: Database, records: list[Any]
) -> None:
    _round_trip(database, records)


# What Python's own JSON parser makes of any JSON text: floats, ints, text.
FLOAT_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), ANY_TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


@given(FLOAT_VALUES)
def test_canonical_json_is_what_the_row_hash_was_always_computed_from(value: Any) -> None:
    before = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert canonical_json(value) == before
    assert canonical_json(loads(before)) == before


def test_numbers_keep_every_digit_they_were_sent_with(database: Database) -> None:
    record = loads('{"Name": "A", "excess_return": 123456789.123456789, "n": 1e-05, "x": 1.50}')

    _round_trip(database, [record])

    stored = _stored(database, digest(canonical_json(record)))
    assert stored.raw_json["excess_return"] == Decimal("123456789.123456789")
    assert (
        canonical_json(record)
        == '{"Name":"A","excess_return":123456789.123456789,"n":1e-05,"x":1.5}'
    )


def test_a_record_no_column_holds_as_it_is_is_stored_in_the_documented_envelope(
    database: Database,
) -> None:
    record = quiver_record(Comments="nul \x00 and lone \udc80")

    _round_trip(database, [record])

    stored = _stored(database, digest(canonical_json(record)))
    content = _column_content(database, stored.row_hash)
    assert set(content) == {ENVELOPE_KEY}
    assert content[ENVELOPE_KEY].isascii()
    assert loads(content[ENVELOPE_KEY]) == record
    assert stored.raw_json == record
    assert stored.problems is None
    assert stored.source_hash == normalize_record(record).source_hash is not None


def test_a_record_shaped_like_the_envelope_is_enveloped_too(database: Database) -> None:
    record = {ENVELOPE_KEY: '{"Ticker":"AAPL"}'}

    _round_trip(database, [record])

    assert _column_content(database, digest(canonical_json(record))) != record
    assert _stored(database, digest(canonical_json(record))).raw_json == record


def test_deeply_nested_records_are_stored_and_read_back(database: Database) -> None:
    records = [quiver_record(Comments=_nested(MAX_STORED_DEPTH + 5)), _nested(600)]

    _round_trip(database, records)


def test_large_batches_take_odd_records_too(database: Database) -> None:
    odd = [
        quiver_record(Comments="\x00"),
        quiver_record(Company="\ud800"),
        quiver_record(excess_return=float("nan")),
        quiver_record(excess_return=Decimal("1e200000")),
        quiver_record(Description=_nested(150)),
    ]
    records = [quiver_record(Comments=f"lot {n}") for n in range(600)] + odd

    _round_trip(database, records)


def test_text_columns_never_receive_what_a_database_refuses(database: Database) -> None:
    records = [
        quiver_record(Name="Nancy\x00 Pelosi"),
        quiver_record(Name="Nancy \udc80Pelosi"),
        quiver_record(Ticker="AA\x00PL"),
        quiver_record(Name="N" * 5000),
        quiver_record(Ticker="T" * 5000),
        quiver_record(Filed="2024-06-18" + "\x00" * 3000),
    ]

    _round_trip(database, records)

    for record in records:
        stored = _stored(database, digest(canonical_json(record)))
        assert stored.problems, record
        assert stored.source_hash is None
        for text in (stored.member_name, stored.ticker, *stored.problems):
            assert text is None or ("\x00" not in text and len(text) <= MAX_TEXT_CHARS)
    named = _stored(database, digest(canonical_json(records[0])))
    assert named.member_name == "Nancy\ufffd Pelosi"
    assert "member name holds a NUL character or a lone surrogate" in (named.problems or [])


OPEN = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)


def test_a_day_holding_unstorable_and_non_object_records_stores_all_and_trades_its_filings(
    database: Database,
) -> None:
    day = date(2024, 6, 20)
    records = [
        quiver_record(Ticker="AAPL", Name="Nul Comment", Filed="2024-06-20", Comments="a\x00b"),
        quiver_record(Ticker="MSFT", Name="Lone Surrogate", Filed="2024-06-20", Company="\udc80"),
        quiver_record(Ticker="NVDA", Name="Nul\x00Name", Filed="2024-06-20"),
        "not a record",
        None,
    ]
    with Sandbox(now=OPEN, script=OrderScript(fill_after_polls=1)) as sandbox:
        sandbox.quiver.set_day(day, json.dumps(records).encode())  # ASCII escapes, as sent

        result = run_job(database, sandbox)

    by_key = {trade.source_hash: trade for trade in trades(database)}
    keys = [normalize_record(record).source_hash for record in records[:3]]
    assert result.exit_code == 0, result.lines
    assert keys[2] is None
    assert [by_key[key].status for key in keys[:2] if key] == [TradeStatus.FILLED] * 2
    for record in records:
        assert _stored(database, digest(canonical_json(record))).raw_json == record


@pytest.mark.parametrize("depth", [1, MAX_STORED_DEPTH, MAX_STORED_DEPTH + 1])
def test_records_are_enveloped_only_when_they_must_be(depth: int) -> None:
    value = _nested(depth)

    stored = loads(storage_text(value))

    assert is_envelope(stored) == (depth > MAX_STORED_DEPTH)
    assert canonical_json(decode_stored(stored)) == canonical_json(value)
