"""The backtest: stored history replayed, day by day, through the live run's decision code.

`history` loads the disclosures and daily bars of a period; `engine` replays them with the
strategy's `decide` and the exits' `decide_exits`, filling at each day's open; `metrics` and
`attribution` say how it went and `report` writes it down; `sweep` replays a grid of strategies
on processes or a Dask cluster; `runner` stores each run; `demo` fetches the sandbox's history.
"""
