"""What the optional OpenLineage support (#23) costs a DAG file, and what it costs when it is used.

Each sample is a fresh interpreter that imports ``airflow.sdk`` (Airflow 3; ``airflow`` on 2.11), then the
operator module, and reports the second import's time and the modules it added:

- ``present``: with ``apache-airflow-providers-openlineage`` installed (this venv has it);
- ``absent``: the same, with the provider and the ``openlineage`` client hidden (their modules and their
  distributions, so that Airflow discovers no OpenLineage provider), as in an environment without them. The
  two alternate, so both see the same noise: their ratio is ~1 when the operator imports nothing of
  OpenLineage, and the modules added are the same set.
- ``lineage``: ``import airflow_provider.lineage`` after the operator, with the provider present: what the
  OpenLineage listener pays once per task process when it asks a QA task for its facets.

    benchmarks/.venv/bin/python benchmarks/openlineage_cost.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from _common import airflow_env, median

# "Absent": the provider's and the client's modules cannot be imported, and their distributions are not
# listed (Airflow discovers providers through their entry points): Airflow then knows no OpenLineage provider.
HIDE = """
import importlib.abc, importlib.metadata, sys
HIDDEN = {"apache-airflow-providers-openlineage", "openlineage-python", "openlineage-integration-common",
          "openlineage-sql"}
class _Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("openlineage", "openlineage_sql") or name.startswith("airflow.providers.openlineage"):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden: the provider is absent)")
        return None
sys.meta_path.insert(0, _Hidden())
def _without_hidden(module):
    listed = module.distributions
    def distributions(**kwargs):
        return (d for d in listed(**kwargs) if (d.metadata["Name"] or "").lower().replace("_", "-") not in HIDDEN)
    module.distributions = distributions
_without_hidden(importlib.metadata)
try:
    import importlib_metadata
    _without_hidden(importlib_metadata)
except ImportError:
    pass
"""
PROBE = """
import json, sys, time
try:
    import airflow.sdk as base
except ImportError:
    import airflow as base
n0 = set(sys.modules)
t1 = time.perf_counter()
{target}
t2 = time.perf_counter()
added = sorted(set(sys.modules) - n0)
print("RESULT=" + json.dumps({{"ms": (t2 - t1) * 1000, "modules": added}}))
"""
OPERATOR = "import airflow_provider.operators.qatech, airflow_provider.sensors.qatech"
LINEAGE = "import airflow_provider.lineage"


def _sample(target: str, env: dict[str, str], *, hide: bool = False, before: str = "") -> dict[str, Any]:
    code = (HIDE if hide else "") + (before + "\n" if before else "") + PROBE.format(target=target)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT="))
    return dict(json.loads(line.removeprefix("RESULT=")))


def run(runs: int) -> dict[str, Any]:
    env = airflow_env()
    try:
        _sample("import airflow.providers.openlineage.extractors", env)
    except subprocess.CalledProcessError:
        return {"skipped": "apache-airflow-providers-openlineage is not installed in this venv"}
    _sample(OPERATOR, env)  # warm the file cache
    _sample(OPERATOR, env, hide=True)
    present, absent, lineage = [], [], []
    for _ in range(runs):
        present.append(_sample(OPERATOR, env))
        absent.append(_sample(OPERATOR, env, hide=True))
        lineage.append(_sample(LINEAGE, env, before=OPERATOR))
    present_ms, absent_ms = median([s["ms"] for s in present]), median([s["ms"] for s in absent])
    ol_loaded = sorted({m for s in present for m in s["modules"] if "openlineage" in m})
    return {
        "present_ms": round(present_ms, 1),
        "absent_ms": round(absent_ms, 1),
        "ratio": round(present_ms / absent_ms, 3),
        "present_modules": int(median([len(s["modules"]) for s in present])),
        "absent_modules": int(median([len(s["modules"]) for s in absent])),
        "same_modules": all(set(p["modules"]) == set(a["modules"]) for p, a in zip(present, absent, strict=True)),
        "openlineage_modules_loaded_by_the_operator": ol_loaded,
        "lineage_ms": round(median([s["ms"] for s in lineage]), 1),
        "lineage_modules": int(median([len(s["modules"]) for s in lineage])),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    print(json.dumps(run(parser.parse_args().runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
