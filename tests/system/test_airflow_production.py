"""System test: QA.tech waits on a production-like Airflow 3.3 deployment, under faults (#18).

PostgreSQL (metadata database) and Redis (Celery broker) are real servers on loopback; api-server, scheduler,
dag-processor, two triggerers and one Celery worker run as processes of their own. The ``qatech_default``
connection points at a TCP proxy in front of the emulator, so the API can be taken away. Each fault test holds
its QA.tech runs RUNNING in the emulator until the fault is made, then lets them pass, and counts:

- starts == tasks (a duplicate QA.tech run is a defect) and every task's XCom holds a distinct run ID;
- the try each task succeeded on: try 1 where nothing may fail, try 2 where a retry must re-attach.

Airflow's heartbeat and health-check thresholds are lowered for these tests (``FAULT_TIMINGS`` in
airflow_deployment.py: 30 s instead of 300 s for a lost task, 20 s instead of 30 s for a lost triggerer).
Run alone: ``./scripts/test.sh tests/system/test_airflow_production.py``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN

pytestmark = [pytest.mark.system, pytest.mark.timeout(600)]

airflow_version = pytest.importorskip("airflow").__version__
if tuple(int(p) for p in airflow_version.split(".")[:2]) < (3, 3):
    pytest.skip("the production-like system test runs the Airflow 3.3 components", allow_module_level=True)

from tests.system.airflow_deployment import Backends, Deployment, airflow_deployment  # noqa: E402
from tests.system.proxy import TCPProxy  # noqa: E402
from tests.system.servers import Postgres, Redis  # noqa: E402

PRODUCTION_DAGS = Path(__file__).parent / "production_dags"


class Production:
    """The deployment and what the tests look at besides its REST API."""

    def __init__(
        self, airflow: Deployment, emulator: QATechEmulator, proxy: TCPProxy, postgres: Postgres, redis: Redis
    ) -> None:
        self.airflow, self.emulator, self.proxy = airflow, emulator, proxy
        self.postgres, self.redis = postgres, redis
        self.timings: dict[str, float] = {}

    def starts(self, plan: str) -> list[str]:
        """Short IDs of the QA.tech runs started for ``plan`` (in the emulator: what really happened)."""
        return [
            short_id
            for short_id, run in self.emulator.project.runs.items()
            if (run.test_plan or {}).get("shortId") == plan
        ]

    def reads(self, short_id: str) -> int:
        return sum(1 for r in self.emulator.requests_to("get_run") if r.path.endswith(f"/run/{short_id}"))

    def wait_until_waiting(self, plan: str, count: int, reads: int, timeout: float = 240) -> list[str]:
        """The ``count`` runs of ``plan``, once each has been read ``reads`` times (its wait is going)."""

        def waiting() -> list[str] | None:
            runs = self.starts(plan)
            assert len(runs) <= count, f"{len(runs)} QA.tech runs started for {count} tasks: {runs}"
            return runs if len(runs) == count and all(self.reads(r) >= reads for r in runs) else None

        return list(self.airflow.wait_for(f"{count} waits on {plan}", waiting, timeout))

    def triggers_by_host(self, dag_id: str, run_id: str) -> Counter[str | None]:
        """Which triggerer holds each trigger of the run (``None``: none yet). Airflow tells this nowhere but
        in its database: the trigger's ``triggerer_id`` is a job, the job's ``hostname`` the triggerer's name."""
        rows = self.postgres.query(
            "airflow",
            "SELECT j.hostname FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
            f"LEFT JOIN job j ON j.id = t.triggerer_id WHERE ti.dag_id = '{dag_id}' AND ti.run_id = '{run_id}'",
        )
        return Counter(row[0] or None for row in rows)

    def heartbeat_age(self, triggerer: str) -> float:
        """Seconds since the running triggerer named ``triggerer`` last heartbeat, by the database's clock."""
        ((age,),) = self.postgres.query(
            "airflow",
            "SELECT extract(epoch FROM now() - max(latest_heartbeat)) FROM job "
            f"WHERE job_type = 'TriggererJob' AND end_date IS NULL AND hostname = '{triggerer}'",
        )
        return float(age)

    def finished(self, dag_id: str, run_id: str, timeout: float = 300) -> list[dict[str, Any]]:
        state = self.airflow.wait_for_run(dag_id, run_id, timeout)
        instances = self.airflow.task_instances(dag_id, run_id)
        if state != "success":
            failed = [i for i in instances if i["state"] != "success"]
            logs = "\n".join(
                f"--- {i['task_id']}[{i['map_index']}] try {i['try_number']}: "
                + _why(self.airflow.task_log(dag_id, run_id, i["task_id"], i["try_number"], i["map_index"]))
                for i in failed[:4]
            )
            summary = [(i["task_id"], i["map_index"], i["state"], i["try_number"]) for i in instances]
            raise AssertionError(f"{dag_id} ended {state}: {summary}\n{logs}")
        return instances

    def run_ids_in_xcom(self, dag_id: str, run_id: str, instances: list[dict[str, Any]]) -> list[str]:
        return [
            self.airflow.xcom(dag_id, run_id, i["task_id"], map_index=i["map_index"])
            for i in instances
            if i["task_id"] != "sensor_deferred" and i["task_id"] != "sensor_poke"
        ]


def _why(task_log: str) -> str:
    """The exception messages in a task log (its events are JSON), else its end."""
    errors = re.findall(r'"exc_value": "((?:[^"\\]|\\.)*)"', task_log)
    return " | ".join(dict.fromkeys(errors)) if errors else task_log[-1500:]


@pytest.fixture(scope="module")
def production(
    tmp_path_factory: pytest.TempPathFactory, production_servers: tuple[Postgres, Redis]
) -> Iterator[Production]:
    postgres, redis = production_servers
    tmp = tmp_path_factory.mktemp("airflow-production")
    backends = Backends(postgres, redis, postgres.create_database("airflow"))
    with (
        QATechEmulator(token=TOKEN, polls_to_finish=2, latency=0.2) as emulator,
        TCPProxy(emulator.port) as proxy,
        airflow_deployment(tmp / "home", PRODUCTION_DAGS, {}, backends) as airflow,
    ):
        airflow.add_qatech_connection(proxy.base_url, TOKEN)  # QA.tech behind the proxy: it can be taken away
        production = Production(airflow, emulator, proxy, postgres, redis)
        yield production
        # Measured, not asserted (shown with -s): how long each fault took Airflow to get over.
        print("fault timings:", {name: round(seconds, 1) for name, seconds in production.timings.items()})


def test_a_killed_triggerer_hands_its_waits_to_the_other(production: Production) -> None:
    airflow, plan = production.airflow, "pln_fault_triggerer"
    production.emulator.script_outcome("NEVER", test_plan_short_id=plan)
    run_id = airflow.trigger("qatech_fault_triggerer")
    started = production.wait_until_waiting(plan, 10, reads=2)  # read once by the task, then by a trigger

    def victim() -> tuple[str, float] | None:
        """The triggerer holding the most of the 10 triggers, once it is healthy (a fresh heartbeat): the
        takeover must be caused by the kill, not by a heartbeat already missed."""
        hosts = production.triggers_by_host("qatech_fault_triggerer", run_id)
        if hosts.total() != 10 or None in hosts:
            return None
        name = str(hosts.most_common(1)[0][0])
        age = production.heartbeat_age(name)
        return (name, age) if age < 5 else None

    victim_name, age = airflow.wait_for("every trigger held by a healthy triggerer", victim, 120, interval=0.5)
    survivor = ({"triggerer-1", "triggerer-2"} - {victim_name}).pop()
    production.timings["killed triggerer's last heartbeat, age at the kill"] = age
    killed_at = time.monotonic()
    airflow.components.kill(victim_name)
    airflow.wait_for(
        f"{survivor} to take over the triggers of the killed {victim_name}",
        lambda: production.triggers_by_host("qatech_fault_triggerer", run_id) == Counter({survivor: 10}),
        180,
    )
    production.timings["triggerer takeover"] = time.monotonic() - killed_at
    reads_before = {r: production.reads(r) for r in started}
    airflow.wait_for(
        "the survivor to read every run", lambda: all(production.reads(r) > reads_before[r] for r in started), 60
    )
    assert production.emulator.release_held_runs(plan) == 10
    instances = production.finished("qatech_fault_triggerer", run_id)
    assert [(i["state"], i["try_number"]) for i in instances] == [("success", 1)] * 10
    assert sorted(production.run_ids_in_xcom("qatech_fault_triggerer", run_id, instances)) == sorted(started)
    assert len(production.starts(plan)) == 10  # one QA.tech run per task, no more
    airflow.start(victim_name)  # HA again for the next tests


def test_a_killed_worker_s_tasks_retry_and_re_attach_to_their_runs(production: Production) -> None:
    airflow, emulator = production.airflow, production.emulator
    held_plan, done_plan = "pln_fault_worker_held", "pln_fault_worker_done"
    emulator.script_outcome("NEVER", test_plan_short_id=held_plan)
    emulator.script_outcome("NEVER", test_plan_short_id=done_plan)
    run_id = airflow.trigger("qatech_fault_worker")
    held = production.wait_until_waiting(held_plan, 2, reads=2)  # inside the synchronous wait
    done = production.wait_until_waiting(done_plan, 2, reads=2)
    killed_at = time.monotonic()
    airflow.components.kill("worker")  # the worker, its pool processes and the task processes under them
    # Two runs pass while no worker watches (the retry finds them passed); two are still running (it waits).
    assert emulator.release_held_runs(done_plan) == 2
    airflow.start("worker")

    def retried_logs() -> dict[int, str] | None:
        instances = airflow.task_instances("qatech_fault_worker", run_id)
        if not all(i["try_number"] >= 2 and i["state"] in ("running", "success") for i in instances):
            return None
        logs = {i["map_index"]: airflow.task_log("qatech_fault_worker", run_id, "qa", 2, i["map_index"])
                for i in instances}  # fmt: skip
        return logs if all("Re-attaching" in t or "already passed" in t for t in logs.values()) else None

    logs = airflow.wait_for("the retries to re-attach", retried_logs, 240)
    production.timings["worker lost -> retry re-attached"] = time.monotonic() - killed_at
    assert emulator.release_held_runs(held_plan) == 2
    instances = production.finished("qatech_fault_worker", run_id)
    assert [(i["state"], i["try_number"]) for i in instances] == [("success", 2)] * 4
    ids = {i["map_index"]: production.airflow.xcom("qatech_fault_worker", run_id, "qa", map_index=i["map_index"])
           for i in instances}  # fmt: skip
    for index, short_id in ids.items():
        log = logs[index]
        if short_id in held:
            assert f"Re-attaching to QA.tech run {short_id}" in log, log[-3000:]
        else:
            assert short_id in done and f"QA.tech run {short_id} already passed: no new run" in log, log[-3000:]
    assert sorted(ids.values()) == sorted(held + done)
    assert len(production.starts(held_plan)) == 2 and len(production.starts(done_plan)) == 2  # no second start


def test_every_wait_outlives_a_minute_long_api_outage_with_no_retries(production: Production) -> None:
    airflow, emulator, proxy = production.airflow, production.emulator, production.proxy
    plan = "pln_fault_outage"
    emulator.script_outcome("NEVER", test_plan_short_id=plan)
    run_id = airflow.trigger("qatech_fault_outage")
    # 3 deferred and 2 synchronous operator waits, a deferred sensor and a poking one: 7 runs, each waited for.
    started = production.wait_until_waiting(plan, 7, reads=2)
    outage_reads = sum(production.reads(r) for r in started)
    try:
        proxy.refuse()  # 30 s of connection refused...
        time.sleep(30)  # the outage itself: its length is the fault
        proxy.hang()  # ...then 30 s of connections accepted and never answered
        time.sleep(30)
        reads_in_outage = sum(production.reads(r) for r in started) - outage_reads
        assert emulator.release_held_runs(plan) == 7
    finally:
        proxy.restore()
        emulator.release_held_runs(plan)
    instances = production.finished("qatech_fault_outage", run_id)
    assert reads_in_outage == 0  # nothing got through the proxy...
    assert proxy.accepted["hang"] > 0  # ...although the waits kept trying
    assert [(i["task_id"], i["state"], i["try_number"]) for i in instances if i["try_number"] != 1] == []
    assert {i["state"] for i in instances} == {"success"} and len(instances) == 9
    assert sorted(production.run_ids_in_xcom("qatech_fault_outage", run_id, instances)) == sorted(started)
    assert len(production.starts(plan)) == 7


def test_deferred_waits_outlive_a_scheduler_restart(production: Production) -> None:
    airflow, plan = production.airflow, "pln_fault_scheduler"
    production.emulator.script_outcome("NEVER", test_plan_short_id=plan)
    run_id = airflow.trigger("qatech_fault_scheduler")
    started = production.wait_until_waiting(plan, 6, reads=2)
    airflow.components.kill("scheduler")
    assert production.emulator.release_held_runs(plan) == 6
    # With no scheduler, the triggers still fire: each task is back to "scheduled", waiting for one.
    airflow.wait_for(
        "the triggers to fire while the scheduler is down",
        lambda: {i["state"] for i in airflow.task_instances("qatech_fault_scheduler", run_id)} == {"scheduled"},
        120,
    )
    airflow.start("scheduler")
    instances = production.finished("qatech_fault_scheduler", run_id)
    assert [(i["state"], i["try_number"]) for i in instances] == [("success", 1)] * 6
    assert sorted(production.run_ids_in_xcom("qatech_fault_scheduler", run_id, instances)) == sorted(started)
    assert len(production.starts(plan)) == 6


def test_the_token_is_in_no_log_no_pg_dump_and_no_redis_key(production: Production) -> None:
    import redis

    logs = production.airflow.logs()
    assert any(name.startswith("logs/dag_id=qatech_fault_") for name in logs), sorted(logs)
    assert any(name.startswith("components/triggerer-") for name in logs), sorted(logs)
    assert [name for name, text in logs.items() if TOKEN in text] == []
    dump = production.postgres.dump("airflow")
    # The search can find what is there: the connection's host and the rendered request fields.
    assert production.proxy.base_url in dump and "pln_fault_outage" in dump
    assert TOKEN not in dump
    client = redis.Redis.from_url(production.redis.url)
    stored: dict[bytes, bytes] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            value = [client.get(key) or b""]
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"hash":
            value = [b"%s=%s" % item for item in client.hgetall(key).items()]
        elif kind == b"set":
            value = list(client.smembers(key))
        else:
            value = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        stored[key] = b"\n".join(value)
    assert any(key.startswith(b"_kombu.binding") for key in stored), sorted(stored)  # Celery's own keys
    assert [key for key, value in stored.items() if TOKEN.encode() in key + value] == []
