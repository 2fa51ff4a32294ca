"""Every example DAG imports cleanly and runs end to end against the emulator."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import AIRFLOW_3, AIRFLOW_VERSION_INFO, dagbag_class, run_dag, task_states
from tests.conftest import TOKEN
from tests.mixed_run import ERRORED, FAILURES, MIXED, SKIPPED
from tests.subprocesses import run

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def _qa_message(output: str) -> list[str]:
    """The lines of the message ``report_qa_results`` sent (printed into its task log)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "Message to #dashboards-qa:" in line) + 1
    message = []
    for line in lines[start:]:
        text = line.split("] ", 1)[-1] if line.startswith("[") else line  # Airflow 2 prefixes log lines
        if not (text.startswith(("PASSED: ", "FAILED: ", "  - "))):
            break
        message.append(text)
    return message


@pytest.fixture
def example_dags(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("QATECH_EXAMPLE_POLL_INTERVAL", "0.05")
    DagBag = dagbag_class()
    bag = DagBag(dag_folder=str(EXAMPLES)) if AIRFLOW_3 else DagBag(dag_folder=str(EXAMPLES), include_examples=False)
    assert bag.import_errors == {}
    return dict(bag.dags)


def test_examples_import_without_errors(example_dags: dict[str, Any]) -> None:
    airflow_dags = {"qatech_nightly", "qatech_post_etl", "qatech_ci_triggered"}
    assert airflow_dags <= set(example_dags)


def test_examples_retry_where_a_retry_re_attaches(example_dags: dict[str, Any]) -> None:
    """Retries where a retry re-attaches to the QA.tech run (or reruns only its failed test cases); none where
    the failure is a verdict that the DAG's own rerun step answers."""
    nightly = example_dags["qatech_nightly"].task_dict["nightly_regression"]
    ci = example_dags["qatech_ci_triggered"].task_dict["qa_for_commit"]
    for task in (nightly, ci):
        assert task.retries == 2 and task.retry_delay.total_seconds() >= 60 and task.retry_from_failure, task
    post_etl = example_dags["qatech_post_etl"].task_dict
    retries = {task_id: task.retries for task_id, task in post_etl.items()}
    assert retries == {
        "refresh_dashboard_data": 2, "start_qa": 2, "wait_for_qa": 0, "rerun_failed_once": 0, "publish": 2,
        "report_qa_results": 2,  # a message: sending it again is harmless
    }  # fmt: skip


def test_nightly_defers_and_passes(example_dags: dict[str, Any], emulator: QATechEmulator) -> None:
    dag = example_dags["qatech_nightly"]
    dag.task_dict["nightly_regression"].poll_interval = 0.05
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"nightly_regression": "success"}
    assert emulator.requests_to("start_run")[0].body["notifications"][0]["notifyOn"] == "failure"


def test_post_etl_passes_and_publishes(
    example_dags: dict[str, Any], emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    dagrun = run_dag(example_dags["qatech_post_etl"])
    states = task_states(dagrun)
    assert states["publish"] == "success" and states["wait_for_qa"] == "success"
    assert states["rerun_failed_once"] == "skipped" and states["report_qa_results"] == "success"
    (run,) = emulator.project.runs.values()
    message = _qa_message(task_output())
    assert message == [f"PASSED: QA.tech run {run.short_id} (wait_for_qa) COMPLETED/PASSED, 3 of 3 test cases passed: "
                       f"{run.url}"]  # fmt: skip
    body = emulator.requests_to("start_run")[0].body
    assert body["applications"][0]["environment"]["url"] == "https://pr-482.dashboards.example.com"
    assert body["applications"][0]["environment"]["name"].startswith("ETL manual__20")


def test_post_etl_reruns_a_flaky_failure_once(
    example_dags: dict[str, Any], emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome("FAILED", failing={"Export report as CSV": "Timed out waiting for download"})
    dagrun = run_dag(example_dags["qatech_post_etl"])
    states = task_states(dagrun)
    assert states["wait_for_qa"] == "failed"
    assert states["rerun_failed_once"] == "success" and states["publish"] == "success"
    assert states["report_qa_results"] == "success"
    assert len(emulator.requests_to("rerun")) == 1
    first, rerun = emulator.project.runs.values()
    assert _qa_message(task_output()) == [
        f"FAILED: QA.tech run {first.short_id} (wait_for_qa) COMPLETED/FAILED, 2 of 3 test cases passed: {first.url}",
        "  - Export report as CSV: Timed out waiting for download",
        f"PASSED: QA.tech run {rerun.short_id} (rerun_failed_once) COMPLETED/PASSED, 1 of 1 test cases passed: "
        f"{rerun.url}",
    ]


def test_post_etl_does_not_publish_a_broken_app_and_says_why(
    example_dags: dict[str, Any], emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    """Issue 22's acceptance run: the message a downstream all_done task templates names both failures."""
    emulator.script_outcome(MIXED, times=2)
    dagrun = run_dag(example_dags["qatech_post_etl"])
    states = task_states(dagrun)
    assert states["rerun_failed_once"] == "failed" and states["publish"] == "upstream_failed"
    assert states["report_qa_results"] == "success"
    first, rerun = emulator.project.runs.values()
    message = _qa_message(task_output())
    assert message[0] == (
        f"FAILED: QA.tech run {first.short_id} (wait_for_qa) COMPLETED/FAILED, 3 of 7 test cases passed: {first.url}"
    )
    assert message[1:5] == [f"  - {name}: {title}" for name, title in [*FAILURES.items(), *ERRORED.items(),
                                                                        *SKIPPED.items()]]  # fmt: skip
    assert message[5].startswith(f"FAILED: QA.tech run {rerun.short_id} (rerun_failed_once)")
    assert TOKEN not in "\n".join(message)


def test_ci_triggered_sends_git_context(example_dags: dict[str, Any], emulator: QATechEmulator) -> None:
    conf = {"branch": "feature/totals", "commit_hash": "9fceb02", "commit_message": "Fix the totals",
            "repository": "acme/dashboards", "actor": "octocat", "preview_url": "https://pr-9.example.app"}  # fmt: skip
    dagrun = run_dag(example_dags["qatech_ci_triggered"], run_conf=conf)
    assert task_states(dagrun) == {"qa_for_commit": "success"}
    body = emulator.requests_to("start_run")[0].body
    assert body == {
        "trigger": "GITHUB", "actor": "octocat", "branch": "feature/totals", "commitHash": "9fceb02",
        "commitMessage": "Fix the totals", "repository": "acme/dashboards",
        "applications": [{"applicationShortId": "app_gXeBl2",
                          "environment": {"url": "https://pr-9.example.app", "name": "feature/totals"}}],
    }  # fmt: skip


def test_airflow_dags_test_command_runs_the_post_etl_example(emulator: QATechEmulator) -> None:
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES), "QATECH_EXAMPLE_POLL_INTERVAL": "0.05"}
    airflow = Path(sys.executable).with_name("airflow")
    args = [str(airflow), "dags", "test", "qatech_post_etl"]
    if not AIRFLOW_3:
        args.append("2026-01-02")
    result = run(args, env=env, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output.replace(TOKEN, "***")[-3000:]
    (short_id,) = emulator.project.runs
    assert f"Publishing: QA.tech run {short_id} passed" in output
    leaks = [line for line in output.splitlines() if TOKEN in line]
    if AIRFLOW_VERSION_INFO[:2] == (3, 0):
        # Airflow 3.0's `dags test` prints every connection password it masks in a DEBUG line of its own
        # (fixed in 3.1; the README warns): any other line with the token is ours.
        leaks = [line for line in leaks if not ("Sending request" in line and "MaskSecret(value=" in line)]
    assert not leaks, f"{len(leaks)} line(s) of the output show the token"
