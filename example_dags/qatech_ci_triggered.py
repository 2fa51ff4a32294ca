"""Example 3: a DAG that CI triggers after a deploy, passing the Git context in ``dag_run.conf``.

    airflow dags trigger qatech_ci_triggered --conf '{"branch": "feature/totals", "commit_hash": "9fceb02",
        "commit_message": "Fix the totals", "repository": "acme/dashboards", "actor": "octocat",
        "preview_url": "https://pr-482.dashboards.example.com"}'

The run is started with ``trigger="GITHUB"`` so QA.tech shows the branch and commit.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[attr-defined,no-redef]
    from airflow.models.param import Param  # type: ignore[no-redef]

from airflow_provider.operators.qatech import QATechStartRunOperator

POLL = float(os.environ.get("QATECH_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="qatech_ci_triggered",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["qatech", "example"],
    params={
        "branch": Param("main", type="string"),
        "commit_hash": Param("0000000", type="string"),
        "commit_message": Param("", type="string"),
        "repository": Param("acme/dashboards", type="string"),
        "actor": Param("airflow", type="string"),
        "preview_url": Param("https://staging.dashboards.example.com", type="string"),
    },
) as dag:
    QATechStartRunOperator(
        task_id="qa_for_commit",
        trigger="GITHUB",
        branch="{{ params.branch }}",
        commit_hash="{{ params.commit_hash }}",
        commit_message="{{ params.commit_message }}",
        repository="{{ params.repository }}",
        actor="{{ params.actor }}",
        applications=[
            {
                "applicationShortId": "app_gXeBl2",
                "environment": {"url": "{{ params.preview_url }}", "name": "{{ params.branch }}"},
            }
        ],
        wait_for_completion=True,
        poll_interval=POLL,
        timeout=3600,
        # Safe to retry: a retry re-attaches to the run its earlier try started (Airflow 3.3+), and after a
        # failed run reruns only the failed test cases (retry_from_failure). See docs/deploying.md.
        retries=2,
        retry_delay=timedelta(minutes=1),
        retry_from_failure=True,
    )
