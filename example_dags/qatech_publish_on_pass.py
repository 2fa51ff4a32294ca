"""Example 4: another team's DAG that runs when the dashboard passed QA, and only then.

It is scheduled on the asset ``qatech_post_etl`` updates when its QA passes (``qatech://<project>/<test
plan>``): no sensor polling another DAG, no shared schedule. A failed QA run updates nothing, so this DAG
does not run. It reads which QA.tech run passed from the triggering asset event's ``extra``.
"""

from __future__ import annotations

from typing import Any

import pendulum

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Asset

    TRIGGERING_EVENTS = "triggering_asset_events"
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[attr-defined,no-redef]
    from airflow.datasets import Dataset as Asset  # type: ignore[assignment,no-redef]
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]

    TRIGGERING_EVENTS = "triggering_dataset_events"

#: The same URI as in qatech_post_etl.py: the QA verdict on the dashboard checks test plan.
DASHBOARD_QA = Asset("qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2")


def verified_run(context: Any) -> dict[str, Any]:
    """The QA.tech run that passed, from the newest event of ``DASHBOARD_QA`` that triggered this DAG run."""
    events = context[TRIGGERING_EVENTS]
    found = list(events[DASHBOARD_QA] if TRIGGERING_EVENTS == "triggering_asset_events" else events[DASHBOARD_QA.uri])
    if not found:
        raise ValueError(
            f"No {DASHBOARD_QA.uri} event triggered this run: the DAG publishes only after a QA pass "
            "(it runs when qatech_post_etl's QA task passes; a manual run has nothing to publish)"
        )
    extra = dict(found[-1].extra)
    if not extra.get("ok") or extra.get("result") != "PASSED":  # e.g. a run whose test cases were all skipped
        raise ValueError(f"QA.tech run {extra.get('run_short_id')} did not pass ({extra.get('result')}): no publishing")
    return extra


def publish_verified_release(**context: Any) -> str:
    """Stands in for the release step: here it says which QA.tech run verified what it publishes."""
    run = verified_run(context)
    print(
        f"Publishing the dashboard verified by QA.tech run {run['run_short_id']} "
        f"({run['test_cases_passed']} of {run['test_cases_total']} test cases passed): {run['run_url']}"
    )
    return str(run["run_short_id"])


with DAG(
    dag_id="qatech_publish_on_pass",
    schedule=[DASHBOARD_QA],  # runs after each QA pass (several passes before it runs: one run, all events)
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["qatech", "example"],
) as dag:
    PythonOperator(task_id="publish_verified_release", python_callable=publish_verified_release)
