"""Durable runs: one QA.tech run per task, however often Airflow retries it (real retries in dag.test()).

Every test counts the POSTs the emulator received: a duplicate run is a defect. On Airflow 3.3+ a retry
re-attaches through the task state store; on older Airflow the documented fallback (a new run) is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pendulum
import pytest

from airflow_provider.operators.qatech import QATechRerunOperator, QATechStartRunOperator
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
from tests.deadlines import scaled
from tests.reliability.fault_matrix import MISSING_STATUS_KEYS

START = pendulum.datetime(2026, 1, 1, tz="UTC")
#: A read that fails the try reading it (QA.tech answered, but not with a status); the next read is fine.
NOT_A_STATUS = {"body": MISSING_STATUS_KEYS, "times": 1}


def _has_task_state_store() -> bool:
    try:
        from airflow.sdk.execution_time.context import TaskStateStoreAccessor  # noqa: F401
    except ImportError:
        return False
    return True


DURABLE = _has_task_state_store()
needs_store = pytest.mark.skipif(not DURABLE, reason="the task state store arrived in Airflow 3.3")
without_store = pytest.mark.skipif(DURABLE, reason="shows the fallback of Airflow without a task state store")


@pytest.fixture
def fast_connection(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> QATechEmulator:
    """One quick read retry. A wait outlives QA.tech not answering; a status answer that is not a status
    (one ``NOT_A_STATUS`` read) fails a try at once, and the retry may re-attach."""
    extra = {"max_retries": 1, "backoff_factor": 0.01}
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(emulator.base_url, **extra))
    return emulator


def _run(operator: Callable[[], Any], task_output: Callable[[], str]) -> tuple[str, dict[str, Any], str]:
    with dag_class()(dag_id=new_dag_id("durable"), schedule=None, start_date=START, catchup=False) as dag:
        task = operator()
        capture = python_operator()(
            task_id="capture", python_callable=capture_task(dag.dag_id, task.task_id), trigger_rule="all_done"
        )
        task >> capture
    dagrun = run_dag(dag)
    output = task_output()
    assert TOKEN not in output
    return task_states(dagrun)[task.task_id], CAPTURED.get(dag.dag_id, {}), output


class FinishOnRetry:
    """An ``on_retry_callback`` that lets ``short_id`` end two reads into the retry (the re-attaching read
    sees it RUNNING, the wait's first read sees it end), with the run kept RUNNING until then. So the first
    try always times out and the retry always has its reads, however fast the machine is: counting reads in
    a sub-second window made these tests fail on a busy machine."""

    def __init__(self, emulator: QATechEmulator, short_id: str) -> None:
        self.project, self.short_id = emulator.project, short_id
        self.project.polls_to_finish = 10**6
        self.reads_at_retry: list[int] = []

    def __call__(self, context: Any) -> None:
        self.reads_at_retry.append(self.project.runs[self.short_id].polls)
        self.project.polls_to_finish = self.reads_at_retry[-1] + 2


def _start(**kwargs: Any) -> Callable[[], Any]:
    settings: dict[str, Any] = {"task_id": "qa", "wait_for_completion": True, "deferrable": False,
                                "poll_interval": 0.05, "retries": 1, "retry_delay": timedelta(seconds=0)}  # fmt: skip
    return lambda: QATechStartRunOperator(**{**settings, **kwargs})


@needs_store
def test_a_wait_that_timed_out_reattaches_instead_of_starting_again(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    finish = FinishOnRetry(fast_connection, "r00001")
    state, xcom, output = _run(_start(timeout=scaled(1.0), on_retry_callback=finish), task_output)
    assert len(finish.reads_at_retry) == 1 and finish.reads_at_retry[0] >= 1  # the first try read, timed out
    assert state == "success"
    assert len(fast_connection.requests_to("start_run")) == 1
    assert xcom["run_short_id"] == "r00001" and xcom["run_result"] == "PASSED"
    assert "Re-attaching to QA.tech run r00001" in output


@needs_store
def test_a_try_whose_status_read_failed_reattaches_on_retry(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    fast_connection.project.polls_to_finish = 3
    fast_connection.inject_fault("get_run", **NOT_A_STATUS)  # fails the first try's wait
    state, xcom, output = _run(_start(), task_output)
    assert state == "success"
    assert len(fast_connection.requests_to("start_run")) == 1
    assert xcom["run_short_id"] == "r00001"
    assert "Re-attaching to QA.tech run r00001" in output


@needs_store
def test_a_run_that_passed_meanwhile_succeeds_without_a_new_run(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    fast_connection.project.polls_to_finish = 1
    fast_connection.inject_fault("get_run", **NOT_A_STATUS)  # the read that ends the run fails the first try
    state, xcom, output = _run(_start(), task_output)
    assert state == "success"
    assert len(fast_connection.requests_to("start_run")) == 1
    assert (xcom["run_short_id"], xcom["run_status"], xcom["run_result"]) == ("r00001", "COMPLETED", "PASSED")
    assert "already passed: no new run" in output


@needs_store
@pytest.mark.parametrize("outcome", ["FAILED", "ERROR", "CANCELLED"])
def test_a_failed_run_is_started_afresh_on_retry(
    outcome: str, fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    fast_connection.script_outcome(outcome)  # the first run; the second passes
    state, xcom, _ = _run(_start(), task_output)
    assert state == "success"
    assert len(fast_connection.requests_to("start_run")) == 2
    assert len(fast_connection.requests_to("rerun")) == 0
    assert xcom["run_short_id"] == "r00002"


@needs_store
def test_retry_from_failure_reruns_only_the_failed_test_cases(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    fast_connection.script_outcome("FAILED")
    state, xcom, _ = _run(_start(retry_from_failure=True), task_output)
    assert state == "success"
    assert len(fast_connection.requests_to("start_run")) == 1
    (rerun,) = fast_connection.requests_to("rerun")
    assert rerun.path == "/v1/run/r00001" and rerun.body == {"failedOnly": True}
    assert xcom["run_short_id"] == "r00002"  # the rerun became the task's run


@needs_store
def test_a_deferred_wait_that_timed_out_reattaches(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    finish = FinishOnRetry(fast_connection, "r00001")
    state, xcom, _ = _run(_start(deferrable=True, timeout=scaled(1.0), on_retry_callback=finish), task_output)
    assert len(finish.reads_at_retry) == 1 and finish.reads_at_retry[0] >= 2  # read, deferred, timed out
    assert state == "success"
    assert len(fast_connection.requests_to("start_run")) == 1
    assert xcom["run_short_id"] == "r00001" and xcom["run_result"] == "PASSED"


@needs_store
def test_a_retried_rerun_operator_never_reruns_twice(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    from qatech_orchestration import QATechClient

    client = QATechClient(TOKEN, base_url=fast_connection.base_url)
    fast_connection.script_outcome("FAILED")
    first = client.start_run()
    client.wait_for_run(first.short_id, poll_interval=0.01, timeout=5)
    finish = FinishOnRetry(fast_connection, "r00002")  # the rerun's run
    rerun = lambda: QATechRerunOperator(  # noqa: E731
        task_id="qa", run_short_id=first.short_id, wait_for_completion=True, deferrable=False, poll_interval=0.05,
        timeout=scaled(1.0), retries=1, retry_delay=timedelta(seconds=0), on_retry_callback=finish,
    )  # fmt: skip
    state, xcom, _ = _run(rerun, task_output)
    assert len(finish.reads_at_retry) == 1
    assert state == "success"
    assert len(fast_connection.requests_to("rerun")) == 1
    assert xcom["run_short_id"] == "r00002"


def test_durable_false_starts_a_new_run_on_retry(
    fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    fast_connection.project.polls_to_finish = 8
    state, _, _ = _run(_start(timeout=0.2, durable=False), task_output)
    assert state == "failed"  # each try's wait times out on its own run
    assert len(fast_connection.requests_to("start_run")) == 2


@without_store
def test_without_a_task_state_store_a_retry_starts_a_new_run_and_says_why(
    fast_connection: QATechEmulator, task_output: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider import run_store

    monkeypatch.setattr(run_store, "_warned_unsupported", False)  # said once per process: earlier tests said it
    fast_connection.project.polls_to_finish = 8
    state, _, output = _run(_start(timeout=0.2), task_output)
    assert state == "failed"
    assert len(fast_connection.requests_to("start_run")) == 2  # the documented fallback
    assert "needs Airflow 3.3+" in output


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_a_start_whose_outcome_is_unknown_is_not_sent_again(
    code: int, fast_connection: QATechEmulator, task_output: Callable[[], str]
) -> None:
    fast_connection.inject_fault("start_run", status=code, message="gateway lost the answer", times=5)
    state, xcom, output = _run(_start(retries=2), task_output)
    assert state == "failed"
    assert len(fast_connection.requests_to("start_run")) == 1  # before: 3 with retries=2
    assert "a run may have started" in output
    assert xcom["run_short_id"] is None
