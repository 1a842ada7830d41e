"""`make bench` / `python -m benchmarks [--only B1,B4] [--quick]`: run and write RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg

from benchmarks import (
    b1_feed,
    b2_listing,
    b3_roundtrips,
    b4_startup,
    b5_claims,
    b6_open_job,
    b7_bars,
    b8_refresh,
    b9_backtrader,
    b10_period,
    b11_sweep,
    b12_overview,
)
from benchmarks.common import ADMIN_URL, Figure, libpq
from trading_automation.logs import configure_logging

HERE = Path(__file__).resolve().parent
SUITES: dict[str, Callable[..., list[Figure]]] = {
    "B1": b1_feed.run,
    "B2": b2_listing.run,
    "B3": b3_roundtrips.run,
    "B4": b4_startup.run,
    "B5": b5_claims.run,
    "B6": b6_open_job.run,
    "B7": b7_bars.run,
    "B8": b8_refresh.run,
    "B9": b9_backtrader.run,
    "B10": b10_period.run,
    "B11": b11_sweep.run,
    "B12": b12_overview.run,
}
QUICK: dict[str, dict[str, int]] = {
    "B1": {"count": 10_000, "repeat": 1},
    "B2": {"count": 1_000_000, "repeat": 5},
    "B3": {"count": 200, "repeat": 1},
    "B4": {"repeat": 10},
    "B6": {"repeat": 1},
    "B7": {"count": 300, "years": 1, "sqlite_years": 1},
    "B8": {"count": 300, "years": 1},
    "B9": {"symbols": 50, "years": 1, "per_session": 1, "dense": 5, "repeat": 1},
    "B10": {"count": 300, "years": 2, "per_day": 10},
    "B11": {"years": 1, "per_day": 20, "repeat": 1},
    "B12": {"count": 20_000, "repeat": 10},
}


def _machine() -> list[str]:
    with psycopg.connect(libpq(ADMIN_URL)) as connection:
        server = connection.execute("SHOW server_version").fetchone()
    import sqlite3

    packages = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("sqlalchemy", "psycopg", "alembic", "pydantic", "httpx", "click")
    )
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        f"- Python {platform.python_version()}, PostgreSQL {server[0] if server else '?'} "
        f"(local server, 127.0.0.1), SQLite {sqlite3.sqlite_version}",
        f"- packages: {packages}",
    ]


def _label(figure: Figure) -> str:
    """`B3` or, for a figure measured on one backend, `B3 (PostgreSQL)`."""
    backend = figure.what.split(":", 1)[0]
    return f"{figure.id} ({backend})" if backend in ("PostgreSQL", "SQLite") else figure.id


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def _table(figures: list[Figure]) -> list[str]:
    lines = [
        "| id | what | measured | baseline | ratio | target | holds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for figure in figures:
        baseline = (
            f"{_number(figure.baseline)} {figure.unit} — {figure.baseline_what}"
            if figure.baseline is not None
            else ""
        )
        holds = {True: "**yes**", False: "**no**", None: "n/a"}[figure.holds]
        ratio = f"{figure.ratio:.2f}×" if figure.ratio is not None else ""
        lines.append(
            f"| {figure.id} | {figure.what} | {_number(figure.value)} {figure.unit} | "
            f"{baseline} | {ratio} | {figure.target} | {holds} |"
        )
    return lines


def write_report(figures: list[Figure], path: Path, *, quick: bool) -> None:
    def by_number(ids: set[str]) -> list[str]:
        return sorted(ids, key=lambda id_: int(id_.removeprefix("B")))

    missed = by_number({f.id for f in figures if f.holds is False})
    held = by_number({f.id for f in figures if f.holds is True} - set(missed))
    lines = ["# Benchmark results", "", "Written by `make bench` (`python -m benchmarks`).", ""]
    lines += _machine()
    lines += [
        "",
        "Every figure is the median of several repetitions, measured against its baseline in the "
        "same run; ratios matter, absolute times move with the machine's load."
        + (" **Quick run: fewer rows and repetitions than the full benchmark.**" if quick else ""),
        "",
        f"**Targets that hold: {', '.join(held) or 'none'}. "
        f"Targets that do not hold: {', '.join(missed) or 'none'}.**",
        "",
    ]
    lines += _table(figures)
    notes = [(_label(f), note) for f in figures for note in f.notes]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {label}: {note}" for label, note in notes]
    history = HERE / "history.md"
    if history.exists():
        lines += ["", history.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B4")
    parser.add_argument("--quick", action="store_true", help="fewer rows and repetitions")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    configure_logging("WARNING")
    chosen = [name.strip().upper() for name in args.only.split(",")] if args.only else list(SUITES)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="ta-bench-") as scratch:
        for name in chosen:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            options = QUICK.get(name, {}) if args.quick else {}
            result = SUITES[name](Path(scratch), **options)
            for figure in result:
                print(
                    f"  {figure.what}: {_number(figure.value)} {figure.unit}"
                    + (f", {figure.ratio:.2f}× ({figure.target})" if figure.ratio else "")
                    + (f" holds={figure.holds}" if figure.holds is not None else ""),
                    file=sys.stderr,
                    flush=True,
                )
            figures += result
    write_report(figures, args.output, quick=args.quick)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
