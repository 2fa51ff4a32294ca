"""Many waits in one event loop, as in Airflow's triggerer, against an API with latency.

Side by side in one run: ``QATechRunTrigger`` (native async reads, one pooled client per connection) and
the thread-based design it replaced (``legacy_trigger.py``). The emulator runs in its own process and
answers every read after ``latency`` seconds, like a real API far away.

A run needs ``POLLS`` status reads (INITIATED, then COMPLETED). Wall time is set against two limits, and
the larger binds: the per-run limit, the reads one after another with a poll interval between them
(``POLLS * latency + (POLLS - 1) * poll_interval``: 5.4 s at a 5 s poll and 200 ms latency), and the pool
limit, every read any run needs through the connections at hand (``runs * POLLS * latency / concurrency``,
concurrency being the shared pool's size, or the default thread pool's for the thread design). Reads per
second likewise have a ceiling, ``concurrency / latency``. Also measured: sockets opened, memory
per waiting run, event-loop lag (how late a 50 ms sleep wakes up), and how long a healthy wait takes while
20 waits on another connection hang on an API that takes 8 s per read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import time
from typing import Any

from _common import TOKEN, airflow_env, emulator_process, seed_runs, stats

# Every trigger logs each poll at INFO (in Airflow, into its task's log); here that would swamp the output.
logging.getLogger("airflow_provider").setLevel(logging.WARNING)

POLLS = 2
HEALTHY_LATENCY = 0.05


def default_thread_pool_size() -> int:
    """Threads in the event loop's default executor (where ``asyncio.to_thread`` runs): ``min(32, cores + 4)``."""
    with concurrent.futures.ThreadPoolExecutor() as executor:
        return int(executor._max_workers)


def limits(count: int, concurrency: int, poll_interval: float, latency: float) -> dict[str, float]:
    """The physical limits a design cannot beat: per run, through the pool, and the read rate's ceiling."""
    return {
        "per_run_limit_s": round(POLLS * latency + (POLLS - 1) * poll_interval, 3),
        "pool_limit_s": round(count * POLLS * latency / concurrency, 3),
        "reads_per_s_ceiling": round(concurrency / latency, 1),
    }


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _connection(base_url: str, **extra: Any) -> str:
    return json.dumps({"conn_type": "qatech", "password": TOKEN, "host": base_url, "extra": extra})


class _Lag:
    """How late the loop wakes a 50 ms sleep: what every other trigger in the triggerer feels."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.peak_rss = _rss_mb()

    async def watch(self, done: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            began = loop.time()
            await asyncio.sleep(0.05)
            self.samples.append(loop.time() - began - 0.05)
            self.peak_rss = max(self.peak_rss, _rss_mb())

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples) or [0.0]
        return {
            "loop_lag_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
            "loop_lag_max_ms": round(ordered[-1] * 1000, 1),
        }


def _triggers(design: str, short_ids: list[str], base_url: str, end: float, poll: float) -> list[Any]:
    if design == "async":
        from airflow_provider.triggers.qatech import QATechRunTrigger

        return [QATechRunTrigger(s, "qatech_default", end, poll) for s in short_ids]
    from legacy_trigger import LegacyThreadTrigger

    return [LegacyThreadTrigger(s, {"api_token": TOKEN, "base_url": base_url}, end, poll) for s in short_ids]


async def _events(trigger: Any) -> list[dict[str, Any]]:
    return [getattr(e, "payload", e) async for e in trigger.run()]


def scale(design: str, count: int, poll_interval: float, latency: float, cap_s: float, pool: int) -> dict[str, Any]:
    """``count`` waits of one design; stops at ``cap_s`` (reporting how far it got) if it is that slow."""
    os.environ.update(airflow_env())
    with emulator_process(polls_to_finish=POLLS, latency=latency) as base_url:
        os.environ["AIRFLOW_CONN_QATECH_DEFAULT"] = _connection(base_url, pool_size=pool)
        warm_up, *short_ids = seed_runs(base_url, count + 1)
        # One wait first, outside the measure: imports, the connection lookup, the first pool.
        asyncio.run(_events(_triggers(design, [warm_up], base_url, time.time() + 60, poll_interval)[0]))
        before = stats(base_url)
        lag, rss_before = _Lag(), _rss_mb()
        finished: list[dict[str, Any]] = []

        async def main() -> None:
            done = asyncio.Event()
            watcher = asyncio.create_task(lag.watch(done))
            triggers = _triggers(design, short_ids, base_url, time.time() + 3600, poll_interval)

            async def one(trigger: Any) -> None:
                finished.extend(await _events(trigger))

            with contextlib.suppress(asyncio.TimeoutError):  # too slow: report how far it got
                await asyncio.wait_for(asyncio.gather(*(one(t) for t in triggers)), cap_s)
            done.set()
            await watcher

        began = time.perf_counter()
        asyncio.run(main())
        wall = time.perf_counter() - began
        after = stats(base_url)
    reads = after["requests"]["get_run"] - before["requests"]["get_run"]
    concurrency = pool if design == "async" else default_thread_pool_size()
    bounds = limits(count, concurrency, poll_interval, latency)
    binding = max(bounds["per_run_limit_s"], bounds["pool_limit_s"])
    passed = sum(1 for e in finished if e.get("status") == "terminal" and e["run"]["result"] == "PASSED")
    return {
        "design": design,
        "triggers": count,
        "finished": passed,
        "capped_at_s": None if passed == count else cap_s,
        "pool_size": pool if design == "async" else None,
        "concurrency": concurrency,
        "poll_interval_s": poll_interval,
        "latency_s": latency,
        "wall_s": round(wall, 2),
        **bounds,
        # a capped row did not finish: its wall time is no measure of the limit (its read rate is)
        "wall_over_limit": round(wall / binding, 2) if passed == count else None,
        "reads_per_s": round(reads / wall, 1),
        "ceiling_over_reads_per_s": round(bounds["reads_per_s_ceiling"] / (reads / wall), 2) if reads else None,
        # minus the connection of the "after" stats read itself
        "sockets_opened": after["connections_accepted"] - before["connections_accepted"] - 1,
        "kb_per_waiting_run": round((lag.peak_rss - rss_before) * 1024 / count, 1),
        **lag.summary(),
    }


def healthy_beside_stuck(design: str, stuck: int = 20, slow_latency: float = 8.0) -> dict[str, Any]:
    """Seconds a healthy wait takes to its event while ``stuck`` waits hang on a slow API (another conn)."""
    os.environ.update(airflow_env())
    with (
        emulator_process(polls_to_finish=1, latency=slow_latency) as slow_url,
        emulator_process(polls_to_finish=1, latency=HEALTHY_LATENCY) as healthy_url,
    ):
        os.environ["AIRFLOW_CONN_QATECH_DEFAULT"] = _connection(healthy_url)
        os.environ["AIRFLOW_CONN_QATECH_SLOW"] = _connection(slow_url)

        slow_ids = seed_runs(slow_url, stuck)
        (healthy_id,) = seed_runs(healthy_url, 1)

        async def main() -> float:
            end = time.time() + 60
            if design == "async":
                from airflow_provider.triggers.qatech import QATechRunTrigger

                slow = [QATechRunTrigger(s, "qatech_slow", end, 1.0) for s in slow_ids]
                healthy = QATechRunTrigger(healthy_id, "qatech_default", end, 1.0)
            else:
                from legacy_trigger import LegacyThreadTrigger

                slow = [LegacyThreadTrigger(s, {"api_token": TOKEN, "base_url": slow_url}, end, 1.0) for s in slow_ids]
                healthy = LegacyThreadTrigger(healthy_id, {"api_token": TOKEN, "base_url": healthy_url}, end, 1.0)
            stuck_tasks = [asyncio.create_task(_events(t)) for t in slow]
            await asyncio.sleep(0.2)  # the stuck reads are in flight
            began = time.perf_counter()
            await _events(healthy)
            took = time.perf_counter() - began
            for task in stuck_tasks:
                task.cancel()
            await asyncio.gather(*stuck_tasks, return_exceptions=True)
            return took

        took = asyncio.run(main())
    # The healthy run is over at its first read (polls_to_finish=1): one read at the healthy API's latency.
    return {"design": design, "stuck_waits": stuck, "slow_api_latency_s": slow_latency,
            "healthy_wait_s": round(took, 3), "healthy_limit_s": HEALTHY_LATENCY,
            "healthy_over_limit": round(took / HEALTHY_LATENCY, 1)}  # fmt: skip


def run(
    cases: list[tuple[int, int]], poll_interval: float, latency: float, cap_s: float, slow_latency: float = 8.0
) -> dict[str, Any]:
    """``cases``: (waits, the async design's pool size); the thread design runs once per number of waits."""
    rows = [scale("async", n, poll_interval, latency, cap_s, pool) for n, pool in cases]
    rows += [scale("threads", n, poll_interval, latency, cap_s, 0) for n in sorted({n for n, _ in cases})]
    healthy = [healthy_beside_stuck(design, slow_latency=slow_latency) for design in ("async", "threads")]
    return {"scale": rows, "healthy_beside_stuck": healthy}
