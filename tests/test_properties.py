"""Property-based tests: decimals never round, keys are deterministic, updates commute."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import order_payload, quiver_record
from tests.factories import source_hash as make_source_hash
from trading_automation.db import Database, TradeStatus
from trading_automation.domain.decimals import fit_decimal
from trading_automation.domain.enums import FeedTransaction
from trading_automation.domain.filings import normalize_record, row_hash, source_hash
from trading_automation.errors import InvalidValueError

# -- decimals --------------------------------------------------------------------------------


@given(
    st.decimals(
        min_value=Decimal("-999999999.999999999"),
        max_value=Decimal("999999999.999999999"),
        places=9,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_values_that_fit_come_back_equal_at_the_column_scale(value: Decimal) -> None:
    fitted = fit_decimal(value, field="qty", precision=18, scale=9)

    assert fitted == value
    assert fitted.as_tuple().exponent == -9


@given(st.integers(min_value=-(10**20), max_value=10**20).filter(lambda n: n % 1000 != 0))
def test_values_with_more_places_than_the_column_are_refused_never_rounded(units: int) -> None:
    value = Decimal(units).scaleb(-12)  # at least one significant digit past the 9th place

    with pytest.raises(InvalidValueError, match="more than 9 decimal places"):
        fit_decimal(value, field="qty", precision=30, scale=9)


@given(st.one_of(st.decimals(allow_nan=False, allow_infinity=False), st.integers(), st.text()))
def test_fitting_either_refuses_or_returns_the_same_number(value: object) -> None:
    try:
        fitted = fit_decimal(value, field="x", precision=18, scale=2)
    except InvalidValueError:
        return
    assert fitted == Decimal(str(value).strip())


@given(st.integers(min_value=-(10**16) + 1, max_value=10**16 - 1))
def test_numeric_strings_are_parsed_like_the_numbers_they_spell(cents: int) -> None:
    text = f"{Decimal(cents).scaleb(-2):f}"

    assert fit_decimal(text, field="notional", precision=18, scale=2) == Decimal(text)


# -- keys ------------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=10), _json_values, max_size=8), st.randoms())
def test_row_hash_ignores_key_order(record: dict[str, Any], rnd: random.Random) -> None:
    items = list(record.items())
    rnd.shuffle(items)

    assert row_hash(dict(items)) == row_hash(record)


@given(
    st.text(alphabet=st.characters(categories=["L", "Zs"]), min_size=1, max_size=30).filter(
        lambda s: s.strip() != ""
    ),
    st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.sampled_from(list(FeedTransaction)),
)
def test_source_hash_is_the_same_for_differently_padded_spellings(
    name: str, ticker: str, filed: date, transaction: FeedTransaction
) -> None:
    plain = source_hash(name.strip(), ticker, filed, transaction)

    assert source_hash(f"  {name}  ", f" {ticker.lower()} ", filed, transaction) == plain
    assert len(plain) == 64


_padding = st.text(alphabet=" \t\n\u00a0\u2003", max_size=6)


@given(_padding, _padding)
def test_normalised_records_get_one_filing_key_regardless_of_padding(
    pad_left: str, pad_right: str
) -> None:
    base = normalize_record(quiver_record(Ticker="AAPL", Name="Ro Khanna"))
    padded = normalize_record(
        quiver_record(Ticker=f"{pad_left}aapl{pad_right}", Name=f"{pad_left}Ro Khanna{pad_right}")
    )

    assert padded.source_hash == base.source_hash


# -- order updates commute -------------------------------------------------------------------

_STAGES = ["new", "accepted", "partially_filled", "partially_filled"]
_ENDINGS = ["filled", "canceled", "expired", "rejected", None]


@st.composite
def order_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A realistic life of one order: snapshots in time, fills only growing, one ending."""
    stages = draw(st.lists(st.sampled_from(_STAGES), min_size=1, max_size=4))
    stages.sort(key=_STAGES.index)
    ending = draw(st.sampled_from(_ENDINGS))
    if ending:
        stages.append(ending)
    fills = sorted(
        draw(st.lists(st.integers(0, 10**9), min_size=len(stages), max_size=len(stages)))
    )
    start = datetime(2024, 6, 20, 13, 30, tzinfo=UTC)
    history = []
    for step, (status, drawn) in enumerate(zip(stages, fills, strict=True)):
        fill = 0 if status in ("new", "accepted") else drawn
        moment = (start + timedelta(seconds=step)).isoformat().replace("+00:00", "Z")
        history.append(
            {
                "status": status,
                "filled_qty": str(Decimal(fill).scaleb(-9)),
                "filled_avg_price": "101.5" if fill else None,
                "updated_at": moment,
            }
        )
    return history


def _final_state(database: Database, history: list[dict[str, Any]]) -> tuple[Any, ...]:
    key = make_source_hash()
    with database.transaction() as uow:
        trade = uow.trades.record_intent(source_hash=key, symbol="AAPL").trade
        for snapshot in history:
            uow.trades.apply_order(
                trade, order_payload(trade.client_order_id, id=f"o-{key[:8]}", **snapshot)
            )
        return (
            trade.status,
            trade.filled_qty,
            trade.filled_avg_price,
            (trade.raw_order_json or {}).get("updated_at"),
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=order_histories(), rnd=st.randoms())
def test_updates_in_any_order_end_in_the_state_of_the_sorted_sequence(
    database: Database, history: list[dict[str, Any]], rnd: random.Random
) -> None:
    shuffled = list(history)
    rnd.shuffle(shuffled)

    in_order = _final_state(database, history)
    any_order = _final_state(database, shuffled)

    assert any_order == in_order
    assert in_order[3] == history[-1]["updated_at"]
    assert TradeStatus(in_order[0]) is not TradeStatus.NEW
