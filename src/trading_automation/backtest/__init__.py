"""The backtest: stored history replayed, day by day, through the live run's decision code.

`history` loads the disclosures and daily bars of a period; `engine` replays them with the
strategy's `decide` and the exits' `decide_exits`, filling at each day's open; `metrics` and
`report` say how it went.
"""
