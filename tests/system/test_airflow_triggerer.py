"""System test: a real Airflow 3.3 triggerer process finishes 100 deferred QA.tech waits (#10).

Starts the api-server, scheduler, dag-processor and triggerer on loopback (see airflow_deployment.py),
triggers a DAG of 100 mapped deferrable starts through the REST API with no logical date, and checks that
each run was started once and waited for in the triggerer. Run alone: ``./scripts/test.sh tests/system``.
"""

from __future__ import annotations

import json
import re

import pytest

from qatech_orchestration.emulator import QATechEmulator

pytestmark = pytest.mark.system

airflow_version = pytest.importorskip("airflow").__version__
if tuple(int(p) for p in airflow_version.split(".")[:2]) < (3, 3):
    pytest.skip("the system test runs the Airflow 3.3 components", allow_module_level=True)

from tests.system.airflow_deployment import Deployment  # noqa: E402


@pytest.mark.timeout(900)
def test_a_real_triggerer_finishes_100_deferred_waits(airflow: Deployment, system_emulator: QATechEmulator) -> None:
    starts_before = len(system_emulator.requests_to("start_run"))
    reads_before = len(system_emulator.requests_to("get_run"))
    run_id = airflow.trigger("qatech_many_waits")
    state = airflow.wait_for_run("qatech_many_waits", run_id, timeout=600)
    instances = airflow.get(f"{airflow.run_path('qatech_many_waits', run_id)}/taskInstances", limit=200)
    logs = airflow.logs()
    starts = system_emulator.requests_to("start_run")[starts_before:]
    reads = system_emulator.requests_to("get_run")[reads_before:]
    assert state == "success", json.dumps([i["state"] for i in instances["task_instances"]])
    assert sorted(i["state"] for i in instances["task_instances"]) == ["success"] * 100
    assert len(starts) == 100  # one run per task: no duplicate
    assert {r.body["testPlanShortId"] for r in starts} == {f"pln_wait_{i:03d}" for i in range(100)}
    # Each task read its run once before deferring (INITIATED); the rest of the reads are the triggerer's.
    assert len(reads) >= 200
    triggerer = logs["components/triggerer.log"]
    assert "QATechRunTrigger" in triggerer or any("QATechRunTrigger" in t for t in logs.values())
    # The triggerer warns when its loop is blocked over 0.2 s. Starting a batch of 100 triggers costs Airflow
    # itself about 0.3 s once (our trigger's first step takes under 30 ms in a plain loop); a trigger that
    # blocked on I/O would show seconds here.
    blocked = [float(s) for s in re.findall(r"async thread was blocked for ([0-9.]+) seconds", triggerer)]
    assert all(seconds < 1.0 for seconds in blocked), blocked
