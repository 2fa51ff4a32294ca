"""The emulator's own throughput, so that the other figures are known not to be bounded by it.

An aiohttp client in this process keeps ``connections`` requests in flight against an emulator process.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from _common import TOKEN, emulator_process, seed_runs


def run(seconds: float) -> dict[str, Any]:
    with emulator_process() as base_url:
        (short_id,) = seed_runs(base_url, 1)
        url = f"{base_url}/run/{short_id}"
        results: dict[str, Any] = {}
        for connections in (1, 100):
            results[f"{connections}_connections_req_per_s"] = round(asyncio.run(_load(url, connections, seconds)))
        return results


async def _load(url: str, connections: int, seconds: float) -> float:
    count = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections), headers=headers) as http:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop:
                async with http.get(url, params={"testCases": "all"}) as answer:
                    await answer.read()
                    count += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return count / (time.perf_counter() - began)
