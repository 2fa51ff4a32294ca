"""The README's Airflow code, run as written: the connection commands, and the operator and sensor blocks
as one DAG run with ``dag.test()`` against the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pendulum

from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import dag_class, new_dag_id, python_operator, run_dag, task_states
from tests.readme import Shell, block, commands, shell_env

_CLIENT_OF_QATECH_DEFAULT = """
from airflow_provider.hooks.qatech import QATechHook
print(repr(QATechHook("qatech_default").client))
"""


def test_the_connection_commands() -> None:
    shell = Shell(shell_env())
    shell.env.pop("AIRFLOW_CONN_QATECH_DEFAULT", None)
    try:
        for command in commands(block("Connection", "bash")):
            result = shell.run(command)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "AIRFLOW_CONN_QATECH_DEFAULT" in shell.env  # the export
        # The variable: the hook builds its client from it (the token is the README's "<token>").
        hook = subprocess.run([sys.executable, "-c", _CLIENT_OF_QATECH_DEFAULT], capture_output=True, text=True,
                              env=shell.env, timeout=300)  # fmt: skip
        assert hook.returncode == 0, hook.stderr[-3000:]
        assert hook.stdout.strip().splitlines()[-1] == "QATechClient(base_url='https://api.qa.tech/v1')"
        # The saved one: in the metadata DB, of type qatech (tasks read it through Airflow's supervisor).
        saved = Shell({k: v for k, v in shell.env.items() if k != "AIRFLOW_CONN_QATECH_DEFAULT"})
        got = saved.run("airflow connections get qatech_default -o json")
        assert got.returncode == 0, got.stderr[-3000:]
        (conn,) = json.loads(next(line for line in got.stdout.splitlines() if line.startswith("[{")))
        assert (conn["conn_id"], conn["conn_type"]) == ("qatech_default", "qatech")
    finally:
        shell.run("airflow connections delete qatech_default")


def test_the_operator_blocks_run_as_a_dag(emulator: QATechEmulator, task_output: Callable[[], str]) -> None:
    """The start operator, the sensor and the rerun operator blocks in one DAG, after a ``deploy`` task (the
    README's template pulls the preview URL from it): the wiring below is all the test adds."""
    emulator.project.polls_to_finish = 1  # the README polls every 30 s: the first read finishes the run
    namespace: dict[str, Any] = {}
    with dag_class()(dag_id=new_dag_id("readme"), schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                     catchup=False) as dag:  # fmt: skip
        namespace["deploy"] = python_operator()(task_id="deploy", python_callable=lambda: "https://pr-7.example.app")
        for section in ("QATechStartRunOperator", "QATechRunSensor", "QATechRerunOperator"):
            exec(compile(block(section, "python").text, f"README.md ({section})", "exec"), namespace)
        namespace["deploy"] >> namespace["start_qa"] >> namespace["wait_for_qa"] >> namespace["rerun_failed_once"]
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {
        "deploy": "success", "start_qa": "success", "wait_for_qa": "success", "rerun_failed_once": "skipped",
    }, task_output()  # fmt: skip
    (start,) = emulator.requests_to("start_run")
    assert start.body["testPlanShortId"] == "pln_dashboard-checks_7fQ2"
    (application,) = start.body["applications"]
    assert application["environment"]["url"] == "https://pr-7.example.app"
    assert application["environment"]["name"].startswith("ETL 20")  # "ETL {{ ds }}"
    assert start.body["notifications"] == [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}]
    assert emulator.requests_to("rerun") == []  # the deflaking rerun only runs when the wait failed


def test_the_run_summary_block_templates_the_message(emulator: QATechEmulator) -> None:
    """The ``run_summary`` block after the README's sensor block, for a run that fails one test case: the test
    starts the run (``start_qa``, not waiting), defines ``send`` (the reader's Slack call) and ``PythonOperator``,
    and wires the tasks."""
    from airflow_provider.operators.qatech import QATechStartRunOperator

    emulator.project.polls_to_finish = 1
    emulator.script_outcome("FAILED", failing={"Checkout": "Pay button missing"})
    sent: list[str] = []
    namespace: dict[str, Any] = {"PythonOperator": python_operator(), "send": lambda message: sent.append(message)}
    with dag_class()(dag_id=new_dag_id("readme"), schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                     catchup=False) as dag:  # fmt: skip
        start_qa = QATechStartRunOperator(task_id="start_qa", test_plan_short_id="pln_dashboard-checks_7fQ2")
        for section in ("QATechRunSensor", "Airflow: task log and `run_summary` XCom"):
            exec(compile(block(section, "python").text, f"README.md ({section})", "exec"), namespace)
        start_qa >> namespace["wait_for_qa"] >> namespace["notify"]
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"start_qa": "success", "wait_for_qa": "failed", "notify": "success"}
    (run,) = emulator.project.runs.values()
    (message,) = sent
    assert message.strip().splitlines() == [
        f"QA.tech run {run.short_id} COMPLETED/FAILED: 3 of 4 passed {run.url}",
        "  - Checkout: Pay button missing",
    ]
