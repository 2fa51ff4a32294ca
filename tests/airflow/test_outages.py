"""QA.tech's bad minutes in Airflow: every way of waiting outlives an outage shorter than its window, with no
Airflow retries, and says so in the task log once (the fault matrix has the other faults: tests/reliability).
"""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from airflow_provider.operators.qatech import QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor
from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import CAPTURED, capture_task, dag_class, new_dag_id, python_operator, run_dag, task_states
from tests.conftest import TOKEN

#: The outage: longer than every retry one read makes (max_retries=1 on a refused connection), much shorter
#: than the wait's timeout.
OUTAGE = 3.0
WAYS = [
    ("sensor", "poke"),
    ("sensor", "deferred"),
    ("operator", "worker"),
    ("operator", "deferred"),
]


@pytest.fixture
def one_retry_per_read(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> QATechEmulator:
    from tests.airflow.conftest import connection_json

    extra = {"max_retries": 1, "backoff_factor": 0.01, "read_timeout": 1}
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(emulator.base_url, **extra))
    return emulator


@pytest.mark.parametrize("mode", ["refused", "hung"])
@pytest.mark.parametrize(("task", "how"), WAYS, ids=[f"{t}-{h}" for t, h in WAYS])
def test_a_wait_outlives_an_outage_without_airflow_retries(
    task: str,
    how: str,
    mode: str,
    one_retry_per_read: QATechEmulator,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = one_retry_per_read
    emulator.project.polls_to_finish = 4
    common: dict[str, Any] = {"task_id": "qa", "retries": 0, "deferrable": how == "deferred"}
    started = None
    with dag_class()(dag_id=new_dag_id("outage"), schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        if task == "sensor":
            started = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
            qa = QATechRunSensor(
                run_short_id=started.short_id, run_url=started.url, poke_interval=0.25, timeout=60, **common
            )
        else:
            qa = QATechStartRunOperator(wait_for_completion=True, poll_interval=0.25, timeout=60, **common)
        capture = python_operator()(task_id="capture", python_callable=capture_task(dag.dag_id, "qa"))
        qa >> capture
    # QA.tech goes away at the first status read (after the start), and comes back OUTAGE seconds later.
    emulator.inject_fault("get_run", outage=OUTAGE, outage_mode=mode)
    dagrun = run_dag(dag)
    out, err = capfd.readouterr()
    printed, logged = out + err, caplog.text  # Airflow 3 prints task logs; Airflow 2 logs them and prints them too
    output = printed + logged
    assert task_states(dagrun) == {"qa": "success", "capture": "success"}, output[-3000:]
    assert TOKEN not in output
    assert emulator.project.pending_faults("get_run") == 0  # the outage did happen
    assert len(emulator.requests_to("start_run")) == 1  # one run, one start
    (run,) = emulator.project.runs.values()
    assert CAPTURED[dag.dag_id]["run_status"] == "COMPLETED"
    # One line when QA.tech stops answering, one when it is back; none per failed read at INFO or above (in each
    # place the task log shows up).
    for line in ("QA.tech is not answering while waiting for", "QA.tech answers again"):
        counts = (printed.count(line), logged.count(line))
        assert max(counts) == 1, (line, counts, output[-3000:])
    assert f"QA.tech run {run.short_id} ({run.url})" in output
