"""The README's Dagster code, run as written against the emulator: the resource, the ops (as a job), the
asset checks (materialized), the YAML component with the definitions that check asset keys (``dg check
defs`` on a copy of the example project), and the commands of "Running the Dagster UI"."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.readme import ROOT, Shell, block, commands, not_run_reason, shell_env

PROJECT = ROOT / "example_dags" / "dagster_project"
DAGSTER_1_11 = not hasattr(dg, "load_from_defs_folder") or "path_within_project" not in str(
    __import__("inspect").signature(dg.load_from_defs_folder)
)


@pytest.fixture
def readme_env(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> QATechEmulator:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    monkeypatch.setenv("QATECH_BASE_URL", emulator.base_url)
    emulator.project.polls_to_finish = 1  # the README polls every 30 s: the first read finishes the run
    return emulator


def _run_blocks(*sections: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    namespace = {} if namespace is None else namespace
    for section in sections:
        exec(compile(block(section, "python").text, f"README.md ({section})", "exec"), namespace)
    return namespace


def test_the_resource_and_ops_blocks_run_a_job(readme_env: QATechEmulator) -> None:
    ns = _run_blocks("Resource", "Ops")
    result = ns["nightly_regression"].execute_in_process(run_config=ns["run_config"], resources=ns["resources"])
    assert result.success
    assert result.output_for_node("qatech_wait_for_run_op")["result"] == "PASSED"
    (start,) = readme_env.requests_to("start_run")
    assert start.body == {
        "testPlanShortId": "pln_nightly-regression_k2P9",
        "applications": [{"applicationShortId": "app_gXeBl2", "environment": {"url": "https://staging.example.com"}}],
    }


#: The assets the asset-checks block checks: a reader's own, so the test declares them.
_READERS_ASSETS = """
@dg.asset
def dashboard_data() -> None: ...
@dg.asset
def orders() -> None: ...
@dg.asset
def refunds() -> None: ...
"""


def test_the_asset_checks_block_materializes(readme_env: QATechEmulator) -> None:
    ns = _run_blocks("Resource")
    exec(_READERS_ASSETS, ns)
    _run_blocks("Asset checks", namespace=ns)
    assets = [ns["dashboard_data"], ns["orders"], ns["refunds"]]
    result = dg.materialize([*assets, ns["dashboard_e2e"], *ns["checks"]], resources=ns["resources"])
    evaluations = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"dashboard_data": True, "orders": True, "refunds": True}
    plans = sorted(r.body["testPlanShortId"] for r in readme_env.requests_to("start_run"))
    assert plans == ["pln_dashboard-checks_7fQ2", "pln_smoke_1a2B", "pln_smoke_1a2B"]


def _project_from_the_readme(tmp_path: Path, asset: str = "dashboard_data") -> Path:
    """The example project with the README's component YAML and its asset-key-checking definitions."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    package = project / "qatech_dagster_example"
    yaml = block("Component", "yaml").text
    assert yaml.startswith("# defs/qatech_checks/defs.yaml")  # where the README says it goes
    (package / "defs" / "qatech_checks" / "defs.yaml").write_text(
        yaml.replace("asset: dashboard_data", f"asset: {asset}")
    )
    definitions = block("Misspelled asset keys", "python").text
    if DAGSTER_1_11:  # the README's note for Dagster 1.11
        definitions = definitions.replace(
            "path_within_project=Path(__file__).parent", "project_root=Path(__file__).parent.parent"
        )
    (package / "definitions.py").write_text(definitions)
    return project


def test_the_component_yaml_and_definitions_blocks(readme_env: QATechEmulator, tmp_path: Path) -> None:
    shell = Shell(shell_env(), cwd=_project_from_the_readme(tmp_path))
    checked = shell.run("dg check defs")
    assert checked.returncode == 0 and "All definitions loaded successfully" in checked.stdout + checked.stderr, (
        checked.stdout + checked.stderr
    )[-3000:]
    misspelled = Shell(shell_env(), cwd=_project_from_the_readme(tmp_path / "typo", asset="dashbord_data"))
    failed = misspelled.run("dg check defs")
    assert failed.returncode != 0
    assert "check 'qatech_e2e' on 'dashbord_data': did you mean 'dashboard_data'?" in failed.stdout + failed.stderr


def test_the_dagster_ui_commands() -> None:
    # A new user's shell: neither variable set (the token is read when a step runs, base_url has a default).
    env = {k: v for k, v in shell_env().items() if k not in ("QATECH_API_TOKEN", "QATECH_BASE_URL", "PYTHONPATH")}
    shell = Shell(env)
    ran = []
    for command in commands(block("Running the Dagster UI", "bash")):
        if not_run_reason(command):
            continue
        result = shell.run(command)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"[-3000:]
        ran.append((command, result.stdout + result.stderr))
    assert [command for command, _ in ran] == [
        "cd example_dags/dagster_project",
        "dg check defs    # loads every definition; no variable needed (the token is read when a step runs)",
    ]
    assert "All definitions loaded successfully" in ran[1][1]
    assert shell.cwd == PROJECT
    assert TOKEN not in ran[1][1]
