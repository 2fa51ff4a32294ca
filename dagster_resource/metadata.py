"""Dagster metadata for QA.tech runs (what the UI shows next to an op output, a failure or a check)."""

from __future__ import annotations

from typing import Any

from dagster import MetadataValue

from qatech_orchestration.models import RunStatus, StartedRun
from qatech_orchestration.outcome import run_summary


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


def run_status_metadata(status: RunStatus) -> dict[str, Any]:
    summary = run_summary(status)
    metadata: dict[str, Any] = {
        "run_short_id": status.short_id,
        "status": status.status,
        "result": status.result or "",
        "test_cases_total": summary["test_cases_total"],
        "test_cases_passed": summary["test_cases_passed"],
        "test_cases_failed": summary["test_cases_failed"],
        "test_cases_skipped": summary["test_cases_skipped"],
    }
    if status.url:
        metadata["run_url"] = MetadataValue.url(status.url)
    failing = summary["failing_test_cases"]
    if failing:
        rows = "\n".join(
            f"| {_cell(c['name'])} | {c['result'] or 'not finished'} | {_cell(c['result_title'] or '')} |"
            for c in failing
        )
        metadata["failing_test_cases"] = MetadataValue.md(
            f"| Test case | Result | Result title |\n|---|---|---|\n{rows}"
        )
    return metadata


def first_run_metadata(first: RunStatus) -> dict[str, Any]:
    """The first run's result and totals, beside a rerun's own (which counts only the cases it reran)."""
    summary = run_summary(first)
    metadata: dict[str, Any] = {
        "first_run_short_id": first.short_id,
        "first_run_result": first.result or first.status,
    }
    for key in ("total", "passed", "failed", "skipped"):
        metadata[f"first_run_test_cases_{key}"] = summary[f"test_cases_{key}"]
    return metadata


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
