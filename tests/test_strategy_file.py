"""The strategy file: validated at start-up, every error naming its key, defaults filled in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.test_cli import run_cli
from trading_automation.domain.exits import PartialSale
from trading_automation.domain.strategy import Chamber, Party, default_strategy
from trading_automation.errors import ConfigurationError
from trading_automation.strategy_file import (
    load_strategy,
    member_warnings,
    parse_strategy,
)
from trading_automation.worker.exits import exit_policy

EXAMPLE = Path(__file__).resolve().parent.parent / "strategy.example.toml"


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        parse_strategy(text, source="s.toml")
    return caught.value.problems


def test_the_shipped_example_is_a_valid_strategy() -> None:
    strategy = parse_strategy(EXAMPLE.read_bytes())

    assert strategy.sizing.method == "scaled"
    assert strategy.members.chambers == (Chamber.HOUSE, Chamber.SENATE)
    assert strategy.limits.max_symbol_pct == Decimal(10)


def test_decimals_are_read_exactly_never_as_binary_floats() -> None:
    strategy = parse_strategy("[sizing]\nusd = 1000.10\nmin_usd = 0.10\n")

    assert strategy.sizing.usd == Decimal("1000.10")
    assert str(strategy.sizing.min_usd) == "0.10"


def test_an_unknown_key_is_an_error_naming_the_closest_known_key() -> None:
    problems = _problems(
        "max_report_lag_days = 45\n[sizng]\nusd = 5\n[sizing]\nnotional = 100\n"
        "[[sizing.brackets]]\nfrom_usd = 1001\nmultplier = 2\n[limits]\nmax_symbol_pc = 5\n"
    )

    assert "s.toml: sizng: not a key of the strategy file; did you mean sizing?" in problems
    assert (
        "s.toml: max_report_lag_days: not a key of the strategy file; did you mean "
        "filings.max_report_lag_days?"
    ) in problems
    assert "s.toml: sizing.notional: not a key of the strategy file; did you mean sizing.usd?" in (
        problems
    )
    assert (
        "s.toml: sizing.brackets[0].multplier: not a key of the strategy file; did you mean "
        "sizing.brackets[0].multiplier?"
    ) in problems
    assert "s.toml: sizing.brackets[0].multiplier: required" in problems
    assert (
        "s.toml: limits.max_symbol_pc: not a key of the strategy file; did you mean "
        "limits.max_symbol_pct?"
    ) in problems


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[sizing]\nmethod = "fix"',
            "s.toml: sizing.method: must be 'fixed', 'equity_pct' or 'scaled' (got 'fix')",
        ),
        ("[sizing]\nusd = -5", "s.toml: sizing.usd: must be greater than 0 (got -5)"),
        (
            "[sizing]\nmin_usd = 1.005",
            "s.toml: sizing.min_usd: must have at most 2 decimal places (got 1.005)",
        ),
        (
            '[sizing]\nmethod = "equity_pct"',
            "s.toml: sizing.equity_pct: required when method is 'equity_pct' (percent, 0-100)",
        ),
        (
            '[sizing]\nmethod = "scaled"',
            "s.toml: sizing.brackets: required when method is 'scaled' (a list of "
            "{from_usd, multiplier})",
        ),
        (
            "[sizing]\nmin_usd = 50\nmax_usd = 20",
            "s.toml: sizing.max_usd: must not be below min_usd (50)",
        ),
        (
            '[members]\nparties = ["green"]',
            "s.toml: members.parties: 'green' is not a party; expected 'democrat', "
            "'republican' or 'independent' (or D, R, I)",
        ),
        (
            '[members]\nchambers = ["assembly"]',
            "s.toml: members.chambers: 'assembly' is not a chamber; expected 'house' or 'senate'",
        ),
        (
            '[members]\ninclude = ["Hon. J."]',
            "s.toml: members.include: 'Hon. J.' is neither a member's name nor a BioGuide ID "
            "(like P000197)",
        ),
        (
            "[limits]\nmax_symbol_pct = 150",
            "s.toml: limits.max_symbol_pct: must be less than or equal to 100 (got 150)",
        ),
        (
            "[filings]\nmax_report_lag_days = -1",
            "s.toml: filings.max_report_lag_days: must be greater than or equal to 0 (got -1)",
        ),
        (
            "[sizing\n",
            "s.toml: not valid TOML: Expected ']' at the end of a table declaration "
            "(at line 1, column 8)",
        ),
    ],
)
def test_each_error_names_the_key_and_what_is_allowed(text: str, said: str) -> None:
    assert _problems(text) == [said]


def test_without_a_strategy_file_the_strategy_is_todays_fixed_notional() -> None:
    settings = make_settings("sqlite:///unused.db", trade_notional_usd="750")

    loaded = load_strategy(settings)

    assert loaded.path is None
    assert loaded.strategy == default_strategy(Decimal(750))
    assert loaded.strategy.sizing.usd == Decimal(750)
    assert not loaded.strategy.needs_account


def test_a_file_leaving_out_the_dollars_takes_trade_notional_usd(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[members]\nparties = ["R"]\n')
    settings = make_settings(
        "sqlite:///unused.db", trade_notional_usd="250", strategy_file=str(path)
    )

    loaded = load_strategy(settings)

    assert loaded.strategy.sizing.usd == Decimal(250)
    assert loaded.strategy.members.parties == (Party.REPUBLICAN,)
    assert loaded.usd_from_settings
    assert loaded.sha256 is not None
    assert len(loaded.sha256) == 64


def test_the_files_exit_settings_win_over_the_environment_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[exits]\nmax_hold_days = 20\npartial_sale = "none"\n')
    settings = make_settings(
        "sqlite:///unused.db",
        strategy_file=str(path),
        max_hold_days=60,
        stop_loss_pct="10",
    )

    loaded = load_strategy(settings)
    policy = exit_policy(settings, loaded.strategy)

    assert policy.max_hold_days == 20
    assert policy.partial_sale is PartialSale.NONE
    assert policy.stop_loss_pct == Decimal(10)  # the file leaves it: the environment's stands
    assert loaded.warnings == (
        f"{path} sets exits.max_hold_days = 20; MAX_HOLD_DAYS=60 from the environment is "
        "ignored (the strategy file wins)",
    )


def test_a_missing_strategy_file_is_a_configuration_error(tmp_path: Path) -> None:
    settings = make_settings("sqlite:///unused.db", strategy_file=str(tmp_path / "none.toml"))

    with pytest.raises(ConfigurationError) as caught:
        load_strategy(settings)

    assert caught.value.problems == [
        f"STRATEGY_FILE: {tmp_path / 'none.toml'} cannot be read (No such file or directory)"
    ]


def test_a_member_no_stored_filing_names_is_warned_about_with_the_closest_names() -> None:
    strategy = parse_strategy(
        '[members]\ninclude = ["Nancy Peloci", "Tommy Tuberville", "P000197"]\n'
        'exclude = ["Rick Scot"]\n'
    )
    stored = ["Nancy Pelosi", "Thomas H. Tuberville", "Rick Scott", "Austin Scott"]

    assert member_warnings(strategy, stored) == [
        "members.include: 'Nancy Peloci' matches no stored filing; closest names seen: "
        "Nancy Pelosi",
        "members.exclude: 'Rick Scot' matches no stored filing; closest names seen: Rick Scott, "
        "Austin Scott",
    ]


def test_strategy_check_prints_the_effective_strategy_which_reads_back_the_same(
    tmp_path: Path,
) -> None:
    result = run_cli("strategy", "check", str(EXAMPLE), env={"MAX_HOLD_DAYS": "30"}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert parse_strategy(result.stdout) == parse_strategy(EXAMPLE.read_bytes())
    assert "max_hold_days = 120  # from the file" in result.stdout
    assert "MAX_HOLD_DAYS=30 from the environment is ignored" in result.stderr


def test_strategy_check_without_a_file_prints_todays_behaviour(tmp_path: Path) -> None:
    result = run_cli("strategy", "check", env={"TRADE_NOTIONAL_USD": "500"}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert 'method = "fixed"' in result.stdout
    assert "usd = 500  # TRADE_NOTIONAL_USD" in result.stdout
    assert "# max_open_positions: not set (no limit)" in result.stdout


def test_every_command_refuses_a_bad_strategy_file_in_one_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[sizing]\nmethod = "fix"\nnotional = 5\n')

    result = run_cli("config", "show", env={"STRATEGY_FILE": str(bad)}, cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}: sizing.method: must be 'fixed', 'equity_pct' or 'scaled'" in result.stderr
    assert f"{bad}: sizing.notional: not a key of the strategy file; did you mean sizing.usd?" in (
        result.stderr
    )


def test_the_readme_shows_the_shipped_example_word_for_word() -> None:
    readme = (EXAMPLE.parent / "README.md").read_text()
    section = readme[readme.index("## The strategy") :]
    start = section.index("```toml\n") + len("```toml\n")
    block = section[start : section.index("\n```", start)]

    assert block == EXAMPLE.read_text().rstrip("\n")
    assert parse_strategy(block) == parse_strategy(EXAMPLE.read_bytes())
