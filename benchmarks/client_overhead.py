"""Per-call cost of QATechClient.get_run against the same GET made with a bare requests.Session: the floor,
since the client makes that very call and adds validation, retry bookkeeping and models on top.

Both hit one emulator process over loopback; blocks of calls alternate between the two.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from _common import TOKEN, emulator_process, median

from qatech_orchestration import QATechClient


def run(calls: int, rounds: int) -> dict[str, Any]:
    with emulator_process() as base_url:
        client = QATechClient(TOKEN, base_url=base_url)
        short_id = client.start_run().short_id
        bare = requests.Session()
        # As the client's own session: the route (proxy, CA) is decided once, not looked up in the environment
        # and ~/.netrc on every request. Without this the "floor" does work the client does not, and loses.
        bare.trust_env = False
        bare.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
        url = f"{base_url}/run/{short_id}"

        def with_bare() -> None:
            response = bare.get(url, params={"testCases": "all"}, timeout=30)
            response.raise_for_status()
            response.json()

        def with_client() -> None:
            client.get_run(short_id, test_cases="all")

        for fn in (with_bare, with_client):  # warm connections
            for _ in range(20):
                fn()
        samples: dict[str, list[float]] = {"bare": [], "client": []}
        for _ in range(rounds):
            for name, fn in (("bare", with_bare), ("client", with_client)):
                start = time.perf_counter()
                for _ in range(calls):
                    fn()
                samples[name].append((time.perf_counter() - start) / calls * 1e6)
        bare_us, client_us = median(samples["bare"]), median(samples["client"])
        return {
            "bare_us_per_call": round(bare_us, 1),
            "client_us_per_call": round(client_us, 1),
            "ratio": round(client_us / bare_us, 3),
            # how far apart the bare rounds were: a ratio nearer 1.0 than this is within the noise
            "bare_spread": round((max(samples["bare"]) - min(samples["bare"])) / bare_us, 3),
            "calls_per_round": calls,
            "rounds": rounds,
        }
