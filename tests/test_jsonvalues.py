"""Exact JSON: numbers read as `Decimal` keep every digit, and are written back the same."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading_automation import fixtures
from trading_automation.domain.filings import canonical_json, row_hash
from trading_automation.domain.jsonvalues import dumps, loads, number_text

EIGHTEEN_DIGITS = "123456789.123456789"

# JSON numbers as text: integers, fractions and exponents, up to 30 significant digits.
json_numbers = st.builds(
    lambda sign, whole, fraction, exponent: f"{sign}{whole}{fraction}{exponent}",
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,15}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"[eE][+-]?[0-9]{1,3}", fullmatch=True)),
)
json_texts = st.recursive(
    st.one_of(json_numbers, st.sampled_from(["null", "true", "false", '"x"', '"é\\u0000"'])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(st.text(max_size=5), inner, max_size=4).map(
            lambda members: (
                "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in members.items()) + "}"
            )
        ),
    ),
    max_leaves=12,
)


def test_a_number_with_eighteen_significant_digits_is_read_exactly() -> None:
    assert loads(f'{{"price": {EIGHTEEN_DIGITS}}}') == {"price": Decimal(EIGHTEEN_DIGITS)}
    assert json.loads(EIGHTEEN_DIGITS) != Decimal(EIGHTEEN_DIGITS), "what a float parser loses"


def test_a_number_with_eighteen_significant_digits_is_written_with_all_of_them() -> None:
    text = dumps({"price": Decimal(EIGHTEEN_DIGITS), "ratio": Decimal("4.02")})

    assert text == '{"price":123456789.123456789,"ratio":4.02}'


@given(json_texts)
def test_what_is_read_is_written_back_with_the_same_values(text: str) -> None:
    value = loads(text)

    assert loads(dumps(value)) == value


@given(json_texts)
def test_the_exact_writer_and_the_fast_one_agree_on_every_document(text: str) -> None:
    value = loads(text)
    # An 18-digit number next to the document sends all of it through the exact writer.
    exact = dumps([Decimal(EIGHTEEN_DIGITS), value])

    assert exact == f"[{EIGHTEEN_DIGITS},{dumps(value)}]"


@given(json_texts)
def test_documents_of_floats_are_written_as_before_numbers_were_exact(text: str) -> None:
    old = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    value = loads(text)
    if all(_float_safe(number) for number in _numbers(value)):
        assert dumps(value, sort_keys=True) == old


def test_every_fixture_record_keeps_the_row_hash_it_had_when_parsed_as_floats() -> None:
    for day in fixtures.quiver_days():
        body = fixtures.quiver_day_body(day)
        as_floats = json.loads(body) or []
        old = [
            json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            for r in as_floats
        ]
        assert [canonical_json(record) for record in fixtures.quiver_day(day)] == old


def test_a_record_that_differs_only_past_a_floats_digits_has_its_own_row_hash() -> None:
    first = loads('{"excess_return": 123456789.123456789}')
    second = loads('{"excess_return": 123456789.123456788}')

    assert row_hash(first) != row_hash(second)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("4.020"), "4.02"),
        (Decimal("1E+5"), "100000.0"),
        (Decimal("-0"), "-0.0"),
        (Decimal(EIGHTEEN_DIGITS), EIGHTEEN_DIGITS),
        (Decimal("1E+400"), "1E+400"),
        (Decimal("NaN"), "NaN"),
        (Decimal("-Infinity"), "-Infinity"),
    ],
)
def test_numbers_are_written_as_the_shortest_equal_float_or_with_every_digit(
    value: Decimal, text: str
) -> None:
    assert number_text(value) == text


def test_an_integer_past_pythons_digit_limit_survives_a_round_trip() -> None:
    digits = "9" * 5000

    assert dumps(loads(f"[{digits}]")) == f"[{digits}]"


def test_values_json_cannot_hold_are_refused_unless_a_default_converts_them() -> None:
    with pytest.raises(TypeError, match="set"):
        dumps({"a": {1}})
    with pytest.raises(TypeError, match="set"):
        dumps([Decimal(EIGHTEEN_DIGITS), {1}])

    assert dumps([Decimal(EIGHTEEN_DIGITS), {1}], default=sorted) == f"[{EIGHTEEN_DIGITS},[1]]"


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return [value] if isinstance(value, Decimal | float) else []


def _float_safe(number: Decimal | float) -> bool:
    if isinstance(number, float):
        return True
    return number.is_finite() and Decimal(repr(float(number))) == number
