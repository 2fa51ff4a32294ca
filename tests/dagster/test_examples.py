"""The Dagster examples run end to end against the emulator.

Written as a user writes the tests of their own Dagster code: only the package's pytest fixtures
(``qatech_environment``: ``QATECH_API_TOKEN`` and ``QATECH_BASE_URL``, which the examples and the YAML component
read; ``qatech_emulator``: what QA.tech received and how its runs end). Waits against the emulator do not
sleep their poll interval (the plugin cuts each pause), so the examples' 30 s polls take no time here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dagster_resource import QATechAssetChecksComponent
from qatech_orchestration.testing import QATechMock

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
PROJECT = EXAMPLES / "dagster_project"  # a `dg` project: your project's root


@pytest.fixture
def component_project(qatech_environment: QATechMock, monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    """The YAML component project's definitions, loaded through its own entry point."""
    monkeypatch.syspath_prepend(str(PROJECT))  # an installed project needs no path
    from qatech_dagster_example.definitions import defs

    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    return loaded


@pytest.fixture
def python_example(qatech_environment: QATechMock) -> Any:
    """``example_dags/dagster_defs.py``, imported after the environment points it at the emulator."""
    spec = importlib.util.spec_from_file_location("qatech_dagster_defs_example", EXAMPLES / "dagster_defs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_component_project_passes_and_materializes(component_project: dg.Definitions,
                                                   qatech_emulator: QATechMock) -> None:  # fmt: skip
    result = component_project.resolve_implicit_global_asset_job_def().execute_in_process()
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert materialized == {"dashboard_data", "published_dashboard", "dashboard_release"}
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    start = qatech_emulator.assert_started_once(test_plan_short_id="pln_dashboard-checks_7fQ2")
    assert start.body["applications"][0]["applicationShortId"] == "app_gXeBl2"
    qatech_emulator.assert_no_rerun()


@pytest.mark.qatech("FAILED", failing={"Totals": "Revenue shows 0 after the refresh"}, times=2)
def test_component_project_blocking_check_fails_after_one_rerun(
    component_project: dg.Definitions, qatech_emulator: QATechMock
) -> None:
    result = component_project.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert materialized == {"dashboard_data"}  # the blocking check kept what depends on it back
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "Totals: Revenue shows 0 after the refresh" in str(evaluation.metadata)  # the check says why
    first, _rerun = qatech_emulator.runs
    qatech_emulator.assert_started(1)
    qatech_emulator.assert_rerun_once(first, failed_only=True)  # rerun_failed_once: true in the YAML


def test_python_example_assets_and_job(python_example: Any, qatech_emulator: QATechMock) -> None:
    defs = python_example.defs
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process()
    assert {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()} == {
        "dashboard_data", "published_dashboard"}  # fmt: skip
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    qatech_emulator.assert_started(1)
    assert defs.resolve_schedule_def("qatech_nightly_regression_schedule").cron_schedule == "0 3 * * *"
    job_result = defs.resolve_job_def("qatech_nightly_regression").execute_in_process(
        run_config=python_example.NIGHTLY_RUN_CONFIG
    )
    assert job_result.success
    assert qatech_emulator.starts[-1].body == {"testPlanShortId": "pln_nightly-regression_k2P9"}
    qatech_emulator.assert_started(2)


@pytest.mark.qatech("FAILED", failing={"Checkout": "Pay button missing"})
def test_python_example_failing_check_blocks_the_published_asset(
    python_example: Any, qatech_emulator: QATechMock
) -> None:
    result = python_example.defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert materialized == {"dashboard_data"}  # the blocking check kept published_dashboard back
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    qatech_emulator.assert_started(1)


def test_the_examples_retry_their_step_and_the_component_builds_the_policy(
    component_project: dg.Definitions, python_example: Any
) -> None:
    (checks_def,) = [c for c in component_project.asset_checks or [] if "qatech_e2e" in str(c.check_keys)]
    policy = checks_def.node_def.retry_policy
    assert policy == dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL)
    assert python_example.dashboard_e2e.node_def.retry_policy == policy
    assert python_example.qatech_nightly_regression.op_retry_policy == policy
    none = QATechAssetChecksComponent.resolve_from_yaml("api_token_env_var: T\nchecks:\n  - asset: a\n")
    assert none.checks[0].retry_policy is None  # no retries unless asked for
    with pytest.raises(Exception, match=r"checks\[a\]\.retries, retry_delay: must be 0 or more \(got -1, 60"):
        QATechAssetChecksComponent.resolve_from_yaml("api_token_env_var: T\nchecks:\n  - asset: a\n    retries: -1\n")
