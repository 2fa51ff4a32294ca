"""What a long wait says while it waits: each status change at once, and where it stands every few minutes.

A QA.tech run can take an hour; a wait that logs nothing between "started" and the verdict looks hung.
Pass a :class:`ProgressLog` as ``on_poll`` to :meth:`QATechClient.wait_for_run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qatech_orchestration.models import TERMINAL_STATUSES, RunStatus

#: Seconds between "still running" lines when the status does not change.
DEFAULT_PROGRESS_EVERY = 180.0


class ProgressLog:
    """Calls ``log(message)`` on each status change and, between changes, every ``every`` seconds."""

    def __init__(
        self,
        log: Callable[[str], object],
        *,
        every: float = DEFAULT_PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._every = every
        self._clock = clock
        self._started = clock()
        self._last_state: str | None = None
        self._last_logged = self._started
        #: the last status seen (what the report of a wait that ended before the run did lists)
        self.last: RunStatus | None = None

    def __call__(self, status: RunStatus) -> None:
        self.last = status
        now = self._clock()
        state = status.state_label
        if state != self._last_state:
            self._log(f"QA.tech run {status.short_id}: {state}{_progress(status)}")
        elif now - self._last_logged >= self._every:
            minutes = (now - self._started) / 60
            self._log(f"QA.tech run {status.short_id}: still {state} after {minutes:.0f} min{_progress(status)}")
        else:
            return
        self._last_state, self._last_logged = state, now


def _progress(status: RunStatus) -> str:
    counts = status.counts()
    if not counts["total"]:
        return ""
    finished = sum(1 for case in status.test_cases if case.status in TERMINAL_STATUSES)
    return f" ({finished}/{counts['total']} test cases finished, {counts['failed']} failed)"
