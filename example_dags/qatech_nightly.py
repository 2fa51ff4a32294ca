"""Example 1: run a QA.tech test plan every night and wait for it in the triggerer (no worker slot held).

Connection ``qatech_default``: password = QA.tech API token (host empty for https://api.qa.tech/v1).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider.operators.qatech import QATechStartRunOperator

# Seconds between status reads in the triggerer; the demo and the tests shorten it.
POLL = float(os.environ.get("QATECH_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="qatech_nightly",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["qatech", "example"],
) as dag:
    QATechStartRunOperator(
        task_id="nightly_regression",
        test_plan_short_id="pln_nightly-regression_k2P9",
        notifications=[{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}],
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL,
        timeout=2 * 3600,
        # Retries are safe: on Airflow 3.3+ a retry re-attaches to the QA.tech run its earlier try started, so
        # a lost worker or triggerer costs no second run (docs/deploying.md). After a run that failed, the
        # retry reruns only its failed test cases (retry_from_failure; without it, a whole new run).
        retries=2,
        retry_delay=timedelta(minutes=2),
        retry_from_failure=True,
    )
