"""The fault matrix (tests/reliability/fault_matrix.py) through an Airflow task."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.reliability.fault_matrix import (
    CLIENT_SETTINGS,
    ROWS,
    Row,
    arrange,
    check_reads,
    wait_timeout,
)

# ------------------------------------------------------------------------------------------------
# Airflow
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def airflow_env(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    pytest.importorskip("airflow")
    from tests.airflow.conftest import connection_json

    def point_at(base_url: str) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(base_url, **CLIENT_SETTINGS))

    point_at(emulator.base_url)
    return point_at


#: Every row with the wait in the worker; the rows of a wait (status reads) also deferred to the triggerer.
CASES = [(row, "worker") for row in ROWS] + [(row, "deferred") for row in ROWS if row.endpoint == "get_run"]


@pytest.mark.parametrize(("row", "mode"), CASES, ids=[f"{r.id}-{m}" for r, m in CASES])
def test_airflow(
    row: Row,
    mode: str,
    emulator: QATechEmulator,
    down_url: str,
    airflow_env: Callable[[str], None],
    request: pytest.FixtureRequest,
) -> None:
    import pendulum

    from airflow_provider.operators.qatech import QATechRerunOperator, QATechStartRunOperator
    from airflow_provider.sensors.qatech import QATechRunSensor
    from tests.airflow.conftest import (
        CAPTURED,
        capture_task,
        dag_class,
        new_dag_id,
        python_operator,
        run_dag,
        task_states,
    )

    read_output = request.getfixturevalue("task_output")
    previous = arrange(row, emulator) if row.endpoint == "rerun" else None
    if row.special == "refused":
        airflow_env(down_url)
    retries = 0 if row.endpoint == "get_run" else 1
    common: dict[str, Any] = {"task_id": "qa", "retries": retries, "retry_delay": 0, "deferrable": mode == "deferred"}
    with dag_class()(dag_id=new_dag_id("matrix"), schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        if row.endpoint == "rerun":
            task = QATechRerunOperator(run_short_id=str(previous), **common)
        elif row.endpoint == "get_run" and row.special == "refused":
            task = QATechRunSensor(
                run_short_id="r00001", poke_interval=row.poll_interval, timeout=wait_timeout(row), **common
            )
        else:
            task = QATechStartRunOperator(
                test_plan_short_id="pln_matrix_1", wait_for_completion=row.endpoint == "get_run",
                poll_interval=row.poll_interval, timeout=wait_timeout(row), **common,
            )  # fmt: skip
        capture = python_operator()(
            task_id="capture", python_callable=capture_task(dag.dag_id, "qa"), trigger_rule="all_done"
        )
        task >> capture
    if row.endpoint != "rerun" and row.special != "refused":
        arrange(row, emulator)  # faults on status reads leave the start alone
    dagrun = run_dag(dag)
    output = read_output()
    state = task_states(dagrun)["qa"]
    xcom = CAPTURED.get(dag.dag_id, {})
    assert TOKEN not in output and TOKEN not in json.dumps(xcom, default=str)

    expected_state = "success" if row.airflow == "success" else "failed"
    assert state == expected_state, output[-3000:]
    posts = (
        len(emulator.requests_to(row.endpoint)) if row.endpoint != "get_run" else len(emulator.requests_to("start_run"))
    )
    attempts = 1 if row.airflow != "fails (retries apply)" else retries + 1
    if row.special == "refused":
        assert posts == 0
    else:
        assert posts == attempts, f"{posts} POSTs for {attempts} task attempt(s)"
    if row.endpoint == "get_run" and row.special != "refused":
        (run,) = emulator.project.runs.values()
        # the short ID and URL were pushed before the wait that failed
        assert xcom["run_short_id"] == run.short_id and xcom["run_url"] == run.url
        if expected_state == "failed":
            check_reads(row, output, run.url)
    elif expected_state == "failed":
        check_reads(row, output, None)
