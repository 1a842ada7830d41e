"""The replay's guarantees: no look-ahead, the database gives the history the records describe, and
a sweep on processes or on a Dask cluster gives what one-by-one replays give."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backtest_support import Bar, history, new_york, record
from trading_automation.backtest.attribution import attribution
from trading_automation.backtest.engine import run_backtest
from trading_automation.backtest.history import (
    History,
    build_history,
    load_history,
    session_open,
    start_of_day,
)
from trading_automation.backtest.metrics import strategy_metrics
from trading_automation.backtest.result import BacktestResult, Params
from trading_automation.backtest.sweep import (
    evaluate,
    evaluate_with_trades,
    parse_sweep,
    replay,
    run_sweep,
    variants,
)
from trading_automation.db import Database
from trading_automation.domain.bars import PriceBarRow
from trading_automation.domain.exits import ExitPolicy, PartialSale
from trading_automation.domain.filings import normalize_record
from trading_automation.domain.strategy import default_strategy
from trading_automation.errors import InvalidArgumentError

SESSIONS = [date(2024, 3, 4) + timedelta(days=n) for n in range(19) if (4 + n) % 7 not in (2, 3)]
SYMBOLS = ("AAA", "BBB", "CCC")
MEMBERS = ("Ann Able", "Bob Baker")
KINDS = ("Purchase", "Purchase", "Sale", "Sale (Partial)", "Sale (Full)")
POLICIES = (
    ExitPolicy(),
    ExitPolicy(max_hold_days=2),
    ExitPolicy(stop_loss_pct=Decimal(5), take_profit_pct=Decimal(5)),
    ExitPolicy(PartialSale.HALF, max_hold_days=4),
)
D = Decimal


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[Bar], ExitPolicy, int]:
    """Random bars (some missing), random disclosures uploaded at any hour of the period, an
    exit policy and a cut day."""
    rows = []
    for symbol in SYMBOLS:
        for day in SESSIONS:
            if symbol != "AAA" and draw(st.integers(0, 9)) == 0:
                continue  # a missing bar (AAA always has one: every session exists)
            opened = draw(st.integers(500, 1500))
            closed = draw(st.integers(500, 1500))
            rows.append((symbol, day, D(opened) / 10, D(closed) / 10))
    records = []
    for number in range(draw(st.integers(1, 14))):
        uploaded_on = SESSIONS[0] + timedelta(days=draw(st.integers(-3, 25)))
        traded = uploaded_on - timedelta(days=draw(st.integers(1, 20)))
        records.append(
            record(
                draw(st.sampled_from(MEMBERS)),
                draw(st.sampled_from(SYMBOLS)),
                draw(st.sampled_from(KINDS)),
                traded=traded,
                filed=uploaded_on - timedelta(days=draw(st.integers(0, 1))),
                uploaded=new_york(uploaded_on, draw(st.integers(0, 23))),
                Comments=f"#{number}",
            )
        )
    return records, rows, draw(st.sampled_from(POLICIES)), draw(st.integers(0, len(SESSIONS) - 1))


def replayed(records: list[dict[str, Any]], rows: list[Bar], policy: ExitPolicy) -> BacktestResult:
    found = history(SESSIONS[0], SESSIONS[-1], records, rows)
    params = Params(SESSIONS[0], SESSIONS[-1], capital=D(5000), slippage_bps=D(5))
    return run_backtest(found, default_strategy(D(1000)), policy, params)


def until(result: BacktestResult, cut: date) -> tuple[list[Any], ...]:
    return (
        [day for day in result.equity if day.day <= cut],
        [fill for fill in result.fills if fill.day <= cut],
        [skip for skip in result.skips if skip.day <= cut],
        [part for part in result.closed if part.closed <= cut],
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.randoms(use_true_random=False))
def test_nothing_after_a_day_changes_anything_up_to_it(
    world: tuple[list[dict[str, Any]], list[Bar], ExitPolicy, int], rng: random.Random
) -> None:
    records, rows, policy, cut_index = world
    cut = SESSIONS[cut_index]
    known_at = session_open(cut)
    # After the cut: bars shuffled between symbols and days, some dropped; disclosures published
    # after the cut's open dropped, or moved to other moments after it.
    before = [row for row in rows if row[1] <= cut]
    after = [row for row in rows if row[1] > cut]
    prices = [(row[2], row[3]) for row in after]
    rng.shuffle(prices)
    shuffled = [
        (row[0], row[1], *price)
        for row, price in zip(after, prices, strict=True)
        if rng.random() > 0.2
    ]
    later = []
    for raw in records:
        published = datetime.fromisoformat(raw["Quiver_Upload_Time"])
        if published <= known_at:
            later.append(raw)
        elif rng.random() > 0.3:
            moved = known_at + timedelta(hours=rng.randint(1, 24 * 20))
            later.append(raw | {"Quiver_Upload_Time": moved.strftime("%Y-%m-%dT%H:%M:%S.000Z")})

    first = replayed(records, rows, policy)
    second = replayed(later, before + shuffled, policy)

    assert until(first, cut) == until(second, cut)
    assert len(first.equity) == len(SESSIONS)


def store(database: Database, records: list[dict[str, Any]], rows: list[Bar]) -> None:
    when = datetime(2024, 4, 1, tzinfo=UTC)
    with database.transaction() as uow:
        uow.feed.store(records, ingested_at=when)
        uow.prices.store(
            [PriceBarRow(s, day, o, max(o, c), min(o, c), c, 1000, "all") for s, day, o, c in rows],
            fetched_at=when,
        )


def _seeded_world(seed: int) -> tuple[list[dict[str, Any]], list[Bar]]:
    rng = random.Random(seed)
    rows = [
        (symbol, day, D(rng.randint(500, 1500)) / 10, D(rng.randint(500, 1500)) / 10)
        for symbol in SYMBOLS
        for day in SESSIONS
    ]
    records = []
    for number in range(40):
        uploaded_on = SESSIONS[0] + timedelta(days=rng.randint(-5, 25))
        records.append(
            record(
                rng.choice(MEMBERS),
                rng.choice(SYMBOLS),
                rng.choice(KINDS),
                traded=uploaded_on - timedelta(days=rng.randint(1, 20)),
                filed=uploaded_on,
                uploaded=new_york(uploaded_on, rng.randint(0, 23)),
                Comments=f"#{number}",
            )
        )
    # A filing of a transaction disclosed before the period: its re-upload in it is an amendment.
    early = record(
        "Ann Able",
        "AAA",
        "Purchase",
        traded=date(2024, 2, 1),
        filed=date(2024, 2, 20),
        uploaded=new_york(date(2024, 2, 20), 12),
    )
    records += [early, early | {"Filed": "2024-03-05", "Quiver_Upload_Time": None}]
    return records, rows


def test_the_database_gives_the_history_its_records_and_bars_describe(database: Database) -> None:
    records, rows = _seeded_world(3)
    store(database, records, rows)

    loaded = load_history(database, SESSIONS[0], SESSIONS[-1])

    # The period's disclosures are those public from the first day's midnight in New York; the
    # earlier ones only name the transactions a later filing amends.
    filings = [normalize_record(raw) for raw in records]
    begins = start_of_day(SESSIONS[0])
    earlier = [f for f in filings if f.published_at is not None and f.published_at < begins]
    expected = build_history(
        SESSIONS[0],
        SESSIONS[-1],
        sorted(
            ((f.published_at, f) for f in filings if f.published_at and f.published_at >= begins),
            key=lambda item: (item[0], item[1].row_hash),
        ),
        sorted(rows),
        known_transactions=[
            (f.transaction_key, f.filing_date) for f in earlier if f.transaction_key
        ],
    )

    def releases(found: History) -> list[tuple[date, str, date | None]]:
        return [
            (r.session, r.filing.row_hash, r.amends)
            for day in found.sessions
            for r in found.releases.get(day, [])
        ]

    assert loaded.sessions == expected.sessions == tuple(SESSIONS)
    assert releases(loaded) == releases(expected)
    assert len(releases(loaded)) > 20
    assert date(2024, 2, 20) in [r[2] for r in releases(loaded)], "amends the earlier filing"
    assert {s: list(b.days()) for s, b in loaded.bars.items()} == {
        s: list(b.days()) for s, b in expected.bars.items()
    }
    assert loaded.bars["BBB"].on(SESSIONS[3]) == expected.bars["BBB"].on(SESSIONS[3]) is not None
    params = Params(SESSIONS[0], SESSIONS[-1])
    strategy = default_strategy(D(500))
    policy = ExitPolicy(max_hold_days=3)
    from_database = run_backtest(loaded, strategy, policy, params)
    assert from_database.fills
    assert from_database == run_backtest(expected, strategy, policy, params)


def test_a_sweep_on_processes_gives_what_one_by_one_replays_give() -> None:
    records, rows = _seeded_world(5)
    found = history(SESSIONS[0], SESSIONS[-1], records, rows)
    grid = variants(
        default_strategy(D(1000)),
        [parse_sweep("sizing.usd=300,700"), parse_sweep("exits.max_hold_days=2,5")],
        lambda strategy: ExitPolicy(max_hold_days=strategy.exits.max_hold_days),
    )
    params = Params(SESSIONS[0], SESSIONS[-1])

    one_by_one = run_sweep(found, grid, params, replay, workers=1)
    parallel = run_sweep(found, grid, params, replay, workers=2)
    evaluated = run_sweep(found, grid, params, evaluate, workers=2)

    assert [variant.label for variant in grid] == [
        "sizing.usd=300 exits.max_hold_days=2",
        "sizing.usd=300 exits.max_hold_days=5",
        "sizing.usd=700 exits.max_hold_days=2",
        "sizing.usd=700 exits.max_hold_days=5",
    ]
    assert [r.equity for r in parallel] == [r.equity for r in one_by_one]
    assert [r.fills for r in parallel] == [r.fills for r in one_by_one]
    assert len({r.final_equity for r in one_by_one}) == 4, "each variant replays differently"
    # Evaluated where they ran: the figures of the whole result, without its per-trade lists.
    assert [e.metrics for e in evaluated] == [strategy_metrics(r) for r in one_by_one]
    assert [e.attribution for e in evaluated] == [attribution(r) for r in one_by_one]
    assert [(e.result.fills, e.result.fill_count) for e in evaluated] == [
        ([], len(r.fills)) for r in one_by_one
    ]
    assert [e.result.equity for e in evaluated] == [r.equity for r in one_by_one]


def test_a_sweep_on_a_local_dask_cluster_gives_the_same_results() -> None:
    from distributed import LocalCluster

    records, rows = _seeded_world(5)
    found = history(SESSIONS[0], SESSIONS[-1], records, rows)
    grid = variants(
        default_strategy(D(1000)),
        [parse_sweep("exits.max_hold_days=1,3,6")],
        lambda strategy: ExitPolicy(max_hold_days=strategy.exits.max_hold_days),
    )
    params = Params(SESSIONS[0], SESSIONS[-1])
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_sweep(
            found, grid, params, evaluate_with_trades, dask_scheduler=cluster.scheduler_address
        )

    here = run_sweep(found, grid, params, evaluate_with_trades, workers=1)
    assert [e.result.fills for e in on_dask] == [e.result.fills for e in here]
    assert [e.metrics for e in on_dask] == [e.metrics for e in here]
    assert all(e.result.fills for e in here)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("sizing.usd", "write KEY=V1,V2,..."),
        ("sizing.usdd=1,2", "not a key of the strategy file; did you mean sizing.usd?"),
        ("sizing=1,2", "not a key of the strategy file"),
        ("sizing.usd=1,,2", "a value is empty"),
    ],
)
def test_a_bad_sweep_option_says_what_is_wrong(option: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message.replace(".", r"\.").replace("?", r"\?")):
        parse_sweep(option)


def test_a_sweep_value_the_strategy_refuses_names_the_key_and_the_rule() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        variants(
            default_strategy(D(1000)),
            [parse_sweep("exits.max_hold_days=5,-1")],
            lambda strategy: ExitPolicy(),
        )
    assert str(caught.value).startswith("--sweep exits.max_hold_days=-1: exits.max_hold_days:")


def test_a_list_key_takes_single_values_as_one_element_lists() -> None:
    grid = variants(
        default_strategy(D(1000)),
        [parse_sweep("members.chambers=house,senate")],
        lambda strategy: ExitPolicy(),
    )
    assert [[c.value for c in v.strategy.members.chambers] for v in grid] == [["house"], ["senate"]]
