"""QATechStartRunOperator, QATechRerunOperator and QATechRunSensor in real Airflow DAG runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pendulum
import pytest

from airflow_provider.links.qatech import QATechRunLink
from airflow_provider.operators.qatech import QATechRerunOperator, QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor
from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import (
    CAPTURED,
    capture_task,
    connection_json,
    dag_class,
    new_dag_id,
    python_operator,
    run_dag,
    task_states,
)
from tests.conftest import TOKEN

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _dag(prefix: str, **kwargs: Any) -> Any:
    return dag_class()(dag_id=new_dag_id(prefix), schedule=None, start_date=START, catchup=False, **kwargs)


def _with_capture(dag: Any, upstream: Any, task_id: str) -> None:
    capture = python_operator()(
        task_id="capture", python_callable=capture_task(dag.dag_id, task_id), trigger_rule="all_done"
    )
    upstream >> capture


def _run_start(
    emulator: QATechEmulator, task_output: Callable[[], str], **op_kwargs: Any
) -> tuple[dict[str, str], dict[str, Any], str]:
    with _dag("start") as dag:
        start = QATechStartRunOperator(task_id="start", poll_interval=0.05, **op_kwargs)
        _with_capture(dag, start, "start")
    dagrun = run_dag(dag)
    output = task_output()
    xcom = CAPTURED.get(dag.dag_id, {})
    assert TOKEN not in output and TOKEN not in repr(xcom)
    return task_states(dagrun), xcom, output


def test_start_without_waiting_pushes_short_id_url_and_id(
    emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    states, xcom, output = _run_start(emulator, task_output, test_plan_short_id="pln_smoke")
    assert states["start"] == "success"
    (run,) = emulator.project.runs.values()
    assert xcom["return_value"] == xcom["run_short_id"] == run.short_id
    assert xcom["run_url"] == run.url and xcom["run_id"] == run.id
    assert xcom["run_status"] is None  # not waiting: no status pushed
    assert emulator.requests_to("get_run") == []
    assert run.url in output  # the URL is in the task log
    assert emulator.requests_to("start_run")[0].body == {"testPlanShortId": "pln_smoke"}


def test_start_and_wait_sync_passed(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    states, xcom, _ = _run_start(emulator, task_output, wait_for_completion=True, deferrable=False)
    assert states["start"] == "success"
    assert xcom["run_status"] == "COMPLETED" and xcom["run_result"] == "PASSED"
    assert len(emulator.requests_to("get_run")) == 2


def test_start_and_wait_deferrable_passed(task_output: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    with QATechEmulator(token=TOKEN, polls_to_finish=3) as emu:
        monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(emu.base_url))
        states, xcom, output = _run_start(emu, task_output, wait_for_completion=True, deferrable=True)
        reads = emu.requests_to("get_run")
    assert states["start"] == "success"
    assert xcom["run_result"] == "PASSED" and xcom["return_value"] == xcom["run_short_id"]
    # one read before deferring (INITIATED), then the trigger's reads until COMPLETED
    assert len(reads) == 3
    assert "QATechRunTrigger" in output or "defer" in output.lower()


@pytest.mark.parametrize("deferrable", [False, True])
@pytest.mark.parametrize("outcome", ["FAILED", "ERROR", "CANCELLED"])
def test_runs_that_do_not_pass_fail_the_task_with_url_and_failing_cases(
    outcome: str, deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome(outcome, failing={"Export report as CSV": "Export button returned HTTP 500"})
    states, xcom, output = _run_start(emulator, task_output, wait_for_completion=True, deferrable=deferrable)
    assert states["start"] == "failed"
    (run,) = emulator.project.runs.values()
    assert xcom["run_short_id"] == run.short_id and xcom["run_url"] == run.url  # kept despite the failure
    assert xcom["run_status"] == ("COMPLETED" if outcome == "FAILED" else outcome)
    assert f"{run.short_id} {xcom['run_status']}" in output and "did not pass" in output
    assert "Export report as CSV: Export button returned HTTP 500" in output
    assert run.url in output


def test_skipped_succeeds_with_warning_or_fails_on_request(
    emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome("SKIPPED")
    states, xcom, output = _run_start(emulator, task_output, wait_for_completion=True)
    assert states["start"] == "success" and xcom["run_result"] == "SKIPPED"
    assert "all test cases were skipped" in output
    emulator.script_outcome("SKIPPED")
    states, _, _ = _run_start(emulator, task_output, wait_for_completion=True, fail_on_skipped=True)
    assert states["start"] == "failed"


@pytest.mark.parametrize("deferrable", [False, True])
def test_wait_timeout_fails_and_says_the_run_goes_on(
    deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome("NEVER")
    states, xcom, output = _run_start(
        emulator, task_output, wait_for_completion=True, timeout=0.3, deferrable=deferrable
    )
    assert states["start"] == "failed"
    assert "goes on in QA.tech" in output and xcom["run_url"] in output


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Invalid test plan ID or malformed applications config"),
        (401, "Missing or invalid API key"),
        (402, "Organization has reached usage limit. Upgrade your account to continue."),
        (403, "Organization is suspended"),
        (404, "Test plan not found"),
    ],
)
def test_configuration_errors_fail_without_burning_retries(
    status: int, message: str, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.inject_fault("start_run", status=status, message=message, times=5)
    states, _, output = _run_start(emulator, task_output, retries=2, retry_delay=0)
    assert states["start"] == "failed"
    assert len(emulator.requests_to("start_run")) == 1  # AirflowFailException: no retry
    assert f"HTTP {status}" in output and message in output


def test_a_refused_start_is_retried_by_airflow(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    # 429: refused before any processing, so a retry cannot duplicate a run (a 5xx may have: test_durable.py).
    emulator.inject_fault("start_run", status=429, message="Too many requests")
    states, xcom, output = _run_start(emulator, task_output, retries=1, retry_delay=0)
    assert "HTTP 429" in output
    assert states["start"] == "success"
    assert len(emulator.requests_to("start_run")) == 2  # the client never re-sent it; Airflow's retry did
    assert xcom["return_value"] == next(iter(emulator.project.runs))


def test_validation_error_fails_before_sending(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    states, _, output = _run_start(
        emulator, task_output, applications=[{"applicationShortId": "app_a", "environmnet": {"url": "https://x.io"}}]
    )
    assert states["start"] == "failed"
    assert "unknown key 'environmnet'; did you mean 'environment'?" in output
    assert emulator.requests == []


def test_templated_applications_from_upstream_xcom(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    with _dag("templated") as dag:
        deploy = python_operator()(task_id="deploy", python_callable=lambda: "https://pr-77.preview.example.app")
        start = QATechStartRunOperator(
            task_id="start",
            test_plan_short_id="{{ dag_run.conf.get('plan', 'pln_default-plan_x1') }}",
            applications=[
                {
                    "applicationShortId": "app_gXeBl2",
                    "environment": {"url": "{{ ti.xcom_pull(task_ids='deploy') }}", "name": "PR-{{ 77 }}"},
                }
            ],
        )
        deploy >> start
    dagrun = run_dag(dag, run_conf={"plan": "pln_checkout_9Zx"})
    assert task_states(dagrun)["start"] == "success"
    assert emulator.requests_to("start_run")[0].body == {
        "testPlanShortId": "pln_checkout_9Zx",
        "applications": [
            {
                "applicationShortId": "app_gXeBl2",
                "environment": {"url": "https://pr-77.preview.example.app", "name": "PR-77"},
            }
        ],
    }
    ti = dagrun.get_task_instance("start")
    rendered = _rendered_fields(ti)
    assert rendered["applications"][0]["environment"]["url"] == "https://pr-77.preview.example.app"
    assert TOKEN not in repr(rendered)
    assert TOKEN not in task_output()


def _rendered_fields(ti: Any) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields

    fields = RenderedTaskInstanceFields.get_templated_fields(ti)
    assert fields, "no rendered template fields stored"
    return dict(fields)


@pytest.mark.parametrize("deferrable", [False, True])
def test_sensor_waits_for_a_run_started_elsewhere(
    deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    from qatech_orchestration import QATechClient

    emulator.project.polls_to_finish = 3
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    with _dag("sensor") as dag:
        sensor = QATechRunSensor(
            task_id="sense", run_short_id="{{ dag_run.conf['run'] }}", poke_interval=0.05, deferrable=deferrable
        )
        _with_capture(dag, sensor, "sense")
    dagrun = run_dag(dag, run_conf={"run": run.short_id})
    assert task_states(dagrun)["sense"] == "success"
    assert CAPTURED[dag.dag_id]["run_result"] == "PASSED"
    assert len(emulator.requests_to("get_run")) == 3
    assert TOKEN not in task_output()


@pytest.mark.parametrize("deferrable", [False, True])
def test_sensor_fails_on_failed_run(deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    from qatech_orchestration import QATechClient

    emulator.script_outcome("FAILED", failing={"Sign in": "Login form missing"})
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    with _dag("sensorfail") as dag:
        sensor = QATechRunSensor(
            task_id="sense",
            run_short_id=run.short_id,
            run_url="{{ dag_run.conf['url'] }}",
            poke_interval=0.05,
            deferrable=deferrable,
        )
        _with_capture(dag, sensor, "sense")
    dagrun = run_dag(dag, run_conf={"url": run.url})
    output = task_output()
    assert task_states(dagrun)["sense"] == "failed"
    assert "Sign in: Login form missing" in output
    assert f"{run.short_id} COMPLETED/FAILED" in output and run.url in output  # the failure names its page
    assert CAPTURED[dag.dag_id]["run_url"] == run.url  # what the "QA.tech run" link opens
    assert [type(link) for link in sensor.operator_extra_links] == [QATechRunLink]


def test_rerun_failed_once_then_publish(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    emulator.script_outcome("FAILED", failing={"Sign in": "Flaky: timeout waiting for the form"})
    with _dag("rerun") as dag:
        start = QATechStartRunOperator(task_id="start", wait_for_completion=True, poll_interval=0.05)
        rerun = QATechRerunOperator(
            task_id="rerun",
            run_short_id="{{ ti.xcom_pull(task_ids='start', key='run_short_id') }}",
            wait_for_completion=True,
            poll_interval=0.05,
            trigger_rule="all_failed",
        )
        start >> rerun
        _with_capture(dag, rerun, "rerun")
    dagrun = run_dag(dag)
    states = task_states(dagrun)
    assert states["start"] == "failed" and states["rerun"] == "success"
    first, second = emulator.project.runs
    assert CAPTURED[dag.dag_id]["return_value"] == second
    assert emulator.requests_to("rerun")[0].path == f"/v1/run/{first}"
    assert emulator.requests_to("rerun")[0].body == {"failedOnly": True}
    assert emulator.project.runs[second].rerun_of == first
    assert TOKEN not in task_output()
