"""A user's tests of their post-ETL DAG: publish only when the dashboard passes QA.tech's end-to-end tests.

Copy this file beside your DAG tests and point DAGS at your dags folder. It needs nothing but
``pip install "qatech-orchestration[airflow]" pytest``: the fixtures (qatech_emulator, qatech_run_dag) come
with the package, QA.tech is emulated on loopback, and no account or network is used.
"""

from pathlib import Path

import pytest

pytest.importorskip("airflow")

from airflow_provider.testing import load_dags, task_states

DAGS = Path(__file__).resolve().parents[2] / "example_dags"  # your dags folder


@pytest.fixture
def post_etl():
    return load_dags(DAGS)["qatech_post_etl"]


def test_the_app_passes_and_is_published(post_etl, qatech_emulator, qatech_run_dag):
    dagrun = qatech_run_dag(post_etl)
    states = task_states(dagrun)
    assert states["publish"] == "success"
    assert states["rerun_failed_once"] == "skipped"  # nothing to deflake
    # One run, for the preview the ETL task returned.
    start = qatech_emulator.assert_started_once(test_plan_short_id="pln_dashboard-checks_7fQ2")
    assert start.body["applications"][0]["environment"]["url"] == "https://pr-482.dashboards.example.com"


@pytest.mark.qatech(outcome="FAILED", failing={"Totals": "Revenue shows 0 after the refresh"}, times=2)
def test_a_broken_app_is_not_published_and_the_error_names_the_test(
    post_etl, qatech_emulator, qatech_run_dag, capfd, caplog
):
    dagrun = qatech_run_dag(post_etl)
    states = task_states(dagrun)
    assert states["wait_for_qa"] == "failed" and states["rerun_failed_once"] == "failed"
    assert states["publish"] == "upstream_failed"  # nothing published
    qatech_emulator.assert_started(1)
    qatech_emulator.assert_rerun_once(qatech_emulator.runs[0], failed_only=True)  # deflaked once, no more
    out, err = capfd.readouterr()
    assert "Totals: Revenue shows 0 after the refresh" in out + err + caplog.text  # the task's error says why


def test_the_wait_outlives_qatech_being_down_for_a_minute(post_etl, qatech_emulator, qatech_run_dag):
    qatech_emulator.outage(60, starting="get_run")  # from the first status read on, nothing answers for 60 s
    dagrun = qatech_run_dag(post_etl)
    assert task_states(dagrun)["publish"] == "success"
    qatech_emulator.assert_started(1)  # no second run, no Airflow retry needed
