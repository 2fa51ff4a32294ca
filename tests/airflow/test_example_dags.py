"""Every example DAG imports cleanly and runs end to end against the emulator.

Written as a user writes the tests of their own DAGs: only the package's pytest fixtures (``qatech_emulator``,
``qatech_run_dag``, ``qatech_airflow_connection``) and :mod:`airflow_provider.testing`; copy a test, point
``EXAMPLES`` at your dags folder. Waits against the emulator do not sleep their poll interval (the plugin cuts
each pause), so the examples' 30 s polls take no time here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.testing import load_dags, task_states
from qatech_orchestration.testing import QATechMock
from tests.airflow.conftest import AIRFLOW_3, AIRFLOW_VERSION_INFO
from tests.mixed_run import ERRORED, FAILURES, MIXED, SKIPPED
from tests.subprocesses import run

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
RunDag = Callable[..., Any]


@pytest.fixture
def example_dags() -> dict[str, Any]:
    return load_dags(EXAMPLES)  # an example that fails to import raises here, with Airflow's error


@pytest.fixture
def task_log(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """What the tasks logged so far: Airflow 3's dag.test() prints task logs, Airflow 2 logs them."""

    def read() -> str:
        out, err = capfd.readouterr()
        return out + err + caplog.text

    return read


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


def test_nightly_defers_and_passes(
    example_dags: dict[str, Any], qatech_emulator: QATechMock, qatech_run_dag: RunDag
) -> None:
    dagrun = qatech_run_dag(example_dags["qatech_nightly"])
    assert task_states(dagrun) == {"nightly_regression": "success"}
    start = qatech_emulator.assert_started_once(test_plan_short_id="pln_nightly-regression_k2P9")
    assert start.body["notifications"][0]["notifyOn"] == "failure"
    assert len(qatech_emulator.reads) >= 2  # read until it ended (the first read says INITIATED)


def test_post_etl_passes_and_publishes(
    example_dags: dict[str, Any], qatech_emulator: QATechMock, qatech_run_dag: RunDag, task_log: Callable[[], str]
) -> None:
    dagrun = qatech_run_dag(example_dags["qatech_post_etl"])
    states = task_states(dagrun)
    assert states["publish"] == "success" and states["wait_for_qa"] == "success"
    assert states["rerun_failed_once"] == "skipped" and states["report_qa_results"] == "success"
    start = qatech_emulator.assert_started_once(test_plan_short_id="pln_dashboard-checks_7fQ2")
    (run_id,) = qatech_emulator.runs
    assert _qa_message(task_log()) == [
        f"PASSED: QA.tech run {run_id} (wait_for_qa) COMPLETED/PASSED, 3 of 3 test cases passed: "
        f"{qatech_emulator.url(run_id)}"
    ]
    environment = start.body["applications"][0]["environment"]
    assert environment["url"] == "https://pr-482.dashboards.example.com"  # the preview the ETL task returned
    assert environment["name"].startswith("ETL manual__20")
    qatech_emulator.assert_no_rerun()


@pytest.mark.qatech("FAILED", failing={"Export report as CSV": "Timed out waiting for download"})
def test_post_etl_reruns_a_flaky_failure_once(
    example_dags: dict[str, Any], qatech_emulator: QATechMock, qatech_run_dag: RunDag, task_log: Callable[[], str]
) -> None:
    dagrun = qatech_run_dag(example_dags["qatech_post_etl"])
    states = task_states(dagrun)
    assert states["wait_for_qa"] == "failed"
    assert states["rerun_failed_once"] == "success" and states["publish"] == "success"
    assert states["report_qa_results"] == "success"
    first, rerun = qatech_emulator.runs
    qatech_emulator.assert_started(1)
    qatech_emulator.assert_rerun_once(first, failed_only=True)
    assert _qa_message(task_log()) == [
        f"FAILED: QA.tech run {first} (wait_for_qa) COMPLETED/FAILED, 2 of 3 test cases passed: "
        f"{qatech_emulator.url(first)}",
        "  - Export report as CSV: Timed out waiting for download",
        f"PASSED: QA.tech run {rerun} (rerun_failed_once) COMPLETED/PASSED, 1 of 1 test cases passed: "
        f"{qatech_emulator.url(rerun)}",
    ]


@pytest.mark.qatech(MIXED, times=2)  # the run and its rerun both fail
def test_post_etl_does_not_publish_a_broken_app_and_says_why(
    example_dags: dict[str, Any], qatech_emulator: QATechMock, qatech_run_dag: RunDag, task_log: Callable[[], str]
) -> None:
    """Issue 22's acceptance run: the message a downstream all_done task templates names both failures."""
    dagrun = qatech_run_dag(example_dags["qatech_post_etl"])
    states = task_states(dagrun)
    assert states["rerun_failed_once"] == "failed" and states["publish"] == "upstream_failed"
    assert states["report_qa_results"] == "success"
    first, rerun = qatech_emulator.runs
    message = _qa_message(task_log())
    assert message[0] == (
        f"FAILED: QA.tech run {first} (wait_for_qa) COMPLETED/FAILED, 3 of 7 test cases passed: "
        f"{qatech_emulator.url(first)}"
    )
    assert message[1:5] == [f"  - {name}: {title}" for name, title in [*FAILURES.items(), *ERRORED.items(),
                                                                        *SKIPPED.items()]]  # fmt: skip
    assert message[5].startswith(f"FAILED: QA.tech run {rerun} (rerun_failed_once)")
    assert qatech_emulator.token not in "\n".join(message)


def test_ci_triggered_sends_git_context(qatech_emulator: QATechMock, qatech_run_dag: RunDag,
                                        example_dags: dict[str, Any]) -> None:  # fmt: skip
    conf = {"branch": "feature/totals", "commit_hash": "9fceb02", "commit_message": "Fix the totals",
            "repository": "acme/dashboards", "actor": "octocat", "preview_url": "https://pr-9.example.app"}  # fmt: skip
    dagrun = qatech_run_dag(example_dags["qatech_ci_triggered"], conf=conf)
    assert task_states(dagrun) == {"qa_for_commit": "success"}
    qatech_emulator.assert_started(1)
    assert qatech_emulator.starts[0].body == {
        "trigger": "GITHUB", "actor": "octocat", "branch": "feature/totals", "commitHash": "9fceb02",
        "commitMessage": "Fix the totals", "repository": "acme/dashboards",
        "applications": [{"applicationShortId": "app_gXeBl2",
                          "environment": {"url": "https://pr-9.example.app", "name": "feature/totals"}}],
    }  # fmt: skip


def test_airflow_dags_test_command_runs_the_post_etl_example(
    qatech_emulator: QATechMock, qatech_airflow_connection: Callable[..., str]
) -> None:
    # The connection fixture sets AIRFLOW_CONN_QATECH_DEFAULT, which the `airflow` command inherits; the
    # plugin's shortened pauses do not reach another process: the examples read their poll interval here.
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES), "QATECH_EXAMPLE_POLL_INTERVAL": "0.05"}
    airflow = Path(sys.executable).with_name("airflow")
    args = [str(airflow), "dags", "test", "qatech_post_etl"]
    if not AIRFLOW_3:
        args.append("2026-01-02")
    result = run(args, env=env, timeout=600)
    output = result.stdout + result.stderr
    token = qatech_emulator.token
    assert result.returncode == 0, output.replace(token, "***")[-3000:]
    (short_id,) = qatech_emulator.runs
    assert f"Publishing: QA.tech run {short_id} passed" in output
    leaks = [line for line in output.splitlines() if token in line]
    if AIRFLOW_VERSION_INFO[:2] == (3, 0):
        # Airflow 3.0's `dags test` prints every connection password it masks in a DEBUG line of its own
        # (fixed in 3.1; the README warns): any other line with the token is ours.
        leaks = [line for line in leaks if not ("Sending request" in line and "MaskSecret(value=" in line)]
    assert not leaks, f"{len(leaks)} line(s) of the output show the token"
