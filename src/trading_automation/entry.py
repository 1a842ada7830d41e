"""The console entry point (`trading-automation`, `python -m trading_automation`).

`trading-automation --help` is answered from the text kept here, without importing Click: Click
alone takes three times as long to import as Python takes to start. Every other command line goes
to the Click application in `trading_automation.cli`, which imports each command when it runs.
"""

from __future__ import annotations

import os
import sys

# Click's own rendering of `trading-automation --help`, which is the same on every terminal of
# 80 columns or more (its help is at most 80 wide). A test keeps the two equal.
ROOT_HELP = """\
Usage: trading-automation [OPTIONS] COMMAND [ARGS]...

  Mirror congressional stock purchases with fixed-dollar Alpaca orders.

Options:
  --version        Show the version and exit.
  --env-file FILE  File of KEY=value settings read after the environment
                   (missing file is fine).  [default: .env]
  -h, --help       Show this message and exit.

Commands:
  config     Inspect the effective configuration.
  db         Migrate and inspect the database (migrations use
             DIRECT_DATABASE_URL when set).
  demo       Run the open-job against the local sandbox on an embedded
             database, twice.
  open-job   The daily run at the market open: collect new BUY filings and buy
             each one.
  reconcile  Bring every open trade up to date from Alpaca and print what
             changed.
  sandbox    Run local Quiver and Alpaca (trading and market data) servers
             until Ctrl-C.
  web        Serve the dashboard (pages and JSON API) until Ctrl-C.
"""
HELP_ARGUMENTS = (["--help"], ["-h"])
HELP_WIDTH = 80


def main() -> None:
    """Run the command line in `sys.argv`."""
    arguments = sys.argv[1:]
    if arguments in HELP_ARGUMENTS and terminal_columns() >= HELP_WIDTH:
        sys.stdout.write(ROOT_HELP)
        return
    from trading_automation.cli import main as cli_main

    cli_main(arguments)


def terminal_columns() -> int:
    """The terminal width as Click's help formatter reads it (`shutil.get_terminal_size`:
    COLUMNS, else the terminal on stdout, else 80), without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else HELP_WIDTH
