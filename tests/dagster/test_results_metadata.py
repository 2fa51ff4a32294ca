"""Dagster asset check results and op outputs carry the test cases as a table with a schema, a Markdown
summary and the run URL (materialize / execute_in_process against the emulator)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from dagster_resource import QATechResource, build_qatech_asset_check, qatech_start_run_op, qatech_wait_for_run_op
from dagster_resource.metadata import MAX_TABLE_ROWS
from qatech_orchestration.emulator import Outcome, QATechEmulator
from tests.mixed_run import COUNTS, ERRORED, FAILURES, MIXED, SKIPPED


@dg.asset
def checkout_data() -> int:
    return 1


@dg.job
def start_wait_job() -> None:
    qatech_wait_for_run_op(qatech_start_run_op())


def _rows(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    table = metadata["test_cases"]
    assert isinstance(table, dg.TableMetadataValue)
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("name", "string"), ("result", "string"), ("title", "string")
    ]  # fmt: skip
    return [dict(record.data) for record in table.records]


def _check_mixed(metadata: dict[str, Any], run: Any) -> None:
    rows = _rows(metadata)
    assert len(rows) == 7
    assert rows[:4] == [
        *({"name": n, "result": "FAILED", "title": t} for n, t in FAILURES.items()),
        *({"name": n, "result": "ERROR", "title": t} for n, t in ERRORED.items()),
        *({"name": n, "result": "SKIPPED", "title": t} for n, t in SKIPPED.items()),
    ]
    assert {row["result"] for row in rows[4:]} == {"PASSED"}
    assert {f"test_cases_{k}": metadata[f"test_cases_{k}"].value for k in COUNTS} == {
        f"test_cases_{k}": v for k, v in COUNTS.items()
    }
    assert metadata["run_url"] == dg.MetadataValue.url(run.url)
    summary = metadata["summary"]
    assert isinstance(summary, dg.MarkdownMetadataValue)
    for name, title in FAILURES.items():
        assert f"| {name} | ❌ FAILED | {title} |" in summary.value
    assert run.url in summary.value


def test_asset_check_metadata_has_the_table_summary_and_url(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome(MIXED)
    check = build_qatech_asset_check(checkout_data, test_plan_short_id="pln_checkout_1", poll_interval=0.01)
    result = dg.materialize([checkout_data, check], resources={"qatech": resource}, raise_on_error=False)
    no_token_in_events.append(result)
    (evaluation,) = result.get_asset_check_evaluations()
    (run,) = emulator.project.runs.values()
    assert not evaluation.passed
    _check_mixed(evaluation.metadata, run)
    assert evaluation.metadata["test_plan"].value == "Test plan pln_checkout_1 (pln_checkout_1)"
    assert "did not pass" in evaluation.metadata["summary"].value


def test_wait_op_failure_and_output_carry_the_table(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome(MIXED)
    ops = {"qatech_wait_for_run_op": {"config": {"poll_interval": 0.01}}}
    result = start_wait_job.execute_in_process(
        resources={"qatech": resource}, run_config={"ops": ops}, raise_on_error=False
    )
    no_token_in_events.append(result)
    (failure,) = [e for e in result.all_node_events if e.is_step_failure]
    (run,) = emulator.project.runs.values()
    _check_mixed(failure.step_failure_data.user_failure_data.metadata, run)

    result = start_wait_job.execute_in_process(resources={"qatech": resource}, run_config={"ops": ops})
    no_token_in_events.append(result)
    output = result.output_for_node("qatech_wait_for_run_op")
    assert output["ok"] is True and output["test_cases_passed"] == 3 and output["failing_test_cases"] == []
    (materialization,) = [e for e in result.all_node_events if e.is_successful_output and
                          e.step_key == "qatech_wait_for_run_op"]  # fmt: skip
    metadata = materialization.event_specific_data.metadata
    assert [row["result"] for row in _rows(metadata)] == ["PASSED"] * 3
    assert metadata["summary"].value.startswith("### ✅ QA.tech run ")


def test_the_table_of_a_large_run_is_bounded_and_says_what_it_cut(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    failing = {f"Report {i:03d}": "Empty " + "x" * 1000 for i in range(40)}
    names = tuple(f"Page {i:03d} loads" for i in range(200))
    emulator.script_outcome(Outcome(result="FAILED", failing=failing, test_names=names))
    check = build_qatech_asset_check(checkout_data, poll_interval=0.01)
    result = dg.materialize([checkout_data, check], resources={"qatech": resource}, raise_on_error=False)
    no_token_in_events.append(result)
    (evaluation,) = result.get_asset_check_evaluations()
    rows = _rows(evaluation.metadata)
    assert len(rows) == MAX_TABLE_ROWS + 1
    assert [row["name"] for row in rows[:40]] == sorted(failing)  # what did not pass comes first
    assert all(len(row["title"]) <= 300 for row in rows)
    assert rows[-1]["name"] == "... and 140 more"
    assert evaluation.metadata["test_cases_total"].value == 240
    assert "... and 140 more test case(s) not shown" in evaluation.metadata["summary"].value
