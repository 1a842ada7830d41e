"""`--env-file` and `.env`: a named file must exist, unknown keys are warned about, and a line
that cannot be read stops the command."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run_cli
from tests.test_cli_errors import one_error_line


def shown(stdout: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in stdout.splitlines() if line.strip())


def test_an_env_file_named_explicitly_must_exist(tmp_path: Path) -> None:
    result = run_cli("--env-file", "missing.env", "config", "show", cwd=tmp_path)

    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "'--env-file'" in line
    assert "missing.env" in line
    assert "does not exist" in line
    assert result.stdout == ""


def test_the_default_env_file_may_be_missing(tmp_path: Path) -> None:
    result = run_cli("config", "show", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert shown(result.stdout)["PAPER_TRADING"] == "true"


def test_unknown_keys_in_the_env_file_are_warned_about_naming_the_closest_setting(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text(
        "# a comment\nPAPER_TRADNG=false\nTRADE_NOTIONAL=500\nLOG_LEVEL=warning\nZZQX=1\n"
    )

    result = run_cli("config", "show", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: .env, line 2: PAPER_TRADNG is not a setting and is ignored; "
        "did you mean PAPER_TRADING?",
        "warning: .env, line 3: TRADE_NOTIONAL is not a setting and is ignored; "
        "did you mean TRADE_NOTIONAL_USD?",
        "warning: .env, line 5: ZZQX is not a setting and is ignored; "
        ".env.example lists every setting",
    ]
    values = shown(result.stdout)
    assert values["PAPER_TRADING"] == "true"
    assert values["TRADE_NOTIONAL_USD"] == "1000"
    assert values["LOG_LEVEL"] == "WARNING"


def test_variables_of_other_programs_in_the_environment_are_not_warned_about(
    tmp_path: Path,
) -> None:
    (tmp_path / "custom.env").write_text("LOG_LEVEL=error\n")

    result = run_cli(
        "--env-file",
        "custom.env",
        "config",
        "show",
        env={"PAPER_TRADNG": "false", "EDITOR": "vi", "PGPASSWORD": "x"},
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert shown(result.stdout)["LOG_LEVEL"] == "ERROR"


def test_a_line_that_cannot_be_parsed_is_a_configuration_error_naming_file_and_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "broken.env").write_text(
        'LOG_LEVEL=debug\nALPACA_SECRET_KEY="sk-unclosed-secret-99\nTRADING_ENABLED=false\n'
    )

    result = run_cli("--env-file", "broken.env", "config", "show", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "broken.env, line 2: not KEY=value" in result.stderr
    assert "sk-unclosed-secret-99" not in result.stderr
