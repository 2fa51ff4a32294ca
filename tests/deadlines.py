"""One factor for every deadline in the tests, so that a busy machine slows them down without failing them.

``QATECH_TEST_TIMEOUT_SCALE`` (a number; default 1, and 2 under ``CI=true``) multiplies the deadlines a
passing test must never reach: readiness waits, subprocess timeouts, waits for a run that finishes, and
pytest-timeout's per-test limit (``tests/conftest.py``). Deadlines that a test means to hit (a wait that must
time out) stay as written. Readiness is polled (:func:`poll_until`), never slept for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _scale() -> float:
    raw = os.environ.get("QATECH_TEST_TIMEOUT_SCALE", "").strip()
    if not raw:
        return 2.0 if os.environ.get("CI", "").lower() == "true" else 1.0
    value = float(raw)
    if not value > 0:
        raise ValueError(f"QATECH_TEST_TIMEOUT_SCALE: {raw!r} is not a number > 0")
    return value


SCALE = _scale()


def scaled(seconds: float) -> float:
    """``seconds`` times the deadline factor."""
    return seconds * SCALE


def poll_until(
    what: str,
    check: Callable[[], T | None],
    timeout: float,
    interval: float = 0.05,
    details: Callable[[], str] = lambda: "",
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """``check()``'s first truthy value, polled every ``interval`` until ``scaled(timeout)``; an exception in
    ``retry_on`` counts as "not yet". On time-out an ``AssertionError`` names ``what`` and shows ``details()``
    (e.g. the output of the process waited for) and the last exception."""
    end = time.monotonic() + scaled(timeout)
    last: BaseException | None = None
    while True:
        try:
            value = check()
        except retry_on as exc:
            value, last = None, exc
        if value:
            return value
        if time.monotonic() >= end:
            break
        time.sleep(interval)
    why = f" (last: {last!r})" if last is not None else ""
    raise AssertionError(f"timed out after {scaled(timeout):.0f} s waiting for {what}{why}\n{details()}")
