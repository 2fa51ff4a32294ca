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
import json, sys, time
t0 = time.perf_counter(); import {base}; t1 = time.perf_counter(); n1 = len(sys.modules)
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


def _sample(base: str, target: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(base=base, target=target)],
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
        ours, peer = [], []
        for _ in range(runs):
            ours.append(_sample(case["base"], case["ours"], env))
            peer.append(_sample(case["base"], case["peer"], env))
        ours_ms, peer_ms = median([s["ms"] for s in ours]), median([s["ms"] for s in peer])
        results[name] = {
            "base": case["base"],
            "ours": case["ours_name"],
            "peer": case["peer_name"],
            "ours_ms": round(ours_ms, 1),
            "peer_ms": round(peer_ms, 1),
            "ours_modules": int(median([s["modules"] for s in ours])),
            "peer_modules": int(median([s["modules"] for s in peer])),
            "ratio": round(ours_ms / peer_ms, 3),
            "runs": runs,
        }
    return results
