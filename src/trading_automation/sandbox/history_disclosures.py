"""A synthetic, multi-year history of congressional disclosures, generated lazily and
deterministically, served like Quiver's bulk endpoint.

Quiver's `?date=` filter selects by upload day, and its full history comes newest first, paged.
So the history is generated one upload day at a time (a day's records depend only on the seed and
the day): a day uploads filings filed up to three days before it, traded 1 to 45 days before the
filing (the STOCK Act's deadline), by a fixed roster of members with parties and chambers.
Purchases and sales of every kind, an occasional amendment (the same trade filed again later, with
another size), records without an upload time, and a few malformed rows (no ticker, an unreadable
filing date, no member) are mixed in. Tickers include split, delisted and unknown symbols of the
synthetic bars (`trading_automation.sandbox.history_bars`).
"""

from __future__ import annotations

import bisect
import random
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

FIRST_NAMES = (
    "Nancy", "Ro", "Zoë", "Michael", "Tommy", "Nydia", "Josh", "Debbie", "Dan", "Marjorie",
    "Rick", "Shelley", "Sheldon", "Mark", "Susan", "Kevin", "Lisa", "John", "Maria", "Pat",
)  # fmt: skip
LAST_NAMES = (
    "Pelosi", "Khanna", "Lofgren", "McCaul", "Tuberville", "Velázquez", "Gottheimer", "Scott",
    "Crenshaw", "Greene", "Capito", "Whitehouse", "Green", "Collins", "Hern", "Blunt Rochester",
    "Hickenlooper", "Salazar", "Fallon", "Curtis",
)  # fmt: skip
STATES = ("CA", "TX", "NY", "FL", "AL", "WV", "RI", "OK", "GA", "PA", "NJ", "CO", "UT")
TICKERS = (
    "AAPL", "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA", "JPM", "UNH", "KKR", "BRK.B", "XOM",
    "CVX", "PFE", "JNJ", "V", "MA", "HD", "DIS", "NFLX", "AMD", "INTC", "BA", "LMT", "RTX", "GE",
    "F", "GM", "T", "VZ", "KO", "PEP", "WMT", "COST", "CRM", "ORCL", "ADBE", "QCOM", "AVGO", "MU",
    "TWTR", "FRC", "ZZZZ",
)  # fmt: skip
TRANSACTIONS = (
    ("Purchase", 55), ("Sale", 18), ("Sale (Partial)", 12), ("Sale (Full)", 10), ("Exchange", 5),
)  # fmt: skip
SIZES = ("1001 - 15000", "15001 - 50000", "50001 - 100000", "100001 - 250000", "250001 - 500000")
MEMBERS = 60
AMENDMENT_RATE = 0.02


@dataclass(frozen=True)
class Member:
    """One member of Congress of the roster."""

    name: str
    party: str
    chamber: str
    state: str
    district: str
    bioguide: str


def roster(seed: int, count: int = MEMBERS) -> tuple[Member, ...]:
    """The members who file, each with a party, chamber and state."""
    rng = random.Random(_mix(seed, "roster"))
    members: list[Member] = []
    names: set[str] = set()
    while len(members) < count:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name in names:
            continue
        names.add(name)
        chamber = "Senate" if rng.random() < 0.2 else "Representatives"
        state = rng.choice(STATES)
        members.append(
            Member(
                name=name,
                party=rng.choice("DDDRRRI"),
                chamber=chamber,
                state=state,
                district="" if chamber == "Senate" else f"{state}{rng.randrange(1, 30):02d}",
                bioguide=f"{name[0]}{rng.randrange(10**6):06d}",
            )
        )
    return tuple(members)


@dataclass
class SyntheticDisclosures:
    """Quiver-shaped records uploaded each day from `start` to `end` (see the module docstring).

    `per_day` is the typical number of records uploaded on a weekday (weekends get a few);
    `tickers` the symbols the records name (a larger universe for the backtest's benchmarks).
    """

    seed: int = 7
    start: date = date(2015, 1, 1)
    end: date = date(2024, 6, 20)
    per_day: int = 40
    tickers: tuple[str, ...] = TICKERS
    members: tuple[Member, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end is before start")
        if not self.tickers:
            raise ValueError("tickers is empty")
        self.members = roster(self.seed)
        self._counts: list[int] | None = None
        self._weights = [weight for _, weight in TRANSACTIONS]

    # --- what the endpoint serves ------------------------------------------------------------

    def day(self, upload_day: date) -> list[dict[str, Any]]:
        """The records uploaded on `upload_day`, newest upload first (Quiver's `?date=`)."""
        if not self.start <= upload_day <= self.end:
            return []
        records = self._generated(upload_day, amendments=True)
        records.sort(key=lambda record: str(record.get("Quiver_Upload_Time") or ""), reverse=True)
        return records

    def _generated(self, upload_day: date, *, amendments: bool) -> list[dict[str, Any]]:
        rng = random.Random(_mix(self.seed, upload_day.isoformat()))
        records = []
        for number in range(self.count(upload_day)):
            record = self._record(rng, upload_day, number)
            if amendments and rng.random() < AMENDMENT_RATE:
                record = self._amendment(rng, upload_day, record)
            records.append(record)
        return records

    def _amendment(
        self, rng: random.Random, upload_day: date, fallback: dict[str, Any]
    ) -> dict[str, Any]:
        """A trade uploaded weeks ago, filed again today with another size."""
        earlier = upload_day - timedelta(days=rng.randint(10, 40))
        originals = self._generated(earlier, amendments=False) if earlier >= self.start else []
        if not originals or not isinstance(originals[0].get("Name"), str):
            return fallback
        amended = dict(rng.choice(originals))
        amended["Filed"] = fallback["Filed"]
        amended["Trade_Size_USD"] = rng.choice(SIZES)
        amended["Description"] = "Amendment to an earlier report"
        amended["Quiver_Upload_Time"] = fallback["Quiver_Upload_Time"]
        amended["last_modified"] = upload_day.isoformat()
        amended["Comments"] = f"amends {amended['Comments']}"
        return amended

    def page(self, page: int, page_size: int) -> list[dict[str, Any]]:
        """Page `page` (from 1) of the whole history, newest upload day first."""
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        counts = self._cumulative()
        first = (page - 1) * page_size
        if first >= counts[-1]:
            return []
        out: list[dict[str, Any]] = []
        index = bisect.bisect_right(counts, first)
        offset = first - (counts[index - 1] if index else 0)
        while len(out) < page_size and index < len(counts):
            records = self.day(self.end - timedelta(days=index))
            out.extend(records[offset : offset + page_size - len(out)])
            offset = 0
            index += 1
        return out

    @property
    def total(self) -> int:
        """How many records the whole history holds."""
        return self._cumulative()[-1]

    def count(self, upload_day: date) -> int:
        """How many records are uploaded on `upload_day` (cheap: no record is generated)."""
        rng = random.Random(_mix(self.seed, f"count:{upload_day.isoformat()}"))
        typical = self.per_day if upload_day.weekday() < 5 else max(1, self.per_day // 10)
        return rng.randint(typical // 2, typical + typical // 2)

    def _cumulative(self) -> list[int]:
        """Records up to and including each day, counting from `end` backwards."""
        if self._counts is None:
            total, counts = 0, []
            for back in range((self.end - self.start).days + 1):
                total += self.count(self.end - timedelta(days=back))
                counts.append(total)
            self._counts = counts
        return self._counts

    # --- one record ----------------------------------------------------------------------------

    def _record(self, rng: random.Random, upload_day: date, number: int) -> dict[str, Any]:
        member = rng.choice(self.members)
        ticker = rng.choice(self.tickers)
        filed = upload_day - timedelta(days=rng.choice((0, 0, 0, 1, 1, 2, 3)))
        traded = filed - timedelta(days=rng.randint(1, 45))
        (transaction,) = rng.choices([name for name, _ in TRANSACTIONS], self._weights)
        uploaded_at = f"{upload_day.isoformat()}T{rng.randrange(12, 24):02d}:"
        uploaded_at += f"{rng.randrange(60):02d}:{rng.randrange(60):02d}.000Z"
        record: dict[str, Any] = {
            "Ticker": ticker,
            "TickerType": "ST",
            "Company": f"{ticker} Inc.",
            "Traded": traded.isoformat(),
            "Transaction": transaction,
            "Trade_Size_USD": rng.choice(SIZES),
            "Name": member.name,
            "BioGuideID": member.bioguide,
            "Filed": filed.isoformat(),
            "Party": member.party,
            "District": member.district,
            "Chamber": member.chamber,
            "Description": None,
            "Comments": f"synthetic {upload_day.isoformat()} #{number}",
            "Quiver_Upload_Time": uploaded_at,
            "excess_return": Decimal(f"{rng.uniform(-20, 20):.4f}"),
            "State": member.state,
            "last_modified": upload_day.isoformat(),
        }
        kind = rng.random()
        if kind < 0.03:
            record["Quiver_Upload_Time"] = None
        elif kind < 0.036:
            record["Ticker"] = rng.choice((None, "", "--"))
        elif kind < 0.04:
            record["Filed"] = rng.choice(("N/A", "2024-13-45", None))
        elif kind < 0.043:
            del record["Name"]
        return record


def _mix(seed: int, what: str) -> int:
    """A stable seed for one stream (no salted `hash()`)."""
    return zlib.crc32(f"{seed}:{what}".encode())
