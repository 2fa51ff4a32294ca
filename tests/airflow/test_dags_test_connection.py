"""``airflow dags test`` of a deferred wait, with the connection saved by ``airflow connections add``.

Airflow 3.3 runs the deferred wait in-process, and its async connection lookup there reads only the
environment (the in-process supervisor has no async channel to the metadata DB): the start finds the saved
connection, the wait does not. That is Airflow's, not the provider's; this test shows it, and that the task
fails with a message naming the form that works (``AIRFLOW_CONN_...``), which the README gives next to the
connection instructions. Airflow 2.11 reads the DB in the same process, and the wait finds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import AIRFLOW_3
from tests.conftest import TOKEN

_DAG = """
import pendulum
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG
from airflow_provider.operators.qatech import QATechStartRunOperator

with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    QATechStartRunOperator(task_id="qa", qatech_conn_id="{conn_id}", wait_for_completion=True, deferrable=True,
                           poll_interval=0.05)
"""


def _airflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(airflow), *args], capture_output=True, text=True, env=env, timeout=600)


def _dags_test(tmp_path: Path, conn_id: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    dag_id = f"qatech_dags_test_{conn_id}"
    (tmp_path / f"{dag_id}.py").write_text(_DAG.format(dag_id=dag_id, conn_id=conn_id))
    args = ["dags", "test", dag_id] + ([] if AIRFLOW_3 else ["2026-01-02"])
    return _airflow(*args, env={**env, "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)})


def test_a_connection_from_the_metadata_db(emulator: QATechEmulator, tmp_path: Path) -> None:
    conn_id = f"qatech_db_{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    added = _airflow("connections", "add", conn_id, "--conn-type", "qatech", "--conn-password", TOKEN,
                     "--conn-host", emulator.base_url, env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr[-2000:]
    try:
        result = _dags_test(tmp_path, conn_id, env)
    finally:
        _airflow("connections", "delete", conn_id, env=env)
    output = (result.stdout + result.stderr).replace(TOKEN, "***")
    assert len(emulator.requests_to("start_run")) == 1  # the start found the saved connection
    if AIRFLOW_3:
        assert result.returncode != 0, "Airflow now finds it: drop the README's note on `airflow dags test`"
        assert f"the triggerer found no connection {conn_id!r}" in output, output[-3000:]
        assert f"AIRFLOW_CONN_{conn_id.upper()}=" in output  # the form that works, named
    else:
        assert result.returncode == 0, output[-3000:]
        assert len(emulator.requests_to("get_run")) >= 2  # the wait read the run


def test_the_same_connection_from_the_environment(emulator: QATechEmulator, tmp_path: Path) -> None:
    conn_id = f"qatech_env_{uuid.uuid4().hex[:8]}"
    connection = {"conn_type": "qatech", "password": TOKEN, "host": emulator.base_url}
    result = _dags_test(tmp_path, conn_id, {**os.environ, f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(connection)})
    assert result.returncode == 0, (result.stdout + result.stderr).replace(TOKEN, "***")[-3000:]
    assert len(emulator.requests_to("start_run")) == 1 and len(emulator.requests_to("get_run")) >= 2
