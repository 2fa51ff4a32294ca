"""One QA.tech run with every kind of test case, read by the command line (JUnit XML, Markdown, GitHub Actions
outputs), an Airflow sensor (task log, ``run_summary`` XCom) and a Dagster op (table metadata): all give the
same numbers, because all render the core's one report."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider.sensors.qatech import QATechRunSensor
from qatech_orchestration.cli import EXIT_FAILED, main
from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import CAPTURED, capture_task, dag_class, new_dag_id, python_operator, run_dag
from tests.conftest import TOKEN
from tests.mixed_run import COUNTS, FAILURES, MIXED, parse_github_output, read_junit

dg = pytest.importorskip("dagster", reason="the dagster extra is not installed")
pytest.importorskip("xmlschema")

#: the labels each renderer shows per kind
LABELS = {"passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED", "errored": "ERROR"}


def _cli(emulator: QATechEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    monkeypatch.setenv("QATECH_BASE_URL", emulator.base_url)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "sum"))
    junit, markdown = tmp_path / "qatech.xml", tmp_path / "qatech.md"
    code = main(["start", "--test-plan", "pln_checkout_1", "--wait", "--poll-interval", "0.01",
                 "--junit-xml", str(junit), "--summary-markdown", str(markdown)])  # fmt: skip
    assert code == EXIT_FAILED
    outputs = parse_github_output((tmp_path / "out").read_text())
    suite, kinds = read_junit(junit)
    rows = re.findall(r"^\| (.+?) \| \S+ (PASSED|FAILED|SKIPPED|ERROR) \| (.*?) \|$", markdown.read_text(), re.M)
    return outputs["run_short_id"], {
        "junit": {
            "passed": kinds["passed"],
            "failed": kinds["failure"],
            "skipped": kinds["skipped"],
            "errored": kinds["error"],
        },
        "junit failed": {c.name for c in suite if any(r.type == "FAILED" for r in c.result)},
        "markdown": _count_labels(label for _, label, _ in rows),
        "markdown failed": {name for name, label, _ in rows if label == "FAILED"},
        "github outputs": {kind: int(outputs[f"test_cases_{kind}"]) for kind in LABELS},
    }


def _airflow(short_id: str, url: str, task_output: Callable[[], str]) -> dict[str, Any]:
    start = pendulum.datetime(2026, 1, 1, tz="UTC")
    with dag_class()(dag_id=new_dag_id("same"), schedule=None, start_date=start, catchup=False) as dag:
        sensor = QATechRunSensor(task_id="sense", run_short_id=short_id, run_url=url, poke_interval=0.05,
                                 deferrable=True)  # fmt: skip
        sensor >> python_operator()(
            task_id="capture", python_callable=capture_task(dag.dag_id, "sense", ("run_summary",)),
            trigger_rule="all_done",
        )  # fmt: skip
    run_dag(dag)
    summary = CAPTURED[dag.dag_id]["run_summary"]
    output = task_output()
    (header,) = re.findall(r"QA\.tech run \S+ COMPLETED/FAILED: 7 test case\(s\): ([^.]*)\.", output)[:1]
    logged = {
        kind.replace(" ", "_"): int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errored)", header)
    }
    return {
        "airflow xcom": {kind: summary[f"test_cases_{kind}"] for kind in LABELS},
        "airflow xcom failed": {c["name"] for c in summary["failing_test_cases"] if c["kind"] == "failed"},
        "airflow log": logged,
        "airflow log failed": set(re.findall(r"FAILED {7}(.+?): ", output)),
    }


def _dagster(short_id: str, emulator: QATechEmulator) -> dict[str, Any]:
    from dagster_resource import QATechResource, qatech_wait_for_run_op

    @dg.job
    def wait_only() -> None:
        qatech_wait_for_run_op()

    result = wait_only.execute_in_process(
        resources={"qatech": QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"), base_url=emulator.base_url)},
        run_config={
            "ops": {"qatech_wait_for_run_op": {"inputs": {"run_short_id": short_id}, "config": {"poll_interval": 0.01}}}
        },
        raise_on_error=False,
    )
    (failure,) = [e for e in result.all_node_events if e.is_step_failure]
    metadata = failure.step_failure_data.user_failure_data.metadata
    rows = [dict(record.data) for record in metadata["test_cases"].records]
    assert TOKEN not in repr(metadata)
    return {
        "dagster table": _count_labels(row["result"] for row in rows),
        "dagster table failed": {row["name"] for row in rows if row["result"] == "FAILED"},
        "dagster counts": {kind: metadata[f"test_cases_{kind}"].value for kind in LABELS},
    }


def _count_labels(labels: Any) -> dict[str, int]:
    counted = Counter(labels)
    return {kind: counted[label] for kind, label in LABELS.items()}


def test_one_run_gives_the_same_numbers_in_every_renderer(
    emulator: QATechEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task_output: Callable[[], str]
) -> None:
    emulator.script_outcome(MIXED)
    short_id, seen = _cli(emulator, tmp_path, monkeypatch)
    url = emulator.project.runs[short_id].url
    seen.update(_airflow(short_id, url, task_output))
    seen.update(_dagster(short_id, emulator))
    assert len(emulator.requests_to("start_run")) == 1  # one run, read by all

    expected = {kind: COUNTS[kind] for kind in LABELS}
    numbers = {name: value for name, value in seen.items() if not name.endswith(" failed")}
    assert numbers == dict.fromkeys(numbers, expected)
    assert len(numbers) == 7  # JUnit, Markdown, outputs, XCom, task log, Dagster table and counts
    failed = {name: value for name, value in seen.items() if name.endswith(" failed")}
    assert failed == {name: set(FAILURES) for name in failed} and len(failed) == 5
