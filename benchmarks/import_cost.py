"""What a DAG file / a Dagster code location pays to import our module over its framework, against a peer.

Each sample is a fresh interpreter that imports the framework, then the module, and reports the second
import's time and the modules it added. Ours and the peer's samples alternate, so both see the same noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from _common import airflow_env, median

PROBE = """
import gc, json, sys, time
t0 = time.perf_counter(); import {base}; t1 = time.perf_counter(); n1 = len(sys.modules)
{gc}
{target}
t2 = time.perf_counter()
print("RESULT=" + json.dumps({{"ms": (t2 - t1) * 1000, "modules": len(sys.modules) - n1}}))
"""

CASES = {
    "airflow": {
        "base": "airflow.sdk",
        "ours": "from airflow_provider.operators.qatech import QATechStartRunOperator",
        "peer": "from airflow.providers.dbt.cloud.operators.dbt import DbtCloudRunJobOperator",
        "ours_name": "QATechStartRunOperator",
        "peer_name": "DbtCloudRunJobOperator (apache-airflow-providers-dbt-cloud)",
    },
    "dagster": {
        "base": "dagster",
        "ours": "import dagster_resource",
        "peer": "import dagster_fivetran",
        "ours_name": "dagster_resource",
        "peer_name": "dagster_fivetran",
    },
}


def _sample(base: str, target: str, env: dict[str, str], *, gc_off: bool = False) -> dict[str, float]:
    # With the cyclic collector paused for the module's import: a full collection over the framework's heap
    # (~35 ms after `import dagster`) runs inside whichever import crosses its threshold, ours or the peer's.
    gc = "gc.disable()" if gc_off else ""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(base=base, target=target, gc=gc)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("RESULT="))
    return dict(json.loads(line.removeprefix("RESULT=")))


def run(runs: int) -> dict[str, Any]:
    env = airflow_env()
    results: dict[str, Any] = {}
    for name, case in CASES.items():
        _sample(case["base"], case["ours"], env)  # warm the file cache
        _sample(case["base"], case["peer"], env)
        ours, peer, ours_gc_off, peer_gc_off = [], [], [], []
        for _ in range(runs):
            ours.append(_sample(case["base"], case["ours"], env))
            peer.append(_sample(case["base"], case["peer"], env))
            ours_gc_off.append(_sample(case["base"], case["ours"], env, gc_off=True))
            peer_gc_off.append(_sample(case["base"], case["peer"], env, gc_off=True))
        ours_ms, peer_ms = median([s["ms"] for s in ours]), median([s["ms"] for s in peer])
        ours_off, peer_off = median([s["ms"] for s in ours_gc_off]), median([s["ms"] for s in peer_gc_off])
        results[name] = {
            "base": case["base"],
            "ours": case["ours_name"],
            "peer": case["peer_name"],
            "ours_ms": round(ours_ms, 1),
            "peer_ms": round(peer_ms, 1),
            "ours_modules": int(median([s["modules"] for s in ours])),
            "peer_modules": int(median([s["modules"] for s in peer])),
            "ratio": round(ours_ms / peer_ms, 3),
            # How many times lighter ours is (the target, at most 0.25 of the peer's cost, is 4 or more).
            "peer_over_ours": round(peer_ms / ours_ms, 2),
            "ours_ms_gc_off": round(ours_off, 1),
            "peer_ms_gc_off": round(peer_off, 1),
            "peer_over_ours_gc_off": round(peer_off / ours_off, 2),
            "runs": runs,
        }
    return results
