"""Payloads shaped like the real APIs, for tests that need a specific variation."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

_counter = itertools.count(1)


def quiver_record(**fields: Any) -> dict[str, Any]:
    """A Quiver congress-trading record (SPEC §5) with every field; override any of them."""
    number = next(_counter)
    record: dict[str, Any] = {
        "Ticker": "AAPL",
        "TickerType": "ST",
        "Company": "Apple Inc.",
        "Traded": "2024-06-10",
        "Transaction": "Purchase",
        "Trade_Size_USD": "1001 - 15000",
        "Name": "Nancy Pelosi",
        "BioGuideID": "P000197",
        "Filed": "2024-06-18",
        "Party": "D",
        "District": "CA11",
        "Chamber": "Representatives",
        "Description": None,
        "Comments": f"record {number}",
        "Quiver_Upload_Time": "2024-06-18T21:04:11",
        "excess_return": 1.25,
        "State": "California",
        "last_modified": "2024-06-18",
    }
    record.update(fields)
    return record


def source_hash(seed: str | None = None) -> str:
    """A valid filing key (SHA-256 hex)."""
    return hashlib.sha256((seed or uuid.uuid4().hex).encode()).hexdigest()


def order_payload(client_order_id: str, **fields: Any) -> dict[str, Any]:
    """An Alpaca order object as the API returns it (numbers as strings)."""
    created = datetime(2024, 6, 20, 13, 30, 0, tzinfo=UTC)
    payload: dict[str, Any] = {
        "id": fields.pop("id", "61e69015-8549-4bfd-b9c3-01e75843f47d"),
        "client_order_id": client_order_id,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "updated_at": created.isoformat().replace("+00:00", "Z"),
        "submitted_at": created.isoformat().replace("+00:00", "Z"),
        "filled_at": None,
        "expired_at": None,
        "canceled_at": None,
        "failed_at": None,
        "replaced_at": None,
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
        "symbol": "AAPL",
        "asset_class": "us_equity",
        "notional": "1000",
        "qty": None,
        "filled_qty": "0",
        "filled_avg_price": None,
        "order_class": "",
        "order_type": "market",
        "type": "market",
        "side": "buy",
        "time_in_force": "day",
        "status": "accepted",
        "extended_hours": False,
    }
    payload.update(fields)
    return payload


def at(minutes: float) -> str:
    """An Alpaca timestamp `minutes` after 13:30 UTC on 2024-06-20, with nanoseconds."""
    moment = datetime(2024, 6, 20, 13, 30, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
