"""The thread-based trigger design of qatech-orchestration 0.1.0, kept only to be measured beside its
replacement: a sync client (and socket) per trigger, each read in ``asyncio.to_thread`` (the loop's default
pool of ``min(32, cores + 4)`` threads)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from qatech_orchestration import QATechClient


class LegacyThreadTrigger:
    def __init__(self, run_short_id: str, client_kwargs: dict[str, Any], end_time: float, poll_interval: float):
        self.run_short_id, self.client_kwargs = run_short_id, client_kwargs
        self.end_time, self.poll_interval = end_time, poll_interval

    async def run(self) -> AsyncIterator[dict[str, Any]]:
        client = QATechClient(**self.client_kwargs)
        try:
            while True:
                status = await asyncio.to_thread(client.get_run, self.run_short_id, "all")
                if status.is_terminal:
                    yield {"status": "terminal", "run": status.to_dict()}
                    return
                remaining = self.end_time - time.time()
                if remaining <= 0:
                    yield {"status": "timeout", "last_status": status.state_label}
                    return
                await asyncio.sleep(min(self.poll_interval, remaining))
        finally:
            client.close()
