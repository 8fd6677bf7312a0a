"""The tests' one poll loop: waits for something that happens in another thread or process (a
service, an indexer, a node), and fails the test saying what never happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.05
"""Seconds between two checks."""


def wait_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    log: Callable[[], str] | None = None,
) -> T:
    """Polls `check` until it returns something other than None or False, and returns that.

    Args:
        check: the condition; returns None or False while it does not hold yet (or raises to
            fail at once, e.g. when the process it waits for has exited).
        timeout: seconds after which the test fails.
        what: what is awaited, for the failure message ("the indexer to reach block 7").
        log: called on failure; what it returns (the end of a log) is added to the message.

    Raises:
        AssertionError: `check` did not hold within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            message = f"timed out after {timeout:.0f}s waiting for {what}"
            raise AssertionError(f"{message}\n{log()}" if log is not None else message)
        time.sleep(INTERVAL)
