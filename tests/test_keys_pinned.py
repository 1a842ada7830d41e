"""The keys of SPEC §4, pinned to literal values computed by hand (`printf … | sha256sum`).

A change of format would give every filing already traded a new `source_hash` and client order
id, and the next run would buy it again: these literals make such a change fail here first.
"""

from __future__ import annotations

from datetime import date

from trading_automation import fixtures
from trading_automation.domain.filings import client_order_id_for, normalize_record, row_hash
from trading_automation.domain.jsonvalues import loads

# sha256("Zoë Lofgren|AMZN|2024-06-18|BUY"): the first record of the 2024-06-18 fixture day.
LOFGREN_AMZN = "b5aeffef7e6b331e966b15900d684048a6d9b2b5ada605eaac9b445224315de3"
# sha256 of that record's canonical JSON, written out by hand (sorted keys, no spaces, "ë" as is).
LOFGREN_ROW = "297370c8a00cdb5eacb22f44c8623b460e7ce0cf5ca9cf54734ce4510b1d79e8"
# sha256("Dan Crenshaw|MSFT|2024-06-20|SELL").
CRENSHAW_MSFT_SALE = "675e287d2e7accc110bcfe462b29a74094bcf5fd03af9800b7942cf56d5b4dbd"
# sha256('{"Filed":"06/20/2024","Name":"Dan Crenshaw","Ticker":"msft",'
#        '"Transaction":"Sale (Partial)","excess_return":123456789.123456789}').
CRENSHAW_ROW = "ca6f02f3b84cb3fb2fb4f1d7390c828742b7fa809cfa56b964c4cb1fcfdff363"


def test_a_fixture_purchase_has_its_pinned_keys() -> None:
    record = fixtures.quiver_day(date(2024, 6, 18))[0]

    filing = normalize_record(record)

    assert filing.source_hash == LOFGREN_AMZN
    assert filing.row_hash == LOFGREN_ROW
    assert row_hash(record) == LOFGREN_ROW
    assert client_order_id_for(LOFGREN_AMZN) == f"ta-{LOFGREN_AMZN}"


def test_a_sale_with_a_us_date_and_every_digit_of_a_number_has_its_pinned_keys() -> None:
    record = loads(
        '{"Ticker": "msft", "Name": "Dan Crenshaw", "Filed": "06/20/2024",'
        ' "Transaction": "Sale (Partial)", "excess_return": 123456789.123456789}'
    )
    padded = dict(record, Ticker=" msft ", Name=" Dan Crenshaw ")

    filing = normalize_record(record)

    assert filing.source_hash == CRENSHAW_MSFT_SALE
    assert filing.row_hash == CRENSHAW_ROW
    assert filing.ticker == "MSFT"
    assert normalize_record(padded).source_hash == CRENSHAW_MSFT_SALE


def test_the_client_order_id_is_the_prefix_and_the_filing_key() -> None:
    assert client_order_id_for(CRENSHAW_MSFT_SALE) == (
        "ta-675e287d2e7accc110bcfe462b29a74094bcf5fd03af9800b7942cf56d5b4dbd"
    )
