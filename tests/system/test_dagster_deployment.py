"""System test: the example ``dg`` project on a real Dagster deployment, as a user runs it (#12).

dagster-webserver and dagster-daemon run as processes of their own on a throwaway instance (an empty
``DAGSTER_HOME``). Runs are launched through GraphQL as the UI's "Materialize" does, so they go through the
queue and the daemon to a run worker. The blocking QA.tech check (declared in the project's YAML) passes in
one run and fails in another, where the downstream asset must not materialize. The token, read from
``QATECH_API_TOKEN`` by every process, must be in no log and nowhere in the instance's storage, its
compressed snapshots included. Run alone: ``./scripts/test.sh tests/system``.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
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

PROJECT = Path(__file__).resolve().parents[2] / "example_dags" / "dagster_project"
CHECK = ("dashboard_data", "qatech_e2e")
CHECK_EXECUTIONS = """
query Checks($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 10) {
    runId
    status
    evaluation {
      success
      severity
      metadataEntries { label ... on UrlMetadataEntry { url } ... on TextMetadataEntry { text } }
    }
  }
}"""
MATERIALIZATIONS = """
query Materializations($assetKey: AssetKeyInput!) {
  assetOrError(assetKey: $assetKey) { ... on Asset { assetMaterializations(limit: 10) { runId } } }
}"""


class Runs:
    """The check passes in one run; in the next, the run and its rerun of the failed test case both fail."""

    def __init__(self, dagster: DagsterDeployment, emulator: QATechEmulator) -> None:
        assets = ["dashboard_data", "published_dashboard"]
        self.passing = dagster.launch_assets(assets, [CHECK])
        self.passing_status = dagster.wait_for_run(self.passing, timeout=240)
        self.passing_starts = len(emulator.requests_to("start_run"))
        emulator.script_outcome("FAILED", failing={"Export report as CSV": "Export button returned HTTP 500"}, times=2)
        self.failing = dagster.launch_assets(assets, [CHECK])
        self.failing_status = dagster.wait_for_run(self.failing, timeout=240)
        self.starts = emulator.requests_to("start_run")
        self.reruns = emulator.requests_to("rerun")
        executions = dagster.graphql(CHECK_EXECUTIONS, assetKey={"path": [CHECK[0]]}, checkName=CHECK[1])
        self.checks = {e["runId"]: e for e in executions["assetCheckExecutions"]}
        published = dagster.graphql(MATERIALIZATIONS, assetKey={"path": ["published_dashboard"]})["assetOrError"]
        self.published_in = {m["runId"] for m in published["assetMaterializations"]}


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DagsterDeployment, QATechEmulator]]:
    tmp = tmp_path_factory.mktemp("dagster")
    with QATechEmulator(token=TOKEN, polls_to_finish=1, latency=0.2) as emulator:
        env = {"QATECH_API_TOKEN": TOKEN, "QATECH_BASE_URL": emulator.base_url}
        # The code location as `dg dev` names it (after the project's folder), so the components find theirs.
        workspace = tmp / "workspace.yaml"
        workspace.write_text(
            "load_from:\n  - python_module:\n      module_name: qatech_dagster_example.definitions\n"
            f"      working_directory: {PROJECT}\n      location_name: {PROJECT.name}\n"
        )
        with dagster_deployment(tmp / "home", ["-w", str(workspace)], env) as deployment:
            yield deployment, emulator


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
