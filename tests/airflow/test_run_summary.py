"""Airflow tasks end with a summary in the task log and a bounded ``run_summary`` XCom, pushed before a failed
run fails the task (real ``dag.test()`` against the emulator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pendulum
import pytest

from airflow_provider.operators.qatech import QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor
from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import Outcome, QATechEmulator
from tests.airflow.conftest import CAPTURED, capture_task, dag_class, new_dag_id, python_operator, run_dag, task_states
from tests.conftest import TOKEN
from tests.mixed_run import COUNTS, ERRORED, FAILURES, MIXED, SKIPPED

START = pendulum.datetime(2026, 1, 1, tz="UTC")
KEYS = ("run_summary", "run_status", "run_result", "run_short_id")


def _run(task: Callable[[], Any], task_id: str, conf: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    with dag_class()(dag_id=new_dag_id("summary"), schedule=None, start_date=START, catchup=False) as dag:
        upstream = task()
        capture = python_operator()(
            task_id="capture", python_callable=capture_task(dag.dag_id, task_id, KEYS), trigger_rule="all_done"
        )
        upstream >> capture
    dagrun = run_dag(dag, run_conf=conf)
    states = task_states(dagrun)
    assert states["capture"] == "success", states
    xcom = CAPTURED[dag.dag_id]
    assert TOKEN not in repr(xcom)
    return states[task_id], xcom


def _check_mixed(summary: dict[str, Any], output: str, url: str) -> None:
    """What the task log and the XCom of the mixed run must say."""
    assert {f"test_cases_{kind}": count for kind, count in COUNTS.items()}.items() <= summary.items()
    assert summary["status"] == "COMPLETED" and summary["result"] == "FAILED" and summary["ok"] is False
    assert summary["run_url"] == url
    listed = {case["name"]: case for case in summary["failing_test_cases"]}
    assert list(listed) == [*FAILURES, *ERRORED, *SKIPPED] and summary["failing_test_cases_omitted"] == 0
    for name, title in FAILURES.items():
        assert listed[name]["result"] == "FAILED" and listed[name]["result_title"] == title
        assert f"FAILED       {name}: {title}" in output  # one log line per test case that did not pass
    assert f"7 test case(s): 3 passed, 2 failed, 1 skipped, 1 errored. {url}" in output
    assert f"ERROR        {next(iter(ERRORED))}: " in output and f"SKIPPED      {next(iter(SKIPPED))}: " in output
    assert TOKEN not in output


@pytest.mark.parametrize("deferrable", [False, True])
def test_operator_logs_the_summary_and_pushes_it_before_failing(
    deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome(MIXED)
    state, xcom = _run(
        lambda: QATechStartRunOperator(
            task_id="qa", test_plan_short_id="pln_checkout_1", wait_for_completion=True, poll_interval=0.05,
            deferrable=deferrable,
        ),
        "qa",
    )  # fmt: skip
    (run,) = emulator.project.runs.values()
    assert state == "failed" and xcom["run_result"] == "FAILED"
    _check_mixed(xcom["run_summary"], task_output(), run.url)
    # the sync path knows the plan from the start's answer; a deferred task resumes without it
    assert xcom["run_summary"]["test_plan"] == ("Test plan pln_checkout_1" if not deferrable else None)
    assert len(emulator.requests_to("start_run")) == 1


@pytest.mark.parametrize("deferrable", [False, True])
def test_sensor_logs_the_summary_and_pushes_it_before_failing(
    deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome(MIXED)
    emulator.project.polls_to_finish = 3  # the deferred sensor hands over to the trigger
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    state, xcom = _run(
        lambda: QATechRunSensor(task_id="sense", run_short_id=run.short_id, run_url="{{ dag_run.conf['url'] }}",
                                poke_interval=0.05, deferrable=deferrable),
        "sense",
        conf={"url": run.url},
    )  # fmt: skip
    assert state == "failed"
    _check_mixed(xcom["run_summary"], task_output(), run.url)
    # the trigger's event lists only the 4 that did not pass; its counts are enough: no second read
    assert len(emulator.requests_to("get_run")) == 3


def test_many_failures_are_bounded_in_the_xcom_and_counted_right(
    emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    """More than the event carries (20): the task reads the run once more; the XCom lists 20 and says so."""
    failing = {f"Report {i:02d}": f"Column {i} is empty " + "x" * 500 for i in range(30)}
    emulator.script_outcome(Outcome(result="FAILED", failing=failing))
    emulator.project.polls_to_finish = 3
    state, xcom = _run(
        lambda: QATechStartRunOperator(task_id="qa", wait_for_completion=True, poll_interval=0.05, deferrable=True),
        "qa",
    )
    summary = xcom["run_summary"]
    assert state == "failed"
    assert summary["test_cases_total"] == 33 and summary["test_cases_failed"] == 30
    assert len(summary["failing_test_cases"]) == 20 and summary["failing_test_cases_omitted"] == 10
    assert all(len(case["result_title"]) <= 300 for case in summary["failing_test_cases"])
    assert len(repr(summary)) < 12_000  # small enough for the metadata database
    assert len(emulator.requests_to("get_run")) == 4  # before deferring, the trigger's 2, the full read
    output = task_output()
    assert "Report 29: Column 29 is empty" in output  # the log lists all 30 (its bound is 50)


def test_a_passed_run_pushes_its_summary_too(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    state, xcom = _run(
        lambda: QATechStartRunOperator(task_id="qa", wait_for_completion=True, poll_interval=0.05, deferrable=False),
        "qa",
    )
    summary = xcom["run_summary"]
    assert state == "success" and summary["ok"] is True and summary["failing_test_cases"] == []
    assert summary["test_cases_passed"] == summary["test_cases_total"] == 3
    assert "3 test case(s): 3 passed." in task_output()


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_wait_that_times_out_pushes_a_summary_that_says_so(
    deferrable: bool, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    """A downstream all_done task can report a run that never came to a verdict: timed_out, the URL, why."""
    emulator.script_outcome("NEVER")
    state, xcom = _run(
        lambda: QATechStartRunOperator(task_id="qa", wait_for_completion=True, poll_interval=0.05, timeout=1,
                                       deferrable=deferrable),
        "qa",
    )  # fmt: skip
    (run,) = emulator.project.runs.values()
    summary = xcom["run_summary"]
    assert state == "failed" and summary["ok"] is False and summary["timed_out"] is True
    assert summary["run_short_id"] == run.short_id and summary["run_url"] == run.url
    assert "did not finish" in summary["message"] and "goes on in QA.tech" in summary["message"]
    # The last status read (by the worker, or by the trigger, whose event carries it) gives the test cases.
    assert summary["status"] == "RUNNING" and summary["test_cases_total"] == 3
    assert f"QA.tech run {run.short_id} RUNNING: 3 test case(s)" in task_output()
    assert len(emulator.requests_to("start_run")) == 1


def test_a_poking_sensor_that_times_out_pushes_a_summary_with_the_last_status(emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER")
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    state, xcom = _run(
        lambda: QATechRunSensor(task_id="sense", run_short_id=run.short_id, poke_interval=0.05, timeout=1,
                                mode="poke", deferrable=False),
        "sense",
    )  # fmt: skip
    summary = xcom["run_summary"]
    assert state == "failed" and summary["timed_out"] is True and summary["ok"] is False
    assert summary["status"] == "RUNNING" and summary["run_short_id"] == run.short_id
    assert "did not finish within 1 s (last status RUNNING)" in summary["message"]
    assert len(emulator.requests_to("start_run")) == 1  # the test's own start: a sensor starts nothing


def test_a_deferred_sensor_that_times_out_pushes_a_summary_with_the_last_status(emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER")
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    state, xcom = _run(
        lambda: QATechRunSensor(task_id="sense", run_short_id=run.short_id, poke_interval=0.05, timeout=1,
                                deferrable=True),
        "sense",
    )  # fmt: skip
    summary = xcom["run_summary"]
    assert state == "failed" and summary["timed_out"] is True and summary["ok"] is False
    assert summary["status"] == "RUNNING" and summary["test_cases_total"] == 3
    assert "goes on in QA.tech" in summary["message"]
    assert len(emulator.requests_to("start_run")) == 1  # the test's own start: a sensor starts nothing


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_wait_ended_by_an_error_pushes_a_summary_with_the_error(deferrable: bool, emulator: QATechEmulator) -> None:
    emulator.project.polls_to_finish = 5
    emulator.inject_fault("get_run", status=403, message="API key revoked", times=10)
    state, xcom = _run(
        lambda: QATechStartRunOperator(task_id="qa", wait_for_completion=True, poll_interval=0.05,
                                       deferrable=deferrable),
        "qa",
    )  # fmt: skip
    summary = xcom["run_summary"]
    assert state == "failed" and summary["ok"] is False and summary["timed_out"] is False
    assert "API key revoked" in summary["message"] and summary["run_url"]
    assert TOKEN not in repr(summary)
    assert len(emulator.requests_to("start_run")) == 1
