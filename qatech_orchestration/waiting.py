"""How a wait for a run lives through QA.tech's bad minutes.

A wait reads a run's status every poll interval until the run is over or the wait's deadline passes. An hour
of waiting meets trouble: a gateway answering 502 for a minute, refused connections during a deploy, a read
that hangs, a proxy's HTML page. None of that says anything about the run, so none of it may end the wait
while the wait has time left. Each read of a wait is one attempt; :class:`RunWait` decides what follows it,
for every way of waiting (the sync and async clients' ``wait_for_run``, Airflow's trigger and sensor, the
Dagster op and asset check):

==============================================  ===================================================
what the read got                               what the wait does
==============================================  ===================================================
a status                                        poll on (or return it when terminal)
no answer, 5xx, 429, an unreadable body         wait on: back off (exponential, jitter, capped at
                                                the poll interval; a 429's Retry-After honoured),
                                                never past the deadline
404                                             wait on for one poll interval (a run may be read
                                                before QA.tech lists it), then fail
401, 403, 400, JSON that is not a status        fail at once: waiting cannot change it
==============================================  ===================================================

One WARNING says when QA.tech stops answering and one INFO when it answers again; the attempts between
log at DEBUG. A wait whose deadline comes during an outage says so (how long, the last error, the run URL).
Nothing here does I/O: the transports read and sleep, this module decides.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from qatech_orchestration.errors import (
    QATechBadResponseError,
    QATechError,
    QATechNotFoundError,
    QATechRateLimitError,
    QATechServerError,
    QATechWaitTimeout,
)
from qatech_orchestration.models import RunStatus
from qatech_orchestration.retry import RetryPolicy
from qatech_orchestration.validation import check_positive_number, check_run_short_id

_log = logging.getLogger("qatech_orchestration.wait")

#: A single attempt per read: a wait does its own backing off, across its whole window.
ONE_ATTEMPT = RetryPolicy(max_retries=0)


class WaitLog(Protocol):
    """Where a wait says what it does: a ``logging.Logger``, an Airflow task's ``self.log``, Dagster's
    ``context.log`` (each line is one preformatted string)."""

    def debug(self, msg: str, /) -> object: ...
    def info(self, msg: str, /) -> object: ...
    def warning(self, msg: str, /) -> object: ...


def is_transient(exc: QATechError) -> bool:
    """Trouble that says nothing about the run: no answer, 5xx, 429, or a body that could not be read as
    JSON (a proxy's page, a truncated or too-slow answer). A wait outlives it."""
    if isinstance(exc, QATechBadResponseError):
        return exc.unreadable
    return isinstance(exc, QATechServerError | QATechRateLimitError)


class RunWait:
    """The state of one wait: its deadline, the outage it may be in, a 404 it may have seen.

    Call :meth:`answered` with every status read and :meth:`failed` with every failed read; :meth:`pause`
    bounds a pause by the deadline. ``policy`` gives the backoff (``backoff_factor``, ``backoff_max``,
    ``retry_after_max``); its ``max_retries`` does not apply: a wait retries until its deadline.
    """

    def __init__(
        self,
        short_id: str,
        *,
        poll_interval: float,
        timeout: float,
        run_url: str | None = None,
        policy: RetryPolicy | None = None,
        log: WaitLog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.short_id = check_run_short_id(short_id)
        self.poll_interval = check_positive_number(poll_interval, "poll_interval")
        self.timeout = check_positive_number(timeout, "timeout")
        self.run_url = run_url
        policy = policy or RetryPolicy()
        # Capped at the poll interval: when QA.tech comes back, every wait has read again within one interval.
        self._backoff = replace(policy, backoff_max=min(policy.backoff_max, self.poll_interval))
        self._log: WaitLog = log or _log
        self._clock = clock
        self.started = clock()
        self.deadline = self.started + self.timeout
        self.last_state = "no status read yet"
        #: the last status read (the test cases a report of a timed-out wait lists)
        self.last_status: RunStatus | None = None
        self._warned_statuses: set[str] = set()
        self.outage_since: float | None = None
        self.failed_reads = 0
        self.last_error: QATechError | None = None
        self._not_found_since: float | None = None

    @property
    def _where(self) -> str:
        return f"QA.tech run {self.short_id}" + (f" ({self.run_url})" if self.run_url else "")

    def with_url(self, status: RunStatus) -> RunStatus:
        """The status with the run's URL (QA.tech's status answer has none)."""
        return status if status.url or not self.run_url else replace(status, url=self.run_url)

    def answered(self, status: RunStatus) -> None:
        """A status was read: an outage (or a 404) is over."""
        now = self._clock()
        if self.outage_since is not None:
            self._log.info(
                f"QA.tech answers again: {self._where} is {status.state_label}, after {now - self.outage_since:.0f} s "
                f"without an answer ({self.failed_reads} failed read(s))"
            )
        self.outage_since, self.failed_reads, self._not_found_since = None, 0, None
        self.last_status = status
        self.last_state = f"last status {status.state_label}"
        if not status.is_known and status.status not in self._warned_statuses:
            self._warned_statuses.add(status.status)
            self._log.warning(
                f"QA.tech run {self.short_id} reports an unknown status {status.status!r}; waiting on as if it "
                "were running."
            )

    def failed(self, exc: QATechError) -> float:
        """A read failed: the seconds to wait before the next one, or raise when waiting cannot help.

        Raises ``exc`` (with the run URL) when it is definite: 401, 403, 400, a status that is not one, a 404
        that lasted a poll interval; :meth:`timed_out` when the next read would come after the deadline (a
        ``Retry-After`` is honoured, capped at ``retry_after_max``).
        """
        now = self._clock()
        exc = exc if exc.run_url or not self.run_url else exc.evolve(run_url=self.run_url)
        self.last_error = exc
        if isinstance(exc, QATechNotFoundError):
            if self._not_found_since is None:
                self._not_found_since = now
                self._log.info(f"{self._where} not found yet (HTTP 404); reading it again in {self.poll_interval:g} s")
            gone_for = now - self._not_found_since
            if gone_for >= self.poll_interval:
                raise exc.evolve(message=f"{exc.message} (still not found {gone_for:.0f} s after the first 404)")
            return self._before_deadline(self.poll_interval - gone_for, now)
        if not is_transient(exc):
            raise exc
        self.failed_reads += 1
        if self.outage_since is None:
            self.outage_since = now
            self._log.warning(
                f"QA.tech is not answering while waiting for {self._where}: {exc}; waiting on with backoff "
                f"(up to {self._backoff.backoff_max:g} s between reads, {max(self.deadline - now, 0):.0f} s left)"
            )
        else:
            self._log.debug(f"{self._where}: read {self.failed_reads} of this outage failed: {exc}")
        return self._before_deadline(self._backoff.delay(self.failed_reads, exc.retry_after), now)

    def _before_deadline(self, delay: float, now: float) -> float:
        # A read after the deadline could not count: time out now rather than sleep to see it fail.
        if now + delay >= self.deadline:
            raise self.timed_out()
        return delay

    def after(
        self, read: RunStatus | QATechError, on_poll: Callable[[RunStatus], None] | None = None
    ) -> float | RunStatus:
        """What follows a read, for the transports' loops: the seconds to pause before the next read, or the
        run's terminal status (with its URL). Raises what ends the wait (a definite error, a timeout)."""
        if isinstance(read, QATechError):
            return self.pause(self.failed(read))
        status = self.with_url(read)
        self.answered(status)
        if on_poll is not None:
            on_poll(status)
        return status if status.is_terminal else self.pause(self.poll_interval)

    def pause(self, seconds: float) -> float:
        """``seconds`` cut at the deadline; :meth:`timed_out` is raised when no time is left."""
        remaining = self.deadline - self._clock()
        if remaining <= 0:
            raise self.timed_out()
        return min(seconds, remaining)

    def timed_out(self) -> QATechWaitTimeout:
        """The error of a wait whose deadline passed (during an outage: how long, and the last error)."""
        if self.outage_since is not None and self.last_error is not None:
            error = self.last_error
            detail = error.message
            if error.status_code and f"HTTP {error.status_code}" not in detail:
                detail = f"HTTP {error.status_code}: {detail}"
            where = (
                f"no usable answer from QA.tech for {self._clock() - self.outage_since:.0f} s "
                f"({self.failed_reads} failed read(s); last error: {detail})"
            )
        else:
            where = self.last_state
        return QATechWaitTimeout(
            f"QA.tech run {self.short_id} did not finish within {self.timeout:g} s ({where}); the run goes on in "
            "QA.tech, which has no cancel endpoint",
            run_short_id=self.short_id,
            run_url=self.run_url,
            last_status=self.last_status,
        )
