"""Waits in one event loop (Airflow's triggerer) through an API outage: how soon each reads its run again.

``QATechRunTrigger``s wait on runs that take three reads (INITIATED, RUNNING, COMPLETED); after every wait
has read once, the emulator (its own process, answering after ``latency`` s) refuses connections for
``outage`` seconds. Measured from the moment it listens again to each run's first read after that:

- against the goal, an upper bound: one poll interval (a wait may have just paused for one when the API
  returns) plus the backoff cap (the pause after a failed read is at most the poll interval), plus the
  pool's time to send every wait's read (``waits x latency / pool size``); max / goal must stay <= 1;
- the most requests the emulator had in flight at once after the return: at most the pool size (the
  triggerer's shared pool bounds the burst), and how many waits succeeded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

import requests
from _common import TOKEN, airflow_env, emulator_process, seed_runs, stats

# Each wait logs one WARNING and one INFO for the outage: thousands here.
logging.getLogger("airflow_provider").setLevel(logging.ERROR)
logging.getLogger("qatech_orchestration").setLevel(logging.ERROR)

POLLS = 3


def run(waits: int, pool_size: int, poll_interval: float, latency: float, outage: float) -> dict[str, Any]:
    os.environ.update(airflow_env())
    with emulator_process(polls_to_finish=POLLS, latency=latency) as base_url:
        os.environ["AIRFLOW_CONN_QATECH_DEFAULT"] = json.dumps(
            {"conn_type": "qatech", "password": TOKEN, "host": base_url, "extra": {"pool_size": pool_size}}
        )
        short_ids = seed_runs(base_url, waits)
        control = base_url.replace("/v1", "/_emulator")

        async def main() -> list[dict[str, Any]]:
            from airflow_provider.triggers.qatech import QATechRunTrigger

            end = time.time() + outage + 20 * poll_interval + 120
            triggers = [QATechRunTrigger(s, "qatech_default", end, poll_interval) for s in short_ids]

            async def one(trigger: Any) -> dict[str, Any]:
                events = [e.payload async for e in trigger.run()]  # exactly one
                return events[0]  # type: ignore[no-any-return]

            tasks = [asyncio.create_task(one(t)) for t in triggers]
            # Every wait has read once (INITIATED) well before the outage: the pool's time plus a margin.
            await asyncio.sleep(waits * latency / pool_size + poll_interval / 2)
            await asyncio.to_thread(requests.post, f"{control}/outage", params={"seconds": outage}, timeout=30)
            return await asyncio.gather(*tasks)

        events = asyncio.run(main())
        after = stats(base_url)
        returned = float(after["outage_ended_at"])
        first = requests.get(f"{control}/first-reads", params={"after": returned}, timeout=60).json()
    lags = sorted(first[s] - returned for s in short_ids if s in first)
    per_run = poll_interval + min(poll_interval, 30.0)  # a poll interval + the backoff cap (backoff_max 30 s)
    pool = waits * latency / pool_size
    goal = per_run + pool
    worst = lags[-1] if lags else float("nan")
    return {
        "waits": waits,
        "pool_size": pool_size,
        "poll_interval_s": poll_interval,
        "latency_s": latency,
        "outage_s": outage,
        "read_again": len(lags),
        "passed": sum(1 for e in events if e.get("status") == "terminal" and e["run"]["result"] == "PASSED"),
        "recovery_p50_s": round(lags[len(lags) // 2], 2) if lags else None,
        "recovery_max_s": round(worst, 2),
        "goal_per_run_s": round(per_run, 2),
        "goal_pool_s": round(pool, 2),
        "goal_s": round(goal, 2),
        "max_over_goal": round(worst / goal, 2),
        "in_flight_peak_after": int(after["in_flight_peak"]),
    }
