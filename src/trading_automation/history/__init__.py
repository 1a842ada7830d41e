"""History: years of disclosures and daily prices in the database, fetched within every limit.

`disclosures.DisclosureFetch` pages through Quiver's whole congress-trading history into the feed,
within the bulk endpoints' shared budget, resumable; `prices.PriceFetch` keeps daily bars of every
ticker current, incrementally, within Alpaca's rate limit. Both survive a kill at any moment.
"""
