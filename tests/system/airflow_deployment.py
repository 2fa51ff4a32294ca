"""A real Airflow 3.3 deployment on loopback for system tests, each component a process of its own, bounded
in time and stopped by PID:

- the default one: api-server, scheduler, dag-processor and triggerer, LocalExecutor on SQLite;
- the production-like one (``backends`` given, #18): PostgreSQL as the metadata database, CeleryExecutor on
  Redis with one Celery worker, and two triggerers (HA). Its heartbeat and health-check thresholds are
  lowered (see ``FAULT_TIMINGS``) so that the fault tests take seconds where Airflow's defaults take minutes.

Only what runs in the components imports Airflow; the test process talks to them over REST (and reads the
metadata database where Airflow tells nothing, e.g. which triggerer holds a trigger).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from tests.subprocesses import run
from tests.system.processes import Components, component_logs, free_port, poll_until
from tests.system.servers import Postgres, Redis

#: name -> (airflow arguments, extra environment)
Commands = dict[str, tuple[list[str], dict[str, str]]]

COMPONENTS: Commands = {
    "api-server": (["api-server", "--port", "{port}"], {}),
    "scheduler": (["scheduler", "--skip-serve-logs"], {}),
    "dag-processor": (["dag-processor"], {}),
    "triggerer": (["triggerer", "--skip-serve-logs"], {}),
}
#: The production-like deployment: two triggerers told apart by name (see component_name.py), one Celery worker.
PRODUCTION_COMPONENTS: Commands = {
    "api-server": COMPONENTS["api-server"],
    "scheduler": COMPONENTS["scheduler"],
    "dag-processor": COMPONENTS["dag-processor"],
    "triggerer-1": (["triggerer", "--skip-serve-logs"], {"QATECH_COMPONENT_NAME": "triggerer-1"}),
    "triggerer-2": (["triggerer", "--skip-serve-logs"], {"QATECH_COMPONENT_NAME": "triggerer-2"}),
    "worker": (["celery", "worker", "--concurrency", "8", "--skip-serve-logs", "--without-mingle", "--without-gossip"],
               {}),
}  # fmt: skip
#: Test-only thresholds, far below Airflow's defaults, so a lost component is noticed in seconds:
FAULT_TIMINGS = {
    # A task whose process stopped heartbeating is failed (and retried) after 30 s instead of 300 s (a live
    # task heartbeats every 5 s, [workers] min_heartbeat_interval: six may be late on a busy machine)...
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    # ...and a triggerer that stopped heartbeating loses its triggers after 20 s instead of 30 s. (At 10 s, a
    # live triggerer on a busy machine sometimes missed it and lost its triggers before any kill.)
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "20",
}


@dataclass
class Backends:
    """The servers of the production-like deployment and the metadata database's name."""

    postgres: Postgres
    redis: Redis
    database: str


class Deployment:
    def __init__(self, home: Path, port: int, env: dict[str, str], components: Components, commands: Commands) -> None:
        self.home, self.port, self.env = home, port, env
        self.components, self.commands = components, commands
        self.api = f"http://127.0.0.1:{port}/api/v2"
        self.http = requests.Session()

    def start(self, name: str) -> None:
        """Start a component (again, after a kill), as it was started first."""
        args, extra = self.commands[name]
        command = [str(Path(sys.executable).parent / "airflow"), *(a.format(port=self.port) for a in args)]
        self.components.start(name, command, extra)

    def logs(self) -> dict[str, str]:
        """Every log file the components wrote (their own output and the task and trigger logs)."""
        return {str(p.relative_to(self.home)): p.read_text(errors="replace") for p in self.home.rglob("*.log")}

    def add_qatech_connection(self, base_url: str, token: str) -> None:
        """``qatech_default``, saved through the REST API as the UI's form saves it (the token encrypted)."""
        connection = {"connection_id": "qatech_default", "conn_type": "qatech", "host": base_url, "password": token}
        self.http.post(f"{self.api}/connections", json=connection, timeout=30).raise_for_status()

    def wait_for(self, what: str, check: Any, timeout: float, interval: float = 1.0) -> Any:
        return poll_until(what, check, timeout, interval, lambda: component_logs(self.home / "components"))

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.api}{path}", params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def unpause(self, dag_id: str) -> None:
        """Unpause the DAG once the dag-processor has parsed it."""
        self.wait_for(f"{dag_id} to be parsed", lambda: self.http.get(f"{self.api}/dags/{dag_id}", timeout=30).ok, 180)
        self.http.patch(f"{self.api}/dags/{dag_id}", json={"is_paused": False}, timeout=30).raise_for_status()

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Unpause and trigger as the UI does on Airflow 3: no logical date."""
        self.unpause(dag_id)
        body = {"logical_date": None, "conf": conf or {}}
        answer = self.http.post(f"{self.api}/dags/{dag_id}/dagRuns", json=body, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["dag_run_id"])

    @staticmethod
    def run_path(dag_id: str, run_id: str, task_id: str | None = None) -> str:
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        return f"{path}/taskInstances/{task_id}" if task_id else path

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        instances = self.get(f"{self.run_path(dag_id, run_id)}/taskInstances", limit=200)["task_instances"]
        return {i["task_id"]: str(i["state"]) for i in instances}

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        return self.wait_for_runs({dag_id: run_id}, timeout)[dag_id]

    def wait_for_runs(
        self, runs: dict[str, str], timeout: float, seen: dict[str, set[str]] | None = None
    ) -> dict[str, str]:
        """The final state of one run per DAG, watched together; ``seen`` collects every state each task was
        seen in (e.g. ``deferred``)."""

        def done() -> dict[str, str] | None:
            states = {}
            for dag_id, run_id in runs.items():
                if seen is not None:
                    for task_id, state in self.task_states(dag_id, run_id).items():
                        seen.setdefault(task_id, set()).add(state)
                states[dag_id] = self.get(self.run_path(dag_id, run_id))["state"]
            return states if all(state in ("success", "failed") for state in states.values()) else None

        return dict(self.wait_for(f"runs {runs}", done, timeout, interval=1.0))

    def finished_runs(self, dag_id: str, timeout: float) -> dict[str, dict[str, Any]]:
        """Every run of the DAG once none is still queued or running (unpausing a scheduled DAG also creates
        the run of its latest interval), by run ID."""

        def done() -> dict[str, dict[str, Any]] | None:
            runs = self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]
            return (
                {r["dag_run_id"]: r for r in runs} if all(r["state"] in ("success", "failed") for r in runs) else None
            )

        return dict(self.wait_for(f"every run of {dag_id}", done, timeout, interval=1.0))

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"{self.run_path(dag_id, run_id, task_id)}/xcomEntries/{key}"
        return self.get(path, deserialize=True, map_index=map_index)["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """The task's log as the UI shows it (events as JSON text)."""
        path = f"{self.run_path(dag_id, run_id, task_id)}/logs/{try_number}"
        return json.dumps(self.get(path, full_content=True, map_index=map_index))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (mapped ones one by one), with ``state``, ``try_number``, ``map_index``."""
        return list(self.get(f"{self.run_path(dag_id, run_id)}/taskInstances", limit=200)["task_instances"])


@contextmanager
def airflow_deployment(
    home: Path, dags_folder: Path, extra_env: dict[str, str], backends: Backends | None = None
) -> Iterator[Deployment]:
    port = free_port()
    bin_dir = Path(sys.executable).parent
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__CORE__FERNET_KEY": "cWF0ZWNoLW9yY2hlc3RyYXRpb24tdGVzdHMta2V5ISE=",
        # Shared by every component: a token one of them mints must be accepted by the others.
        "AIRFLOW__API_AUTH__JWT_SECRET": "system-test-jwt-secret-shared-by-all-components",
        "AIRFLOW__API__SECRET_KEY": "system-test-secret-key-shared-by-all-components",
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        **extra_env,
    }
    commands = COMPONENTS
    if backends is not None:
        url = backends.postgres.url(backends.database)
        env |= {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
            "AIRFLOW__CELERY__BROKER_URL": backends.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{backends.postgres.url(backends.database, 'postgresql')}",
            "AIRFLOW__CELERY__OPERATION_TIMEOUT": "30",  # 1 s by default: too short on a busy machine
            # Each triggerer (and any component) names itself after QATECH_COMPONENT_NAME when it is set.
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.system.component_name.hostname",
            **FAULT_TIMINGS,
        }
        commands = PRODUCTION_COMPONENTS
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    run([str(bin_dir / "airflow"), "db", "migrate"], env=env, check=True, timeout=300)
    components = Components(env, home / "components")
    try:
        deployment = Deployment(home, port, env, components, commands)
        for name in commands:
            deployment.start(name)
        deployment.wait_for(
            "the api-server", lambda: deployment.http.get(f"{deployment.api}/monitor/health", timeout=5).ok, 180
        )
        yield deployment
    finally:
        components.stop_all()
