"""Dagster metadata for QA.tech runs (what the UI shows next to an op output, a failure or a check).

A finished run's metadata is drawn from the core's :class:`~qatech_orchestration.report.RunReport`: the run
URL, status, result and counts, a ``test_cases`` table (name, result, title; with a ``TableSchema``) and a
Markdown ``summary``. Both are bounded for runs with many test cases (at most :data:`MAX_TABLE_ROWS` rows and
:data:`MAX_TABLE_TEXT` characters per cell, those that did not pass first): a last row says how many were
left out.
"""

from __future__ import annotations

from typing import Any

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from qatech_orchestration.errors import QATechWaitTimeout
from qatech_orchestration.markdown import markdown_summary
from qatech_orchestration.models import RunStatus, StartedRun, TestPlan
from qatech_orchestration.outcome import RunOutcome
from qatech_orchestration.report import RunReport, build_report, interrupted_report, shorten

#: Bounds of the ``test_cases`` table and the Markdown summary.
MAX_TABLE_ROWS = 100
MAX_TABLE_TEXT = 300

TEST_CASES_SCHEMA = TableSchema(
    columns=[
        TableColumn("name", "string", description="The QA.tech test case"),
        TableColumn("result", "string", description="PASSED, FAILED, SKIPPED, ERROR or NOT FINISHED"),
        TableColumn("title", "string", description="QA.tech's resultTitle: why it passed or failed"),
    ]
)


def started_run_metadata(run: StartedRun) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "run_short_id": run.short_id,
        "run_url": MetadataValue.url(run.url),
        "run_id": run.id,
        "test_count": run.test_count,
    }
    if run.test_plan is not None:
        metadata["test_plan"] = f"{run.test_plan.name} ({run.test_plan.short_id})"
    return metadata


def test_cases_table(report: RunReport) -> MetadataValue:
    """The test cases as a table (those that did not pass first), at most :data:`MAX_TABLE_ROWS` rows."""
    rows = [
        TableRecord(
            {
                "name": shorten(case.name, MAX_TABLE_TEXT) or "",
                "result": case.label,
                "title": shorten(case.title, MAX_TABLE_TEXT) or "",
            }
        )
        for case in report.by_severity()[:MAX_TABLE_ROWS]
    ]
    left_out = report.counts.total - len(rows)
    if left_out > 0:
        rows.append(TableRecord({"name": f"... and {left_out} more", "result": "", "title": "not shown"}))
    return MetadataValue.table(records=rows, schema=TEST_CASES_SCHEMA)


def report_metadata(report: RunReport) -> dict[str, Any]:
    """Metadata of a run's report: state, counts, the ``test_cases`` table, the Markdown ``summary``."""
    counts = report.counts.as_dict()
    metadata: dict[str, Any] = {
        "run_short_id": report.run_short_id,
        "status": report.status,
        "result": report.result or "",
        **{f"test_cases_{name}": count for name, count in counts.items()},
        "test_cases": test_cases_table(report),
        "summary": MetadataValue.md(markdown_summary(report, max_rows=MAX_TABLE_ROWS, max_text=MAX_TABLE_TEXT)),
    }
    if report.run_url:
        metadata["run_url"] = MetadataValue.url(report.run_url)
    if report.test_plan is not None:
        metadata["test_plan"] = f"{report.test_plan.name} ({report.test_plan.short_id})"
    unsuccessful = report.unsuccessful[:MAX_TABLE_ROWS]
    if unsuccessful:  # kept from before the table: a Markdown list of what did not pass
        rows = "\n".join(f"| {_cell(c.name)} | {c.label} | {_cell(c.title or '')} |" for c in unsuccessful)
        metadata["failing_test_cases"] = MetadataValue.md(
            f"| Test case | Result | Result title |\n|---|---|---|\n{rows}"
        )
    return metadata


def run_status_metadata(
    status: RunStatus,
    *,
    fail_on_skipped: bool = False,
    test_plan: TestPlan | None = None,
    outcome: RunOutcome | None = None,
) -> dict[str, Any]:
    """:func:`report_metadata` of the report of ``status`` (see :func:`~qatech_orchestration.report.build_report`)."""
    return report_metadata(build_report(status, fail_on_skipped=fail_on_skipped, test_plan=test_plan, outcome=outcome))


def timed_out_metadata(
    exc: QATechWaitTimeout, run_url: str | None = None, test_plan: TestPlan | None = None
) -> dict[str, Any]:
    """A timed-out wait's metadata: ``status`` TIMED_OUT, the table and summary of the last status it read."""
    report = interrupted_report(exc.run_short_id or "", exc, last=exc.last_status, run_url=run_url, test_plan=test_plan)
    return {**report_metadata(report), "status": "TIMED_OUT"}


def first_run_metadata(first: RunStatus) -> dict[str, Any]:
    """The first run's result and totals, beside a rerun's own (which counts only the cases it reran)."""
    counts = first.counts()
    metadata: dict[str, Any] = {
        "first_run_short_id": first.short_id,
        "first_run_result": first.result or first.status,
    }
    for key, count in counts.items():
        metadata[f"first_run_test_cases_{key}"] = count
    return metadata


def _cell(text: str) -> str:
    return (shorten(" ".join(text.split()), MAX_TABLE_TEXT) or "").replace("|", "\\|")
