"""System test DAGs for the production-like deployment (#18): one DAG per fault, each QA.tech run held
RUNNING by the emulator (its test plan scripted ``NEVER``) until the test has made its fault and lets it pass.

Every wait has a 10-minute window, far longer than any fault here, so a wait that fails did not outlive it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider.operators.qatech import QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
WAIT = {"wait_for_completion": True, "poll_interval": 2, "timeout": 600}

# (a) a triggerer is killed while it holds deferred waits: no retries, the other triggerer must take them.
with DAG(dag_id="qatech_fault_triggerer", schedule=None, start_date=START, catchup=False, max_active_tasks=32):
    QATechStartRunOperator.partial(task_id="qa", deferrable=True, retries=0, **WAIT).expand(
        test_plan_short_id=["pln_fault_triggerer"] * 10
    )

# (b) the Celery worker is killed during synchronous waits: the retries must re-attach to the runs started.
with DAG(dag_id="qatech_fault_worker", schedule=None, start_date=START, catchup=False, max_active_tasks=32):
    QATechStartRunOperator.partial(
        task_id="qa", deferrable=False, retries=2, retry_delay=timedelta(seconds=2), **WAIT
    ).expand(test_plan_short_id=["pln_fault_worker_held"] * 2 + ["pln_fault_worker_done"] * 2)

# (c) the QA.tech API is away for about a minute: with no Airflow retries, every way of waiting must outlive it.
with DAG(
    dag_id="qatech_fault_outage",
    schedule=None,
    start_date=START,
    catchup=False,
    max_active_tasks=32,
    default_args={"retries": 0},
):
    QATechStartRunOperator.partial(task_id="deferred", deferrable=True, **WAIT).expand(
        test_plan_short_id=["pln_fault_outage"] * 3
    )
    QATechStartRunOperator.partial(task_id="sync", deferrable=False, **WAIT).expand(
        test_plan_short_id=["pln_fault_outage"] * 2
    )
    for mode in ("deferred", "poke"):
        start = QATechStartRunOperator(task_id=f"start_for_{mode}_sensor", test_plan_short_id="pln_fault_outage")
        sensor = QATechRunSensor(
            task_id=f"sensor_{mode}",
            run_short_id=f"{{{{ ti.xcom_pull(task_ids='start_for_{mode}_sensor') }}}}",
            poke_interval=2,
            timeout=600,
            mode="poke",
            deferrable=mode == "deferred",
        )
        start >> sensor

# (d) the scheduler is killed while the waits are deferred, and started again.
with DAG(dag_id="qatech_fault_scheduler", schedule=None, start_date=START, catchup=False, max_active_tasks=32):
    QATechStartRunOperator.partial(task_id="qa", deferrable=True, retries=0, **WAIT).expand(
        test_plan_short_id=["pln_fault_scheduler"] * 6
    )
