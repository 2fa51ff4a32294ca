"""The YAML component: loading, validation, the `dg` and `dagster` commands (runs: test_examples.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dagster_resource import QATechAssetChecksComponent, build_qatech_asset_check, require_checked_assets
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.subprocesses import run

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "example_dags" / "dagster_project"


@pytest.fixture
def project_env(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> QATechEmulator:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    monkeypatch.setenv("QATECH_BASE_URL", emulator.base_url)
    monkeypatch.setenv("QATECH_EXAMPLE_POLL_INTERVAL", "0.01")
    monkeypatch.syspath_prepend(str(PROJECT))
    emulator.project.polls_to_finish = 1  # the YAML polls every 30 s: let the first read finish the run
    return emulator


def _project_defs() -> dg.Definitions:
    from qatech_dagster_example.definitions import defs  # the project's own entry point

    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    return loaded


def test_component_loads_from_yaml_and_builds_the_same_check(project_env: QATechEmulator) -> None:
    defs = _project_defs()
    (checks_def,) = [c for c in defs.asset_checks or [] if "qatech_e2e" in str(c.check_keys)]
    (key,) = checks_def.check_keys
    assert key.asset_key == dg.AssetKey("dashboard_data") and key.name == "qatech_e2e"
    (spec,) = checks_def.check_specs
    python_built = build_qatech_asset_check(dg.AssetKey("dashboard_data"), test_plan_short_id="pln_x")
    (python_spec,) = python_built.check_specs
    assert spec.blocking is True and spec.blocking == python_spec.blocking
    resource = (defs.resources or {})["qatech"]
    assert resource.base_url == project_env.base_url
    assert TOKEN not in repr(resource)
    # the YAML names the variable: the resource holds an EnvVar, so Dagster's UI never shows the value
    assert isinstance(resource.api_token, dg.EnvVar) and resource.api_token == "QATECH_API_TOKEN"


def _test_context() -> Any:
    try:  # dagster >= 1.12
        from dagster.components.core.component_tree import ComponentTree

        return ComponentTree.for_test().load_context
    except ImportError:
        from dagster import ComponentLoadContext

        return ComponentLoadContext.for_test()


LOAD_WITH_BETA_WARNINGS_AS_ERRORS = """
import warnings
from dagster import BetaWarning
warnings.simplefilter("error", BetaWarning)  # as a user running with -W error would
from qatech_dagster_example.definitions import defs
repository = defs().get_repository_def()
print(sorted(key.name for key in repository.asset_checks_defs_by_key))  # what the webserver and daemon load
warnings.filters[:] = [f for f in warnings.filters if "execution_type" not in str(f[1])]
try:
    defs().get_repository_def().asset_checks_defs_by_key
except BetaWarning as warning:
    print("without the filter:", warning)
"""


def test_loading_the_component_project_raises_no_beta_warning(project_env: QATechEmulator) -> None:
    # Seen in the webserver's and daemon's logs (#12): Dagster's own conversion of a YAML component's checks.
    result = run(
        [sys.executable, "-c", LOAD_WITH_BETA_WARNINGS_AS_ERRORS],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(PROJECT)])},
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "['qatech_e2e']" in result.stdout
    # The filter is what keeps it quiet: without it, the same load warns about execution_type (Dagster 1.12 on;
    # 1.11 did not warn there).
    if tuple(int(p) for p in dg.__version__.split(".")[:2]) >= (1, 12):
        assert "without the filter: Parameter `execution_type`" in result.stdout, result.stdout


def test_component_needs_the_token_variable() -> None:
    component = QATechAssetChecksComponent.resolve_from_yaml("checks:\n  - asset: a\n")
    with pytest.raises(ValueError, match="set api_token_env_var to the environment variable"):
        component.build_defs(_test_context())


@pytest.mark.parametrize("written", ["{{ env.QATECH_API_TOKEN }}", "{{ env('QATECH_API_TOKEN') }}"])
def test_a_templated_token_becomes_an_env_var_never_a_value(
    written: str, emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    component = QATechAssetChecksComponent.resolve_from_yaml(
        # a 0.01 s poll: the default 30 s would make this test wait 30 s between the run's two reads
        f'api_token: "{written}"\nbase_url: {emulator.base_url}\nchecks:\n  - asset: a\n    poll_interval: 0.01\n'
    )
    defs = component.build_defs(_test_context())
    resource = (defs.resources or {})["qatech"]
    # the resource's config holds the variable's name: what the UI shows and run snapshots store
    assert isinstance(resource.api_token, dg.EnvVar) and resource.api_token == "QATECH_API_TOKEN"
    assert TOKEN not in repr(component) and TOKEN not in repr(resource)

    @dg.asset
    def a() -> None:
        pass

    result = dg.materialize([a, *(defs.asset_checks or [])], resources=dict(defs.resources or {}))
    assert result.success and len(emulator.requests_to("start_run")) == 1  # the variable was read at run time


def test_a_token_written_into_the_yaml_is_refused() -> None:
    with pytest.raises(Exception, match=r"api_token: a token written into defs\.yaml") as raised:
        QATechAssetChecksComponent.resolve_from_yaml(f"api_token: {TOKEN}\nchecks:\n  - asset: a\n")
    assert "api_token_env_var: QATECH_API_TOKEN" in str(raised.value) and TOKEN not in str(raised.value)


def test_component_rejects_a_bad_severity() -> None:
    with pytest.raises(Exception, match="severity: 'FATAL' is not allowed; use ERROR or WARN"):
        QATechAssetChecksComponent.resolve_from_yaml(
            "api_token_env_var: QATECH_API_TOKEN\nchecks:\n  - asset: a\n    severity: FATAL\n"
        )


def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = run(args, env=env, cwd=cwd, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert TOKEN not in output
    return output


def test_dg_lists_and_checks_the_component(project_env: QATechEmulator) -> None:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    assert "dagster_resource.QATechAssetChecksComponent" in _run_cli(
        [str(bindir / "dg"), "list", "components"], env, PROJECT
    )
    # a new user's shell: neither variable set (the token is read when a step runs, base_url has a default)
    bare = {key: value for key, value in env.items() if key not in ("QATECH_API_TOKEN", "QATECH_BASE_URL")}
    assert "All definitions loaded successfully" in _run_cli([str(bindir / "dg"), "check", "defs"], bare, PROJECT)


def test_a_check_on_a_misspelled_asset_fails_dg_check_defs(project_env: QATechEmulator, tmp_path: Path) -> None:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    checks_yaml = project / "qatech_dagster_example" / "defs" / "qatech_checks" / "defs.yaml"
    checks_yaml.write_text(checks_yaml.read_text().replace("asset: dashboard_data", "asset: dashbord_data"))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(project), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    result = run([str(bindir / "dg"), "check", "defs"], env=env, cwd=project, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "check 'qatech_e2e' on 'dashbord_data': did you mean 'dashboard_data'?" in output


def test_dagster_definitions_validate_passes_on_the_python_example(project_env: QATechEmulator) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    output = _run_cli(
        [str(dagster), "definitions", "validate", "-f", "example_dags/dagster_defs.py"], dict(os.environ), ROOT
    )
    assert "Validation successful" in output


def test_dg_scaffold_writes_a_template_that_loads_beside_another_instance(
    project_env: QATechEmulator, tmp_path: Path
) -> None:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(project), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    _run_cli([str(bindir / "dg"), "scaffold", "defs", "dagster_resource.QATechAssetChecksComponent", "more_checks"],
             env, project)  # fmt: skip
    scaffolded = project / "qatech_dagster_example" / "defs" / "more_checks" / "defs.yaml"
    text = scaffolded.read_text()
    assert "api_token_env_var: QATECH_API_TOKEN" in text and "test_plan_short_id" in text
    scaffolded.write_text(text.replace("my_asset", "published_dashboard").replace(
        "api_token_env_var:", f"base_url: {project_env.base_url}\n  api_token_env_var:"))  # fmt: skip
    assert "All definitions loaded successfully" in _run_cli([str(bindir / "dg"), "check", "defs"], env, project)


def test_require_checked_assets_accepts_declared_targets_and_names_unknown_ones() -> None:
    @dg.asset
    def dashboard_data() -> None:
        pass

    on_source = build_qatech_asset_check("raw_orders", test_plan_short_id="pln_x")
    declared = dg.Definitions(assets=[dashboard_data, dg.SourceAsset("raw_orders")], asset_checks=[on_source])
    assert require_checked_assets(declared) is declared
    typo = build_qatech_asset_check("dashbord_data", test_plan_short_id="pln_x")
    elsewhere = build_qatech_asset_check(["warehouse", "orders"], test_plan_short_id="pln_x", name="other")
    with pytest.raises(ValueError) as raised:
        require_checked_assets(dg.Definitions(assets=[dashboard_data], asset_checks=[typo, elsewhere]))
    text = str(raised.value)
    assert "check 'qatech_e2e' on 'dashbord_data': did you mean 'dashboard_data'?" in text
    assert "check 'other' on 'warehouse/orders': declare it, e.g. with dg.AssetSpec" in text
    with_spec = dg.Definitions(assets=[dashboard_data, dg.AssetSpec(["warehouse", "orders"])], asset_checks=[elsewhere])
    assert require_checked_assets(with_spec) is with_spec


_SECOND_COMPONENT = """type: dagster_resource.QATechAssetChecksComponent
attributes:
  api_token_env_var: QATECH_API_TOKEN
  base_url: {base_url}
{resource_key}  checks:
    - asset: published_dashboard
      test_plan_short_id: pln_publish-checks_9kQ1
      poll_interval: 0.01
"""

_MATERIALIZE = """
import sys
from qatech_dagster_example.definitions import defs

loaded = defs()
result = loaded.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
print("resources:", sorted(str(key) for key in (loaded.resources or {})))
print("checks:", sorted((e.asset_key.to_user_string(), e.passed) for e in result.get_asset_check_evaluations()))
"""


def _project_with_a_second_component(tmp_path: Path, base_url: str, resource_key: str | None) -> Path:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    second = project / "qatech_dagster_example" / "defs" / "publish_checks"
    second.mkdir()
    key_line = f"  resource_key: {resource_key}\n" if resource_key else ""
    (second / "defs.yaml").write_text(_SECOND_COMPONENT.format(base_url=base_url, resource_key=key_line))
    return project


def test_two_components_with_different_settings_fail_dg_check_defs_naming_resource_key(
    project_env: QATechEmulator, tmp_path: Path
) -> None:
    with QATechEmulator(token=TOKEN) as other:
        project = _project_with_a_second_component(tmp_path, other.base_url, resource_key=None)
        bindir = Path(sys.executable).parent
        env = {**os.environ, "PYTHONPATH": str(project), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
        result = run([str(bindir / "dg"), "check", "defs"], env=env, cwd=project, timeout=300)
        assert other.requests == []
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    # Dagster builds the two in an order of its own: either may be the one named second
    here, there = ("qatech_checks", "publish_checks") if "at defs/qatech_checks: resource_key" in output else (
        "publish_checks", "qatech_checks")  # fmt: skip
    assert (f"QATechAssetChecksComponent at defs/{here}: resource_key 'qatech' is already the QA.tech resource of "
            f"the component at defs/{there}, with other settings (base_url ") in output  # fmt: skip
    assert (
        f"Give this component a resource key of its own (resource_key: {here.replace('publish', 'qatech_publish')})"
        in output
    )  # the fix, spelled out
    assert project_env.requests == []


def test_two_components_with_their_own_resource_keys_each_use_their_settings(
    project_env: QATechEmulator, tmp_path: Path
) -> None:
    with QATechEmulator(token=TOKEN, polls_to_finish=1) as other:
        project = _project_with_a_second_component(tmp_path, other.base_url, resource_key="qatech_publish_checks")
        bindir = Path(sys.executable).parent
        env = {**os.environ, "PYTHONPATH": str(project), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
        assert "All definitions loaded successfully" in _run_cli([str(bindir / "dg"), "check", "defs"], env, project)
        output = _run_cli([sys.executable, "-c", _MATERIALIZE], env, project).splitlines()
        assert "resources: ['qatech', 'qatech_publish_checks']" in output
        assert "checks: [('dashboard_data', True), ('published_dashboard', True)]" in output
        # each check started its run through its own component's resource
        assert [r.body["testPlanShortId"] for r in other.requests_to("start_run")] == ["pln_publish-checks_9kQ1"]
    assert [r.body["testPlanShortId"] for r in project_env.requests_to("start_run")] == ["pln_dashboard-checks_7fQ2"]


def test_dg_list_components_shows_a_plain_text_summary(project_env: QATechEmulator) -> None:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "400"}  # fmt: skip
    listing = _run_cli([str(bindir / "dg"), "list", "components"], env, PROJECT)
    (row,) = [line for line in listing.splitlines() if "dagster_resource.QATechAssetChecksComponent" in line]
    assert "QA.tech end-to-end checks for assets, and the QA.tech resource they use." in row
    assert "`" not in row  # no reStructuredText markup
