"""Money: one rounding rule (half-up to the cent, only when shown) and signs decided after it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading_automation.domain.money import (
    EXACT,
    cents,
    exact_product,
    exact_sum,
    format_price,
    format_quantity,
    format_usd,
    shorten,
    sign_after_rounding,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1000"), "$1,000.00"),
        (Decimal("89059.315"), "$89,059.32"),
        (Decimal("0.005"), "$0.01"),
        (Decimal("-0.005"), "-$0.01"),
        (Decimal("-0.004"), "$0.00"),
        (Decimal("-12.5"), "-$12.50"),
        (Decimal("0"), "$0.00"),
    ],
)
def test_dollars_are_rounded_half_up_and_shown_with_separators(value: Decimal, shown: str) -> None:
    assert format_usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("2.1"), "+$2.10"),
        (Decimal("0.004"), "$0.00"),
        (Decimal("-0.004"), "$0.00"),
        (Decimal("-3"), "-$3.00"),
    ],
)
def test_a_signed_figure_that_rounds_to_zero_has_no_sign(value: Decimal, shown: str) -> None:
    assert format_usd(value, signed=True) == shown


def test_the_sign_of_a_figure_is_the_sign_of_what_is_shown() -> None:
    assert sign_after_rounding(Decimal("0.004")) == 0
    assert sign_after_rounding(Decimal("-0.005")) == -1
    assert sign_after_rounding(Decimal("0.005")) == 1


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("-0.5"), "-0.5"),
        (Decimal("0.500000000"), "0.5"),
        (Decimal("9"), "9"),
        (Decimal("1234.5"), "1,234.5"),
        (Decimal("-1234.000"), "-1,234"),
        (Decimal("-0.000"), "0"),
    ],
)
def test_quantities_keep_their_sign_and_digits(value: Decimal, shown: str) -> None:
    assert format_quantity(value) == shown


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=10**9, places=9),
            st.decimals(min_value=0, max_value=10**9, places=9),
        ),
        max_size=50,
    )
)
def test_sums_of_products_are_exact(pairs: list[tuple[Decimal, Decimal]]) -> None:
    total = exact_sum(exact_product(qty, price) for qty, price in pairs)

    expected = sum(int(qty.scaleb(9)) * int(price.scaleb(9)) for qty, price in pairs)
    assert total.scaleb(18, context=EXACT) == expected
    assert cents(total) == total.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP", context=EXACT)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("104.52"), "$104.52"),
        (Decimal("0.0525"), "$0.0525"),
        (Decimal("612500"), "$612,500.00"),
    ],
)
def test_prices_keep_sub_cent_digits(value: Decimal, shown: str) -> None:
    assert format_price(value) == shown


def test_a_shortened_text_ends_in_an_ellipsis() -> None:
    assert shorten("one share costs $612,500.00", 10) == "one share…"
    assert shorten("short", 10) == "short"
