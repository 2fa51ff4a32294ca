"""A real Dagster deployment on loopback for system tests: dagster-webserver and dagster-daemon as separate
processes on a throwaway instance (a new ``DAGSTER_HOME``: SQLite storage, or the ``dagster.yaml`` given,
e.g. PostgreSQL storage), bounded in time and stopped by PID.

The instance's storage is created (``dagster instance migrate``) before the webserver and the daemon start:
started together on a new instance, both create it, and one fails with ``table alembic_version already
exists`` (seen 4 times in 4 on a busy machine). Runs launched through GraphQL go through the run queue and
the daemon to a run worker process of their own.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests

from tests.subprocesses import run
from tests.system.processes import component_logs, free_port, poll_until, running
from tests.system.servers import Postgres

LAUNCH_RUN = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""
RUN_STATUS = """
query Run($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } }
}"""
RUN_EVENTS = """
query Events($runId: ID!, $after: String) {
  logsForRun(runId: $runId, afterCursor: $after, limit: 1000) {
    __typename
    ... on EventConnection { cursor hasMore events { __typename ... on MessageEvent { message level stepKey } } }
  }
}"""
RUNS = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter) { __typename ... on Runs { results { runId status tags { key value } } } }
}"""
REPOSITORIES = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } } } } }
"""


class DagsterDeployment:
    def __init__(self, home: Path, port: int, postgres: Postgres | None = None, database: str | None = None) -> None:
        self.home, self.port = home, port
        self.postgres, self.database = postgres, database
        self.url = f"http://127.0.0.1:{port}"
        self.http = requests.Session()

    def logs(self) -> dict[str, str]:
        """The components' output and every compute log the steps wrote."""
        found = {}
        for path in self.home.rglob("*"):
            if path.is_file() and path.suffix in (".log", ".out", ".err"):
                found[str(path.relative_to(self.home))] = path.read_text(errors="replace")
        return found

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        answer.raise_for_status()
        body = answer.json()
        assert "errors" not in body, body["errors"]
        return dict(body["data"])

    def wait_for(self, what: str, check: Any, timeout: float, interval: float = 1.0) -> Any:
        return poll_until(what, check, timeout, interval, lambda: component_logs(self.home / "components"))

    def repository(self) -> dict[str, str]:
        (node,) = self.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]
        return {"repositoryLocationName": node["location"]["name"], "repositoryName": node["name"]}

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """The run's event log as the UI shows it: each event's message, level and step."""
        events: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.graphql(RUN_EVENTS, runId=run_id, after=after)["logsForRun"]
            assert page["__typename"] == "EventConnection", page
            events += page["events"]
            if not page["hasMore"]:
                return events
            after = page["cursor"]

    def runs_tagged(self, key: str, value: str) -> list[dict[str, Any]]:
        """Runs carrying the tag, e.g. the automatic retries of a run (``dagster/parent_run_id``)."""
        found = self.graphql(RUNS, filter={"tags": [{"key": key, "value": value}]})["runsOrError"]
        return list(found["results"])

    def run_worker_pid(self, run_id: str) -> int | None:
        """The run worker's PID, from the engine event Dagster logs when it starts the process."""
        for event in self.events(run_id):
            match = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
            if match:
                return int(match.group(1))
        return None

    def launch_assets(self, assets: list[str], checks: list[tuple[str, str]]) -> str:
        """Launch a run that materializes ``assets`` and executes ``checks`` ((asset, check name) pairs), as the
        UI's "Materialize" button does."""
        selector = {
            **self.repository(),
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": [asset]} for asset in assets],
            "assetCheckSelection": [{"assetKey": {"path": [asset]}, "name": name} for asset, name in checks],
        }
        params = {"selector": selector, "mode": "default", "executionMetadata": {"tags": []}}
        launched = self.graphql(LAUNCH_RUN, executionParams=params)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return str(launched["run"]["runId"])

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        def done() -> str | None:
            status = self.graphql(RUN_STATUS, runId=run_id)["runOrError"]["status"]
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        return str(self.wait_for(f"run {run_id}", done, timeout))

    def stored_bytes(self) -> dict[str, bytes]:
        """Everything the instance stored, by file: each file's raw bytes, and for SQLite files every value of
        every row, zlib-decompressed where it is compressed (job and execution plan snapshots are)."""
        stored: dict[str, bytes] = {}
        for path in self.home.rglob("*"):
            if not path.is_file():
                continue
            name = str(path.relative_to(self.home))
            stored[name] = path.read_bytes()
            if stored[name].startswith(b"SQLite format 3"):
                stored[f"{name} (rows, decompressed)"] = b"\n".join(_sqlite_values(path))
        if self.postgres is not None and self.database is not None:
            stored[f"pg_dump {self.database}"] = self.postgres.dump(self.database).encode()
            stored[f"postgres {self.database} (rows, decompressed)"] = b"\n".join(
                _decompressed(value) for value in self.postgres.values(self.database)
            )
        return stored


def _decompressed(value: Any) -> bytes:
    if isinstance(value, bytes | memoryview):
        value = bytes(value)
        with suppress(zlib.error):
            value = zlib.decompress(value)
        return value
    return str(value).encode()


def _sqlite_values(path: Path) -> Iterator[bytes]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                yield from (_decompressed(value) for value in row if value is not None)


@contextmanager
def dagster_deployment(
    home: Path,
    workspace_args: list[str],
    extra_env: dict[str, str],
    instance_yaml: str = "",
    postgres: tuple[Postgres, str] | None = None,
) -> Iterator[DagsterDeployment]:
    """Start ``dagster-webserver`` and ``dagster-daemon run`` on ``workspace_args`` (e.g. ``-m module -d dir``),
    on an instance configured by ``instance_yaml`` (empty: SQLite under ``home``); ``postgres`` is the server
    and database the YAML points at, for what the tests read from storage."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(instance_yaml)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]),
        **extra_env,
    }
    # The storage first, by one process: the webserver and the daemon would both create it (see above).
    run([str(bin_dir / "dagster"), "instance", "migrate"], env=env, check=True, timeout=300)
    commands = {
        "webserver": [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), *workspace_args],
        "daemon": [str(bin_dir / "dagster-daemon"), "run", *workspace_args],
    }
    with running(commands, env, home / "components"):
        deployment = DagsterDeployment(home, port, *(postgres or (None, None)))
        deployment.wait_for(
            "the webserver", lambda: deployment.http.get(f"{deployment.url}/server_info", timeout=5).ok, 180
        )
        # The webserver answers before its code location has loaded (on a busy machine, for seconds): until then
        # it lists no repository to launch runs in.
        deployment.wait_for(
            "the code location", lambda: deployment.graphql(REPOSITORIES)["repositoriesOrError"].get("nodes"), 300
        )
        yield deployment
