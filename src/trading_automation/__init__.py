"""trading-automation: mirror congressional stock purchases through the Alpaca brokerage API."""

__version__ = "0.1.0"
