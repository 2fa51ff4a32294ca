"""System test DAG: 100 QA.tech runs started at once, each waited for deferred in the real triggerer."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider.operators.qatech import QATechStartRunOperator

with DAG(
    dag_id="qatech_many_waits",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=128,
):
    QATechStartRunOperator.partial(
        task_id="qa", wait_for_completion=True, deferrable=True, poll_interval=3, timeout=900
    ).expand(test_plan_short_id=[f"pln_wait_{i:03d}" for i in range(100)])
