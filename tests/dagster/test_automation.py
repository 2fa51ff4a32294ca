"""The example project's declarative automation (#23): ``dashboard_release`` is requested after
``dashboard_data`` updates only once its blocking QA.tech check passed, with no job tying the two.

In process, with Dagster's own evaluator of automation conditions (``evaluate_automation_conditions``, what
the daemon's automation sensor runs each tick) on an instance that holds real materializations and check
results. The daemon itself runs it in tests/system/test_dagster_deployment.py.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.dagster.test_component_and_examples import _project_defs, project_env  # noqa: F401  # fixture

RELEASE = dg.AssetKey("dashboard_release")


def _refresh(defs: dg.Definitions, instance: dg.DagsterInstance) -> bool:
    """Materialize dashboard_data with its QA.tech check (what the ETL's run does); whether the check passed."""
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("dashboard_data")], raise_on_error=False
    )
    (evaluation,) = result.get_asset_check_evaluations()
    materialized = {m.asset_key for m in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey("dashboard_data")}  # the release is the daemon's, not this run's
    return bool(evaluation.passed)


def test_the_release_is_requested_after_a_passing_check_only(project_env: QATechEmulator) -> None:  # noqa: F811
    defs = _project_defs()
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.get_num_requested(RELEASE) == 0  # nothing to release before the data exists

    assert _refresh(defs, instance) is True
    after_pass = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert after_pass.get_num_requested(RELEASE) == 1

    project_env.script_outcome("FAILED", failing={"Totals": "Revenue shows 0"}, times=2)  # run and its rerun
    assert _refresh(defs, instance) is False
    after_fail = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_pass.cursor)
    assert after_fail.get_num_requested(RELEASE) == 0
    assert len(project_env.requests_to("start_run")) == 2  # one QA.tech run per refresh; evaluating starts none


def test_a_failed_check_followed_by_a_pass_releases_then(project_env: QATechEmulator) -> None:  # noqa: F811
    defs = _project_defs()
    instance = dg.DagsterInstance.ephemeral()
    cursor: Any = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
    project_env.script_outcome("FAILED", failing={"Totals": "Revenue shows 0"}, times=2)
    assert _refresh(defs, instance) is False
    after_fail = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    assert after_fail.get_num_requested(RELEASE) == 0
    assert _refresh(defs, instance) is True
    after_pass = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_fail.cursor)
    assert after_pass.get_num_requested(RELEASE) == 1


def test_the_automation_sensor_targets_the_release_and_runs_by_default(
    project_env: QATechEmulator,  # noqa: F811
) -> None:
    defs = _project_defs()
    sensor = defs.get_repository_def().get_sensor_def("qatech_release_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.asset_selection is not None
    assert sensor.asset_selection.resolve(defs.resolve_asset_graph()) == {RELEASE}


pytestmark = pytest.mark.dagster
