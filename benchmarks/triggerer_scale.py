"""Many QATechRunTrigger instances waiting at once in one event loop, as in Airflow's triggerer.

Each run needs at least one start and ``polls_to_finish`` status reads (the emulator reports INITIATED,
RUNNING, then COMPLETED); the ideal wall time is ``(polls_to_finish - 1) * poll_interval``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from typing import Any

from _common import TOKEN, airflow_env, emulator_process, stats


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(count: int, poll_interval: float, polls_to_finish: int = 3) -> dict[str, Any]:
    os.environ.update(airflow_env())
    with emulator_process(polls_to_finish=polls_to_finish) as base_url:
        os.environ["AIRFLOW_CONN_QATECH_DEFAULT"] = json.dumps(
            {"conn_type": "qatech", "password": TOKEN, "host": base_url}
        )
        from airflow_provider.triggers.qatech import QATechRunTrigger
        from qatech_orchestration import QATechClient

        starter = QATechClient(TOKEN, base_url=base_url)
        short_ids = [starter.start_run().short_id for _ in range(count)]
        starter.close()
        rss_before = _rss_mb()
        peak = [rss_before]

        async def consume(trigger: QATechRunTrigger) -> dict[str, Any]:
            events = [event.payload async for event in trigger.run()]
            assert len(events) == 1, events
            return events[0]

        async def sample_memory(done: asyncio.Event) -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_mb())
                await asyncio.sleep(0.05)

        async def main() -> list[dict[str, Any]]:
            done = asyncio.Event()
            sampler = asyncio.create_task(sample_memory(done))
            end = time.time() + 600
            triggers = [QATechRunTrigger(run_short_id=s, conn_id="qatech_default", end_time=end,
                                         poll_interval=poll_interval) for s in short_ids]  # fmt: skip
            events = await asyncio.gather(*(consume(t) for t in triggers))
            done.set()
            await sampler
            return list(events)

        began = time.perf_counter()
        events = asyncio.run(main())
        wall = time.perf_counter() - began
        counts = stats(base_url)["requests"]
    finished = sum(1 for e in events if e["status"] == "terminal" and e["run"]["result"] == "PASSED")
    ideal = (polls_to_finish - 1) * poll_interval
    return {
        "triggers": count,
        "all_finished": finished == count,
        "poll_interval_s": poll_interval,
        "wall_s": round(wall, 2),
        "ideal_wall_s": ideal,
        "wall_over_ideal": round(wall / ideal, 2),
        "peak_rss_growth_mb": round(peak[0] - rss_before, 1),
        "kb_per_waiting_run": round((peak[0] - rss_before) * 1024 / count, 1),
        "requests_per_run": round((counts["start_run"] + counts["get_run"]) / count, 2),
        "minimum_requests_per_run": 1 + polls_to_finish,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
