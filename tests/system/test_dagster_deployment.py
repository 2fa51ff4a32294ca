"""System test: the example ``dg`` project on a real Dagster deployment, as a user runs it (#12, #18).

dagster-webserver and dagster-daemon run as processes of their own on a throwaway instance, twice: on SQLite
(a new ``DAGSTER_HOME``), and on PostgreSQL storage with run monitoring and run retries, configured by
``example_dags/dagster_home/dagster.yaml`` as shipped. Runs are launched through GraphQL as the UI's
"Materialize" does, so they go through the queue and the daemon to a run worker. The blocking QA.tech check
(declared in the project's YAML) passes in one run and fails in another, where the downstream asset must not
materialize. ``dashboard_release`` has no job: the daemon's automation sensor materializes it after the pass
(declarative automation on the blocking check, #23), and after the failure it does not. The token, read from
``QATECH_API_TOKEN`` by every process, must be in no log and nowhere in the instance's storage, its compressed
snapshots included.

On PostgreSQL, also: a run worker SIGKILLed while the check waits is retried by the daemon, and the retry
re-attaches to the QA.tech run the killed attempt started; a check that failed on QA.tech's verdict is not
retried (``retry_on_asset_or_op_failure: false``), so it starts no second QA.tech run.
Run alone: ``./scripts/test.sh tests/system``.
"""

from __future__ import annotations

import itertools
import re
import shutil
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN

pytestmark = [pytest.mark.system, pytest.mark.timeout(600)]

pytest.importorskip("dagster")
if shutil.which("dagster-webserver", path=str(Path(sys.executable).parent)) is None:
    pytest.skip("the system test needs dagster-webserver (the dev dependency group)", allow_module_level=True)

from tests.system.dagster_deployment import DagsterDeployment, dagster_deployment  # noqa: E402
from tests.system.processes import kill_family  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
PROJECT = EXAMPLES / "dagster_project"
PRODUCTION_INSTANCE = EXAMPLES / "dagster_home" / "dagster.yaml"
CHECK = ("dashboard_data", "qatech_e2e")
PLAN = "pln_dashboard-checks_7fQ2"
ASSETS = ["dashboard_data", "published_dashboard"]
CHECK_EXECUTIONS = """
query Checks($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 10) {
    runId
    status
    evaluation {
      timestamp
      success
      severity
      metadataEntries { label ... on UrlMetadataEntry { url } ... on TextMetadataEntry { text } }
    }
  }
}"""
MATERIALIZATIONS = """
query Materializations($assetKey: AssetKeyInput!) {
  assetOrError(assetKey: $assetKey) { ... on Asset { assetMaterializations(limit: 10) { runId timestamp } } }
}"""
SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 100) { id status timestamp runIds } } }
  }
}"""
AUTOMATION_SENSOR = "qatech_release_automation"
#: The automation sensor's minimum interval in the test (the example's default is Dagster's 30 s).
AUTOMATION_INTERVAL = 5


def sensor_ticks(dagster: DagsterDeployment) -> list[dict[str, Any]]:
    """The automation sensor's ticks, oldest first (each: status, timestamp in seconds, the runs it requested)."""
    selector = {**dagster.repository(), "sensorName": AUTOMATION_SENSOR}
    found = dagster.graphql(SENSOR_TICKS, selector=selector)["sensorOrError"]
    assert found["__typename"] == "Sensor", found
    return sorted(found["sensorState"]["ticks"], key=lambda tick: float(tick["timestamp"]))


def released_in(dagster: DagsterDeployment) -> dict[str, float]:
    """The runs that materialized ``dashboard_release``, and when (seconds since the epoch)."""
    found = dagster.graphql(MATERIALIZATIONS, assetKey={"path": ["dashboard_release"]})["assetOrError"]
    return {m["runId"]: int(m["timestamp"]) / 1000 for m in found.get("assetMaterializations", [])}


class Runs:
    """The check passes in one run, and the daemon materializes ``dashboard_release`` after it; in the next run,
    the QA.tech run and its rerun of the failed test case both fail, and the daemon's next evaluations release
    nothing."""

    def __init__(self, dagster: DagsterDeployment, emulator: QATechEmulator) -> None:
        assets = ASSETS
        self.passing = dagster.launch_assets(assets, [CHECK])
        self.passing_status = dagster.wait_for_run(self.passing, timeout=240)
        self.passing_starts = len(emulator.requests_to("start_run"))
        # Released before the next refresh starts: a refresh in progress holds it back (eager's
        # ~any_deps_in_progress), and once that refresh's check failed, nothing is released at all.
        self.release_tick = dagster.wait_for(
            "the automation sensor to request dashboard_release",
            lambda: next((t for t in sensor_ticks(dagster) if t["runIds"]), None),
            timeout=30 * AUTOMATION_INTERVAL,
        )
        (self.release,) = self.release_tick["runIds"]
        self.release_status = dagster.wait_for_run(self.release, timeout=240)
        emulator.script_outcome("FAILED", failing={"Export report as CSV": "Export button returned HTTP 500"}, times=2)
        self.failing = dagster.launch_assets(assets, [CHECK])
        self.failing_status = dagster.wait_for_run(self.failing, timeout=240)
        failed_at = time.time()

        # Two finished evaluations that began after the failure was recorded: the daemon saw it, twice.
        def evaluated_twice() -> list[dict[str, Any]] | None:
            later = [t for t in sensor_ticks(dagster) if float(t["timestamp"]) > failed_at and t["status"] != "STARTED"]
            return later[:2] if len(later) >= 2 else None

        self.ticks_after_failure = dagster.wait_for(
            "two automation evaluations after the failed check", evaluated_twice, timeout=30 * AUTOMATION_INTERVAL
        )
        self.ticks = sensor_ticks(dagster)
        self.released_in = released_in(dagster)
        self.starts = emulator.requests_to("start_run")
        self.reruns = emulator.requests_to("rerun")
        executions = dagster.graphql(CHECK_EXECUTIONS, assetKey={"path": [CHECK[0]]}, checkName=CHECK[1])
        self.checks = {e["runId"]: e for e in executions["assetCheckExecutions"]}
        published = dagster.graphql(MATERIALIZATIONS, assetKey={"path": ["published_dashboard"]})["assetOrError"]
        self.published_in = {m["runId"] for m in published["assetMaterializations"]}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def dagster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DagsterDeployment, QATechEmulator]]:
    tmp = tmp_path_factory.mktemp(f"dagster-{request.param}")
    instance_yaml, postgres, pg_env = "", None, {}
    if request.param == "postgres":
        if tuple(int(p) for p in version("dagster").split(".")[:2]) < (1, 13):
            pytest.skip("Dagster on PostgreSQL runs on the newest leg (dagster-postgres: requirements/system.txt)")
        _require_dagster_postgres()
        server, _ = request.getfixturevalue("production_servers")
        database = server.create_database(f"dagster_{tmp.name.replace('-', '_')}")
        instance_yaml, postgres = PRODUCTION_INSTANCE.read_text(), (server, database)
        pg_env = {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(server.port),
            "DAGSTER_PG_USERNAME": server.user,
            "DAGSTER_PG_PASSWORD": "not-checked-trust-auth",  # the test cluster trusts loopback
            "DAGSTER_PG_DB": database,
        }
    with QATechEmulator(token=TOKEN, polls_to_finish=1, latency=0.2) as emulator:
        env = {
            "QATECH_API_TOKEN": TOKEN,
            "QATECH_BASE_URL": emulator.base_url,
            "QATECH_EXAMPLE_POLL_INTERVAL": "2",
            "QATECH_EXAMPLE_AUTOMATION_INTERVAL": str(AUTOMATION_INTERVAL),
            **pg_env,
        }
        # The code location as `dg dev` names it (after the project's folder), so the components find theirs.
        workspace = tmp / "workspace.yaml"
        workspace.write_text(
            "load_from:\n  - python_module:\n      module_name: qatech_dagster_example.definitions\n"
            f"      working_directory: {PROJECT}\n      location_name: {PROJECT.name}\n"
        )
        with dagster_deployment(tmp / "home", ["-w", str(workspace)], env, instance_yaml, postgres) as deployment:
            yield deployment, emulator


def _require_dagster_postgres() -> None:
    try:
        import dagster_postgres  # noqa: F401
    except ImportError:
        pytest.fail("dagster-postgres is missing on the newest leg: install requirements/system.txt")


@pytest.fixture(scope="module")
def runs(dagster: tuple[DagsterDeployment, QATechEmulator]) -> Runs:
    return Runs(*dagster)


def _metadata(execution: dict[str, Any]) -> dict[str, Any]:
    return {e["label"]: e.get("url", e.get("text")) for e in execution["evaluation"]["metadataEntries"]}


def test_a_passing_blocking_check_lets_the_downstream_asset_materialize(runs: Runs) -> None:
    assert runs.passing_status == "SUCCESS"
    assert runs.passing_starts == 1  # one QA.tech run for one check execution
    execution = runs.checks[runs.passing]
    assert execution["status"] == "SUCCEEDED" and execution["evaluation"]["success"] is True
    metadata = _metadata(execution)
    assert metadata["run_url"].endswith(f"/runs/{metadata['run_short_id']}"), metadata
    assert runs.passing in runs.published_in


def test_a_failing_blocking_check_keeps_the_downstream_asset_from_materializing(runs: Runs) -> None:
    assert runs.failing_status == "FAILURE"
    assert len(runs.starts) == 2 and len(runs.reruns) == 1  # the YAML's rerun_failed_once: one rerun, no more
    execution = runs.checks[runs.failing]
    assert execution["status"] == "FAILED" and execution["evaluation"]["success"] is False
    assert execution["evaluation"]["severity"] == "ERROR"
    assert runs.failing not in runs.published_in


def test_the_daemon_releases_after_a_passing_check_and_not_after_a_failing_one(runs: Runs) -> None:
    """Declarative automation on the blocking check: no job ties dashboard_release to the QA.tech check."""
    assert runs.release_status == "SUCCESS"
    assert runs.release not in (runs.passing, runs.failing)  # its own run, requested by the daemon
    assert list(runs.released_in) == [runs.release]  # once: after the pass; the failure released nothing
    assert runs.passing_starts == 1 and len(runs.starts) == 2  # releasing starts no QA.tech run
    after_failure = runs.ticks_after_failure
    assert len(after_failure) == 2 and all(not t["runIds"] for t in after_failure), after_failure
    requests = [t for t in runs.ticks if t["runIds"]]
    assert requests == [runs.release_tick], requests
    stamps = [float(t["timestamp"]) for t in runs.ticks]
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    passed_at = float(runs.checks[runs.passing]["evaluation"]["timestamp"])
    print(
        f"automation: {len(runs.ticks)} ticks, interval min {min(intervals):.1f} s / median "
        f"{sorted(intervals)[len(intervals) // 2]:.1f} s / max {max(intervals):.1f} s "
        f"(minimum_interval_seconds={AUTOMATION_INTERVAL}); after the check passed, the release was requested "
        f"{float(runs.release_tick['timestamp']) - passed_at:.1f} s (tick start) and materialized "
        f"{runs.released_in[runs.release] - passed_at:.1f} s later"
    )
    assert min(intervals) >= AUTOMATION_INTERVAL - 1  # the sensor's minimum interval holds (clock granularity)


def test_the_token_is_in_no_log_and_nowhere_in_storage(
    dagster: tuple[DagsterDeployment, QATechEmulator], runs: Runs
) -> None:
    deployment, _ = dagster
    stored = deployment.stored_bytes()
    snapshots = b"".join(value for name, value in stored.items() if "decompressed" in name)
    # The search can find what is there: the decompressed snapshots hold the resource's config, which names
    # the variable the token is read from, and the check's request.
    assert b"QATECH_API_TOKEN" in snapshots and b"pln_dashboard-checks_7fQ2" in snapshots
    assert [name for name, value in stored.items() if TOKEN.encode() in value] == []
    logs = deployment.logs()
    assert any(name.startswith("components/") for name in logs), sorted(logs)
    assert [name for name, text in logs.items() if TOKEN in text] == []


def test_the_webserver_and_daemon_load_the_project_without_loader_warnings(
    dagster: tuple[DagsterDeployment, QATechEmulator], runs: Runs
) -> None:
    deployment, _ = dagster
    components = {name: text for name, text in deployment.logs().items() if name.startswith("components/")}
    assert set(components) == {"components/webserver.log", "components/daemon.log"}
    lines = [line for text in components.values() for line in text.splitlines()]
    # Python warnings (BetaWarning, SupersessionWarning...) and the components loader's own warnings.
    warnings = [line for line in lines if re.search(r"\w+Warning: |dagster\.components", line)]
    assert warnings == [], warnings
    # What the check logs does reach the run's event log (the daemon prints it): the rerun of the failed run.
    assert any("did not pass; rerunning its failed test cases once" in line for line in lines)


def _with_run_retries(dagster: tuple[DagsterDeployment, QATechEmulator]) -> tuple[DagsterDeployment, QATechEmulator]:
    if dagster[0].postgres is None:
        pytest.skip("run retries are configured on the PostgreSQL instance (example_dags/dagster_home/dagster.yaml)")
    return dagster


def _reads(emulator: QATechEmulator, short_id: str) -> int:
    return sum(1 for r in emulator.requests_to("get_run") if r.path.endswith(f"/run/{short_id}"))


def test_a_check_that_failed_on_the_verdict_is_not_retried(
    dagster: tuple[DagsterDeployment, QATechEmulator], runs: Runs
) -> None:
    """retry_on_asset_or_op_failure: false (the shipped dagster.yaml): Dagster's default would retry the failed
    run, and each retry would start a new QA.tech run of an app known to be broken (3 runs for max_retries 2)."""
    deployment, emulator = _with_run_retries(dagster)

    def decided() -> list[dict[str, Any]]:
        retried = deployment.runs_tagged("dagster/parent_run_id", runs.failing)
        starts = len(emulator.requests_to("start_run"))
        assert retried == [], f"a failed verdict was retried: {retried}; QA.tech runs started: {starts}"
        return [e for e in deployment.events(runs.failing) if "Not retrying run" in (e.get("message") or "")]

    (decision,) = deployment.wait_for("the daemon's decision on the failed run", decided, 120)
    assert "failed due to an asset or op failure" in decision["message"], decision
    assert deployment.runs_tagged("dagster/parent_run_id", runs.failing) == []
    assert len(emulator.requests_to("start_run")) == 2 and len(emulator.requests_to("rerun")) == 1  # no more


def test_a_killed_run_worker_is_retried_and_the_retry_re_attaches(
    dagster: tuple[DagsterDeployment, QATechEmulator], runs: Runs
) -> None:
    deployment, emulator = _with_run_retries(dagster)
    emulator.script_outcome("NEVER", test_plan_short_id=PLAN)  # the QA.tech run goes on until let go
    starts_before = len(emulator.requests_to("start_run"))

    def waiting() -> str | None:
        started = [r for r in emulator.project.runs.values() if r.outcome.status == "NEVER"]
        return started[0].short_id if len(started) == 1 and _reads(emulator, started[0].short_id) >= 1 else None

    first = deployment.launch_assets(ASSETS, [CHECK])
    short_id = deployment.wait_for("the check to wait for its QA.tech run", waiting, 240)
    pid = deployment.wait_for("the run worker's PID", lambda: deployment.run_worker_pid(first), 60)
    kill_family(pid)  # the run worker and the step process under it, as a lost node does
    killed_at = time.monotonic()
    assert deployment.wait_for_run(first, timeout=120) == "FAILURE"
    (retry,) = deployment.wait_for(
        "the daemon's automatic retry", lambda: deployment.runs_tagged("dagster/parent_run_id", first), 120
    )

    def check_started() -> bool:
        return any(
            "qatech_e2e" in (e.get("stepKey") or "") and (e.get("message") or "").startswith("Started execution")
            for e in deployment.events(retry["runId"])
        )

    # The run is let go only once the retried check has read it, so the retry re-attaches to a run still
    # going. (Counting reads from the kill on is not enough: a read the killed step sent can land after it.)
    deployment.wait_for("the retried check to start", check_started, 240, interval=0.5)
    reads_at_start = _reads(emulator, short_id)
    deployment.wait_for("the retry to read the QA.tech run", lambda: _reads(emulator, short_id) > reads_at_start, 60)
    print(f"run worker killed -> retry re-attached: {time.monotonic() - killed_at:.1f} s")
    assert emulator.release_held_runs(PLAN) == 1
    assert deployment.wait_for_run(retry["runId"], timeout=240) == "SUCCESS"
    assert len(emulator.requests_to("start_run")) == starts_before + 1  # starts == checks: no second run
    check_log = [e["message"] for e in deployment.events(retry["runId"]) if "qatech_e2e" in (e.get("stepKey") or "")]
    # The core's INFO line, in the event log users read (not only on the run worker's stderr).
    assert any(f"Re-attaching to QA.tech run {short_id}" in m for m in check_log), "\n".join(check_log)
    executions = dagster_graphql_checks(deployment)
    assert executions[retry["runId"]]["status"] == "SUCCEEDED"
    published = deployment.graphql(MATERIALIZATIONS, assetKey={"path": ["published_dashboard"]})["assetOrError"]
    published_in = [m["runId"] for m in published["assetMaterializations"]]
    assert published_in.count(retry["runId"]) == 1 and first not in published_in


def dagster_graphql_checks(deployment: DagsterDeployment) -> dict[str, dict[str, Any]]:
    executions = deployment.graphql(CHECK_EXECUTIONS, assetKey={"path": [CHECK[0]]}, checkName=CHECK[1])
    return {e["runId"]: e for e in executions["assetCheckExecutions"]}
