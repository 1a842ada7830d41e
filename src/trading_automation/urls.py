"""The URLs and hosts in the settings: masking a URL's password, the database URL's driver,
loopback and paper-trading checks, and the list of alert URLs."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

PAPER_ALPACA_BASE_URL = "https://paper-api.alpaca.markets"
LIVE_ALPACA_HOST = "api.alpaca.markets"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MASK = "********"
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)(?=@)", re.I
)


def mask_url(url: str) -> str:
    """Replace the password of a URL (if any) with a mask; leave everything else readable."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, url)


def normalize_database_url(url: str) -> str:
    """Return a SQLAlchemy URL for a supported backend, choosing the psycopg 3 driver.

    Accepts `postgres://`, `postgresql://`, `postgresql+psycopg://` and `sqlite:///...`.
    """
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ValueError("not a URL; expected e.g. postgresql://user@host/db or sqlite:///file.db")
    scheme = scheme.lower()
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        if not rest.strip("/"):
            raise ValueError("a PostgreSQL URL needs a host or database name")
        return f"postgresql+psycopg://{rest}"
    if scheme in {"sqlite", "sqlite+pysqlite"}:
        return f"sqlite://{rest}"
    raise ValueError(
        f"unsupported scheme {scheme!r}; use postgresql:// (psycopg 3) or sqlite:///path"
    )


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and any loopback address (127.0.0.0/8, ::1)."""
    text = host.strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def is_paper_alpaca_url(url: str) -> bool:
    """True for Alpaca's paper endpoint and for local (sandbox) servers."""
    host = (urlsplit(url).hostname or "").lower()
    return host == urlsplit(PAPER_ALPACA_BASE_URL).hostname or host in LOOPBACK_HOSTS


APPRISE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_URL_SEPARATOR = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def split_notify_urls(text: str) -> list[str]:
    """NOTIFY_URLS as a list: URLs separated by spaces, newlines or commas (a comma inside a URL,
    as in `mailto://...?to=a@x.org,b@y.org`, stays)."""
    return [part.strip() for part in _URL_SEPARATOR.split(text.strip()) if part.strip()]


HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")


def is_ip_address(text: str) -> bool:
    """True for an IPv4 or IPv6 address written as such."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
