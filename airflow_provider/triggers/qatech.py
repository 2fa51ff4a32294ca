"""QATechRunTrigger: waits for a QA.tech run in the triggerer, holding no worker slot."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from qatech_orchestration.async_client import AsyncQATechClient
    from qatech_orchestration.models import RunStatus

#: Imported in a worker thread the first time: an import on the event loop would stall every trigger.
_ASYNC_STACK = ("aiohttp", "qatech_orchestration.async_client", "airflow_provider.hooks.qatech")


async def _import_async_stack() -> None:
    for name in _ASYNC_STACK:
        if name not in sys.modules:
            await asyncio.to_thread(importlib.import_module, name)


class QATechRunTrigger(BaseTrigger):
    """Polls ``GET /run/{shortId}`` until the run is terminal or ``end_time`` passes; yields one event.

    The event is ``{"status": "terminal", "run": RunStatus.to_event()}`` (status, result, counts, and the
    test cases that did not pass, capped), ``{"status": "timeout", "message": ...}`` or ``{"status": "error",
    "message": ..., "retryable": ...}``; the operator or sensor judges it.

    Reads are native async (aiohttp) on one pooled client per connection shared by every trigger in the
    triggerer (see :meth:`QATechHook.ashared_client`): no thread, no socket per wait. QA.tech not answering
    (refused, hung, 5xx, 429) is waited through until ``end_time``, backing off with ``asyncio.sleep``
    (:mod:`qatech_orchestration.waiting`); 401, 403 and a lasting 404 end the wait with an error event. Every
    read and every pause is cut at ``end_time``, so the timeout event comes on time whatever the API does. A
    trigger taken up after ``end_time`` (its triggerer was down or busy) reads the run once: a run that ended
    meanwhile gives its terminal event, not a timeout.

    :param run_short_id: the run to wait for.
    :param conn_id: the ``qatech`` connection.
    :param end_time: wall-clock deadline (``time.time()`` seconds).
    :param poll_interval: seconds between reads.
    :param run_url: the run's dashboard URL, for messages.
    :param project_short_id: overrides the connection's ``project_short_id``.
    """

    def __init__(
        self,
        run_short_id: str,
        conn_id: str,
        end_time: float,
        poll_interval: float = 30.0,
        run_url: str | None = None,
        project_short_id: str | None = None,
    ) -> None:
        super().__init__()
        self.run_short_id = run_short_id
        self.conn_id = conn_id
        self.end_time = end_time
        self.poll_interval = poll_interval
        self.run_url = run_url
        self.project_short_id = project_short_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # The same classpath and kwargs as triggers already stored in metadata databases.
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "run_short_id": self.run_short_id,
                "conn_id": self.conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "run_url": self.run_url,
                "project_short_id": self.project_short_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        base = {"run_short_id": self.run_short_id, "run_url": self.run_url}
        try:
            await _import_async_stack()
        except ImportError as exc:  # a triggerer installed without the extra: the task fails saying so
            from airflow_provider.extras import AIRFLOW_EXTRA_INSTALL

            message = f"the triggerer cannot wait for QA.tech runs ({exc}): {AIRFLOW_EXTRA_INSTALL} in its environment"
            yield TriggerEvent({**base, "status": "error", "message": message, "retryable": False,
                                "status_code": None})  # fmt: skip
            return
        from airflow_provider.hooks.qatech import QATechHook
        from qatech_orchestration.errors import QATechError, QATechWaitTimeout

        remaining = self.end_time - time.time()
        try:
            async with QATechHook(self.conn_id, project_short_id=self.project_short_id).ashared_client() as client:
                if remaining <= 0:  # taken up late (a triggerer down, a busy one): the run may be over by now
                    status = await self._last_look(client, -remaining)
                else:
                    status = await client.wait_for_run(
                        self.run_short_id,
                        poll_interval=self.poll_interval,
                        timeout=remaining,
                        run_url=self.run_url,
                        on_poll=_StateLog(self.log, self.poll_interval),
                        log=self.log,
                    )
        except QATechWaitTimeout as exc:  # with the last status read: the task's run_summary lists its test cases
            last = exc.last_status.to_event() if exc.last_status is not None else None
            yield TriggerEvent({**base, "status": "timeout", "message": str(exc), "last": last})
            return
        except QATechError as exc:
            yield TriggerEvent({**base, "status": "error", "message": str(exc), "retryable": exc.retryable,
                                "status_code": exc.status_code})  # fmt: skip
            return
        event = status.to_event()
        event["url"] = status.url or self.run_url
        yield TriggerEvent({**base, "status": "terminal", "run": event})

    async def _last_look(self, client: AsyncQATechClient, late: float) -> RunStatus:
        """One status read for a wait whose deadline passed before it started: the terminal status, or the
        timeout (what the read found, and that the run goes on)."""
        from qatech_orchestration.errors import QATechError, QATechWaitTimeout

        where = f"QA.tech run {self.run_short_id}" + (f" ({self.run_url})" if self.run_url else "")
        status: RunStatus | None = None
        try:
            status = await client.get_run(self.run_short_id, test_cases="all")
        except QATechError as exc:
            found = f"its status could not be read: {exc}"
        else:
            if status.is_terminal:
                return status if status.url or not self.run_url else replace(status, url=self.run_url)
            found = f"last status {status.state_label}"
        raise QATechWaitTimeout(
            f"{where} did not finish before the wait's deadline, which had passed {late:.0f} s before the "
            f"triggerer took the wait up ({found}); the run goes on in QA.tech, which has no cancel endpoint",
            run_short_id=self.run_short_id,
            run_url=self.run_url,
            last_status=status,
        )


class _StateLog:
    """INFO when a run's status changes, DEBUG otherwise: ten thousand waits log little."""

    def __init__(self, log: Any, poll_interval: float) -> None:
        self._log = log
        self._poll_interval = poll_interval
        self._last: str | None = None

    def __call__(self, status: RunStatus) -> None:
        if status.is_terminal:
            return
        say = self._log.info if status.state_label != self._last else self._log.debug
        self._last = status.state_label
        say(f"QA.tech run {status.short_id} is {self._last}; next check in {self._poll_interval:g} s")
