"""The plugin's Dagster fixture as a user meets it: their asset check, materialized against the emulator."""

from __future__ import annotations

import pytest

pytest.importorskip("dagster", reason="the dagster extra is not installed")
pytestmark = pytest.mark.timeout(600)

USER_TEST = """
import dagster as dg
import pytest

from dagster_resource import build_qatech_asset_check


@dg.asset
def dashboard_data():
    return 1


@dg.asset(deps=[dashboard_data])
def published_dashboard():
    return 2


dashboard_e2e = build_qatech_asset_check(dashboard_data, test_plan_short_id="pln_dash_1", poll_interval=30)


def _materialize(resource):
    result = dg.materialize([dashboard_data, published_dashboard, dashboard_e2e], resources={"qatech": resource},
                            raise_on_error=False)
    return result, {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def test_a_passing_check_lets_downstream_materialize(qatech_emulator, qatech_dagster_resource):
    result, materialized = _materialize(qatech_dagster_resource)
    assert result.success and materialized == {"dashboard_data", "published_dashboard"}
    qatech_emulator.assert_started_once(test_plan_short_id="pln_dash_1")


@pytest.mark.qatech(outcome="FAILED", failing={"Totals": "Revenue shows 0"})
def test_a_failing_check_blocks_downstream(qatech_emulator, qatech_dagster_resource):
    result, materialized = _materialize(qatech_dagster_resource)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "Totals: Revenue shows 0" in evaluation.description
    assert materialized == {"dashboard_data"}


def test_the_wait_survives_qatech_going_away(qatech_emulator, qatech_dagster_resource):
    qatech_emulator.outage(2, starting="get_run")
    result, materialized = _materialize(qatech_dagster_resource)
    assert result.success and "published_dashboard" in materialized
    qatech_emulator.assert_started(1)
"""


def test_a_users_dagster_test_runs_on_the_fixtures_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::UserWarning")
    result.assert_outcomes(passed=3)
