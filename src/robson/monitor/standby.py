"""A standby `robson run`: it waits for the lease another one holds, trying again at every poll, and takes over
the watch when that one ends (stopped, or killed: the lease ends with its process)."""

from __future__ import annotations

from collections.abc import Callable

from robson.ports import Lease


def take_over(lease: Lease, stop: Callable[[], bool], wait: Callable[[], None]) -> bool:
    """Try for the lease until it is held (True) or `stop()` says to give up (False); `wait` paces the tries."""
    while not stop():
        if lease.acquire():
            return True
        wait()
    return False
