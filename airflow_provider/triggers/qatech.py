"""QATechRunTrigger: waits for a QA.tech run in the triggerer, holding no worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class QATechRunTrigger(BaseTrigger):
    """Polls ``GET /run/{shortId}`` until the run is terminal or ``end_time`` passes; yields one event.

    The event is ``{"status": "terminal", "run": RunStatus.to_dict()}``, ``{"status": "timeout", ...}`` or
    ``{"status": "error", "message": ..., "retryable": ...}``; the operator or sensor judges it.

    The core client is synchronous (one HTTP stack, one retry policy for the whole package), so each read
    runs in a worker thread: the event loop itself never waits on the network, and the pauses between
    polls are ``asyncio.sleep``.

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
        from airflow_provider.hooks.qatech import QATechHook
        from qatech_orchestration.client import QATechClient
        from qatech_orchestration.errors import QATechError

        base = {"run_short_id": self.run_short_id, "run_url": self.run_url}
        client: QATechClient | None = None
        try:
            client = await QATechHook(self.conn_id, project_short_id=self.project_short_id).aget_client()
            while True:
                status = await asyncio.to_thread(client.get_run, self.run_short_id, "all")
                if status.is_terminal:
                    status_dict = status.to_dict()
                    status_dict["url"] = status.url or self.run_url
                    yield TriggerEvent({**base, "status": "terminal", "run": status_dict})
                    return
                remaining = self.end_time - time.time()
                if remaining <= 0:
                    yield TriggerEvent({**base, "status": "timeout", "last_status": status.state_label})
                    return
                self.log.info("QA.tech run %s is %s; next check in %.0f s", self.run_short_id, status.status,
                              min(self.poll_interval, remaining))  # fmt: skip
                await asyncio.sleep(min(self.poll_interval, remaining))
        except QATechError as exc:
            yield TriggerEvent(
                {**base, "status": "error", "message": str(exc), "retryable": exc.retryable,
                 "status_code": exc.status_code}
            )  # fmt: skip
        finally:
            if client is not None:
                client.close()
