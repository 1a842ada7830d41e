"""Who holds a job run: this host and process, and whether a recorded holder is still alive."""

from __future__ import annotations

import os
import secrets
import socket
from functools import cache
from pathlib import Path


@cache
def process_owner() -> str:
    """`host:pid:token` for this process; the token tells apart processes that reuse a pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def is_dead_local_owner(owner: str | None) -> bool:
    """True only when `owner` names a process on this host that no longer runs.

    Any doubt (another host, a pid that is alive or was reused, an unreadable owner) answers
    False: the caller then waits for the lease to expire instead of taking over a live run.
    """
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A killed child that nobody reaped yet is a zombie: present, but it will never work again.
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state == "Z"
