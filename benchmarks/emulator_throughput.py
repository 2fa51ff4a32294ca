"""The emulator's own throughput, so that the other figures are known not to be bounded by it."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from _common import TOKEN, emulator_process


def run(seconds: float) -> dict[str, Any]:
    with emulator_process() as base_url:
        start = requests.post(f"{base_url}/run", json={}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        url = f"{base_url}/run/{start.json()['run']['shortId']}"
        results: dict[str, Any] = {}
        for threads in (1, 4):
            counts = [0] * threads
            stop = time.perf_counter() + seconds

            def worker(i: int, counts: list[int] = counts, stop: float = stop) -> None:
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {TOKEN}"
                while time.perf_counter() < stop:
                    session.get(url, params={"testCases": "all"}, timeout=30).raise_for_status()
                    counts[i] += 1

            pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
            began = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            results[f"{threads}_client_threads_req_per_s"] = round(sum(counts) / (time.perf_counter() - began))
        return results
