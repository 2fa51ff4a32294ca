"""Example 2: verify a data app after the ETL that refreshed it, and publish only if the app is right.

refresh_dashboard_data -> start_qa (templated preview URL) -> wait_for_qa (sensor)
    wait_for_qa fails -> rerun_failed_once (deflaking) ; publish runs if either passed.
    report_qa_results runs whatever happened (trigger_rule="all_done"): it templates the ``run_summary``
    XCom that the sensor and the rerun push (also when they fail) into a message for the team.

The verdict is also a signal for other DAGs: wait_for_qa and rerun_failed_once update the asset
``DASHBOARD_QA`` (``qatech://<project>/<test plan>``) when they pass, with the QA.tech run in the event's
``extra``; ``qatech_publish_on_pass`` (another team's DAG) is scheduled on it. A failure updates nothing.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Asset
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[attr-defined,no-redef]
    from airflow.datasets import Dataset as Asset  # type: ignore[assignment,no-redef]
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]

from airflow_provider.operators.qatech import QATechRerunOperator, QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor

#: "The dashboard checks passed": updated by whichever QA task passes (qatech_publish_on_pass names it too).
DASHBOARD_QA = Asset("qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2")

# Seconds between status reads; the demo and the tests shorten it (their emulator finishes runs fast).
POLL = float(os.environ.get("QATECH_EXAMPLE_POLL_INTERVAL", "30"))


def refresh_dashboard_data(**_: object) -> str:
    """Stands in for the ETL job: it refreshes the app's data and returns where the app now serves it."""
    return "https://pr-482.dashboards.example.com"


def publish(ti: object, **_: object) -> str:
    """Runs only when the app passed QA: hand the verified release on (here: report what was verified)."""
    short_id = ti.xcom_pull(task_ids="start_qa")  # type: ignore[attr-defined]
    rerun_id = ti.xcom_pull(task_ids="rerun_failed_once")  # type: ignore[attr-defined]
    verified_by = rerun_id or short_id
    print(f"Publishing: QA.tech run {verified_by} passed (first run {short_id})")
    return str(verified_by)


#: The team's message: each QA.tech run's verdict, counts and link, and the test cases that did not pass.
#: ``run_summary`` is small and bounded (at most 20 test cases listed; ``failing_test_cases_omitted`` says how
#: many more), so it fits a Slack message or a ticket; a task that did not run (skipped) pushed none.
QA_REPORT = """\
{%- for task_id in ["wait_for_qa", "rerun_failed_once"] %}
{%- set s = ti.xcom_pull(task_ids=task_id, key="run_summary") %}
{%- if s %}
{{ "PASSED" if s.ok else "FAILED" }}: QA.tech run {{ s.run_short_id }} ({{ task_id }}) {{ s.status }}/{{ s.result }}, \
{{ s.test_cases_passed }} of {{ s.test_cases_total }} test cases passed: {{ s.run_url }}
{%- for case in s.failing_test_cases %}
  - {{ case.name }}: {{ case.result_title or case.result or case.status }}
{%- endfor %}
{%- if s.failing_test_cases_omitted %}
  - ... and {{ s.failing_test_cases_omitted }} more
{%- endif %}
{%- endif %}
{%- endfor %}"""


def send_qa_report(message: str, **_: object) -> str:
    """Stands in for the team's channel (a Slack webhook, a ticket): here the message goes to the task log."""
    message = message.strip()  # the template leaves a line break where each run's part begins
    print(f"Message to #dashboards-qa:\n{message}")
    return message


with DAG(
    dag_id="qatech_post_etl",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["qatech", "example"],
    # Retries are safe: a retried start_qa re-attaches to the QA.tech run its earlier try started (Airflow
    # 3.3+) instead of starting a second one, so a lost worker costs no extra run (docs/deploying.md).
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
) as dag:
    etl = PythonOperator(task_id="refresh_dashboard_data", python_callable=refresh_dashboard_data)

    start_qa = QATechStartRunOperator(
        task_id="start_qa",
        test_plan_short_id="pln_dashboard-checks_7fQ2",
        applications=[
            {
                "applicationShortId": "app_gXeBl2",
                "environment": {
                    "url": "{{ ti.xcom_pull(task_ids='refresh_dashboard_data') }}",
                    # run_id, not ds: a manual or REST trigger on Airflow 3 has no logical date
                    "name": "ETL {{ dag_run.run_id }}",
                },
            }
        ],
    )

    wait_for_qa = QATechRunSensor(
        task_id="wait_for_qa",
        run_short_id="{{ ti.xcom_pull(task_ids='start_qa') }}",
        run_url="{{ ti.xcom_pull(task_ids='start_qa', key='run_url') }}",  # the link and failure message
        poke_interval=POLL,
        timeout=3600,
        deferrable=True,  # waits in the triggerer: no worker slot held for the hour a run may take
        # Its failure is QA.tech's verdict on this run, which a retry would only read again: the retry that
        # tests again is rerun_failed_once. (A lost triggerer hands the wait to another one: no retry needed.)
        retries=0,
        outlets=[DASHBOARD_QA],  # a pass updates it, the run in the event's extra; a failure does not
    )

    rerun_failed_once = QATechRerunOperator(
        task_id="rerun_failed_once",
        run_short_id="{{ ti.xcom_pull(task_ids='start_qa') }}",
        failed_only=True,
        wait_for_completion=True,
        poll_interval=POLL,
        deferrable=True,
        trigger_rule="all_failed",
        retries=0,  # "once": a retry after its verdict would rerun the failed test cases again
        outlets=[DASHBOARD_QA],  # the rerun's pass is a pass too
    )

    publish_task = PythonOperator(task_id="publish", python_callable=publish, trigger_rule="one_success")

    report_qa_results = PythonOperator(
        task_id="report_qa_results",
        python_callable=send_qa_report,
        op_kwargs={"message": QA_REPORT},  # op_kwargs are templated
        trigger_rule="all_done",  # also, and above all, when QA failed
    )

    etl >> start_qa >> wait_for_qa >> rerun_failed_once
    [wait_for_qa, rerun_failed_once] >> publish_task
    [wait_for_qa, rerun_failed_once] >> report_qa_results
