"""Durable runs in Dagster: one QA.tech run per check or op, however often Dagster retries the step.

Every test counts the POSTs the emulator received: a duplicate run is a defect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from dagster_resource import QATechResource, build_qatech_asset_check, qatech_start_run_op, qatech_wait_for_run_op
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.dagster.test_asset_checks import dashboard_data, published_dashboard
from tests.reliability.fault_matrix import MISSING_STATUS_KEYS

RETRY = dg.RetryPolicy(max_retries=2)
#: A read that fails the attempt reading it (QA.tech answered, but not with a status); the next read is fine.
NOT_A_STATUS = {"body": MISSING_STATUS_KEYS, "times": 1}


@pytest.fixture
def quick(emulator: QATechEmulator, token_env: dg.EnvVar) -> QATechResource:
    """One fast read retry. A wait outlives QA.tech not answering; a status answer that is not a status (one
    ``NOT_A_STATUS`` read) fails an attempt at once, and the retry may re-attach."""
    return QATechResource(api_token=token_env, base_url=emulator.base_url, max_retries=1, backoff_factor=0.01)


def _materialize(resource: QATechResource, instance: Any = None, **kwargs: Any) -> tuple[Any, Any]:
    check = build_qatech_asset_check(
        dashboard_data, test_plan_short_id="pln_durable_1", poll_interval=0.01, timeout=10, **kwargs
    )
    result = dg.materialize(
        [dashboard_data, published_dashboard, check],
        resources={"qatech": resource},
        raise_on_error=False,
        instance=instance,
    )
    evaluations = result.get_asset_check_evaluations()
    return result, evaluations[0] if evaluations else None


@pytest.fixture
def root_at_warning() -> Iterator[None]:
    """The root logger at its default level, as in a Dagster run worker (the test harness lowers it)."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.WARNING)
    yield
    root.setLevel(previous)


@pytest.mark.usefixtures("root_at_warning")
def test_a_retried_check_reattaches_to_its_run(emulator: QATechEmulator, quick: QATechResource) -> None:
    emulator.project.polls_to_finish = 3
    emulator.inject_fault("get_run", **NOT_A_STATUS)  # fails the first attempt's wait
    instance = dg.DagsterInstance.ephemeral()
    result, evaluation = _materialize(quick, instance, retry_policy=RETRY)
    assert result.success and evaluation.passed
    assert len(emulator.requests_to("start_run")) == 1
    assert evaluation.metadata["run_short_id"].value == "r00001"
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1  # there was a retry, and it did not start a run
    # The core's INFO line says so in the event log users read (the core's logger inherits WARNING).
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    url = emulator.project.runs["r00001"].url
    assert [m for m in messages if m.startswith("Re-attaching")] == [
        f"Re-attaching to QA.tech run r00001 (RUNNING): {url}"
    ]


@pytest.mark.usefixtures("root_at_warning")
def test_a_retried_check_whose_run_passed_says_so_in_the_event_log(
    emulator: QATechEmulator, quick: QATechResource
) -> None:
    emulator.project.polls_to_finish = 1
    emulator.inject_fault("get_run", **NOT_A_STATUS)
    instance = dg.DagsterInstance.ephemeral()
    result, _ = _materialize(quick, instance, retry_policy=RETRY)
    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(m.startswith("QA.tech run r00001 already passed: no new run") for m in messages), messages


def test_a_retried_check_whose_run_passed_meanwhile_takes_that_result(
    emulator: QATechEmulator, quick: QATechResource
) -> None:
    emulator.project.polls_to_finish = 1
    emulator.inject_fault("get_run", **NOT_A_STATUS)  # the read that ends the run fails the first attempt
    result, evaluation = _materialize(quick, retry_policy=RETRY)
    assert result.success and evaluation.passed
    assert len(emulator.requests_to("start_run")) == 1
    assert len(emulator.requests_to("get_run")) == 2  # the failed read, then the retry's one read: already passed
    url = emulator.project.runs["r00001"].url
    assert evaluation.description == f"QA.tech run r00001 COMPLETED/PASSED ({url}): passed"  # the URL kept


def test_without_a_retry_policy_the_failure_names_the_recorded_run(
    emulator: QATechEmulator, quick: QATechResource
) -> None:
    emulator.inject_fault("get_run", body=MISSING_STATUS_KEYS, times=10)
    instance = dg.DagsterInstance.ephemeral()
    result, _ = _materialize(quick, instance)
    assert not result.success
    logs = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    recorded = [e for e in logs if "QA.tech run" in e.message]
    assert len(recorded) == 1  # recorded the moment the run started, before the wait failed
    assert recorded[0].message == f"QA.tech run r00001 started: {emulator.project.runs['r00001'].url}"
    assert recorded[0].step_key == "dashboard_data_qatech_e2e"


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_an_unknown_start_is_not_retried_by_a_retry_policy(
    code: int, emulator: QATechEmulator, quick: QATechResource
) -> None:
    emulator.inject_fault("start_run", status=code, message="gateway lost the answer", times=5)
    result, _ = _materialize(quick, retry_policy=RETRY)
    assert not result.success
    assert len(emulator.requests_to("start_run")) == 1  # before: 3 with RetryPolicy(max_retries=2)

    @dg.job(op_retry_policy=RETRY)
    def start_job() -> None:
        qatech_start_run_op()

    ops = start_job.execute_in_process(resources={"qatech": quick}, raise_on_error=False)
    assert not ops.success
    assert len(emulator.requests_to("start_run")) == 2  # one more, for the op: not retried either


def test_a_retried_wait_op_waits_for_the_same_run(emulator: QATechEmulator, quick: QATechResource) -> None:
    emulator.project.polls_to_finish = 3
    emulator.inject_fault("get_run", **NOT_A_STATUS)

    @dg.job(op_retry_policy=RETRY)
    def start_and_wait() -> None:
        qatech_wait_for_run_op(qatech_start_run_op())

    result = start_and_wait.execute_in_process(
        resources={"qatech": quick},
        run_config={"ops": {"qatech_wait_for_run_op": {"config": {"poll_interval": 0.01}}}},
        raise_on_error=False,
    )
    assert result.success
    assert len(emulator.requests_to("start_run")) == 1
    assert result.output_for_node("qatech_wait_for_run_op")["run_short_id"] == "r00001"
    assert [e.step_key for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"] == [
        "qatech_wait_for_run_op"
    ]


def test_reexecution_from_failure_reattaches(
    emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("QATECH_DURABLE_BASE_URL", emulator.base_url)
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    from tests.dagster.durable_defs import get_durable_job

    emulator.project.polls_to_finish = 3
    emulator.inject_fault("get_run", **NOT_A_STATUS)  # the first Dagster run's check step fails
    job = dg.reconstructable(get_durable_job)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        first = dg.execute_job(job, instance=instance, raise_on_error=False)
        assert not first.success
        options = dg.ReexecutionOptions.from_failure(first.run_id, instance)
        second = dg.execute_job(job, instance=instance, reexecution_options=options, raise_on_error=False)
        assert second.success
        evaluations = [
            e.asset_check_evaluation_data for e in second.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
        assert [e.passed for e in evaluations] == [True]
        assert "downstream_report" in {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert len(emulator.requests_to("start_run")) == 1
