"""The console entry point (`trading-automation`, `python -m trading_automation`)."""

from __future__ import annotations


def main() -> None:
    """Run the command line in `sys.argv`."""
    from trading_automation.cli import main as cli_main

    cli_main()
