"""The plugin's Airflow fixtures as a user meets them: a test file of theirs, in a fresh process with no
Airflow set up at all (no AIRFLOW_HOME, no ~/airflow), that only names the fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("airflow", reason="the airflow extra is not installed")
pytestmark = pytest.mark.timeout(600)

USER_TEST = """
import pendulum
import pytest

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.operators.python import PythonOperator

from airflow_provider.operators.qatech import QATechStartRunOperator
from airflow_provider.testing import task_states

PUBLISHED = []


def build_dag():
    with DAG("post_etl", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        qa = QATechStartRunOperator(
            task_id="qa", test_plan_short_id="pln_dash_1", wait_for_completion=True, deferrable=True,
            poll_interval=30,
            applications=[{"applicationShortId": "app_1", "environment": {"url": "https://pr-7.example.app"}}],
        )
        qa >> PythonOperator(task_id="publish", python_callable=lambda: PUBLISHED.append(1))
    return dag


def test_publish_runs_when_qa_passes(qatech_emulator, qatech_run_dag):
    dagrun = qatech_run_dag(build_dag())
    assert task_states(dagrun) == {"qa": "success", "publish": "success"}
    qatech_emulator.assert_started_once(
        test_plan_short_id="pln_dash_1",
        applications=[{"applicationShortId": "app_1", "environment": {"url": "https://pr-7.example.app"}}],
    )
    assert len(qatech_emulator.reads) >= 2  # it deferred, and the trigger read the run


@pytest.mark.qatech(outcome="FAILED", failing={"Totals": "Revenue shows 0"})
def test_publish_is_skipped_when_qa_fails(qatech_emulator, qatech_run_dag, capfd, caplog):
    dagrun = qatech_run_dag(build_dag())
    assert task_states(dagrun) == {"qa": "failed", "publish": "upstream_failed"}
    out, err = capfd.readouterr()
    assert "Totals: Revenue shows 0" in out + err + caplog.text
    qatech_emulator.assert_started(1)


def test_another_connection_id(qatech_emulator, qatech_airflow_connection):
    from airflow_provider.hooks.qatech import QATechHook

    qatech_airflow_connection("qatech_staging", project_short_id="proj_emulator")
    ok, message = QATechHook("qatech_staging").test_connection()
    assert ok, message
"""


def test_a_users_airflow_test_runs_with_no_airflow_set_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("AIRFLOW") or name.startswith("QATECH"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/airflow: the plugin makes a throwaway home
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert not (tmp_path / "home" / "airflow").exists()  # nothing written where the user keeps Airflow
