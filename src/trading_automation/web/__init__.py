"""The read-only dashboard: server-rendered pages and a JSON API over the database and Alpaca.

`trading_automation.web.app.create_app(settings)` builds the ASGI application; the `web` command
serves it. Nothing here is imported until that command (or a test) asks for it.
"""
