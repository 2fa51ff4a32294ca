"""Step outputs and the job summary in GitHub Actions (``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``).

The outputs are those of QA.tech's own action (``QAdottech/run-action``): ``run_created``, ``run_short_id``,
``run_url``, ``run_status`` (``TIMED_OUT`` when the wait's deadline passed, as the action does) and
``run_result``; plus the counts ``test_cases_total``, ``test_cases_passed``, ``test_cases_failed``,
``test_cases_skipped``, ``test_cases_errored`` and ``test_cases_not_finished``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping

from qatech_orchestration.files import append_text
from qatech_orchestration.models import StartedRun
from qatech_orchestration.report import RunReport

#: The environment variables GitHub Actions sets for a step.
OUTPUT_ENV = "GITHUB_OUTPUT"
SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def started_outputs(run: StartedRun | None) -> dict[str, str]:
    """The outputs known once a run started (``run_created=false`` when it did not)."""
    if run is None:
        return {"run_created": "false"}
    return {"run_created": "true", "run_short_id": run.short_id, "run_url": run.url}


def report_outputs(report: RunReport) -> dict[str, str]:
    """The outputs of a wait: the run's status and result, and its counts."""
    outputs = {
        "run_short_id": report.run_short_id,
        "run_url": report.run_url or "",
        "run_status": "TIMED_OUT" if report.timed_out else report.status,
        "run_result": report.result or "",
    }
    outputs.update({f"test_cases_{name}": str(count) for name, count in report.counts.as_dict().items()})
    return outputs


def format_outputs(outputs: Mapping[str, str]) -> str:
    """``$GITHUB_OUTPUT`` lines: ``name=value``, or GitHub's delimiter form for a value with a line break (a
    delimiter that the value cannot contain, so a crafted value cannot set other outputs)."""
    lines = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    return "".join(f"{line}\n" for line in lines)


def write_outputs(outputs: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> bool:
    """Append ``outputs`` to ``$GITHUB_OUTPUT``; returns False when it is not set (not in GitHub Actions)."""
    path = environ.get(OUTPUT_ENV)
    if not path:
        return False
    append_text(path, format_outputs(outputs))
    return True


def append_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``; returns False when it is not set."""
    path = environ.get(SUMMARY_ENV)
    if not path:
        return False
    append_text(path, markdown if markdown.endswith("\n") else markdown + "\n")
    return True
