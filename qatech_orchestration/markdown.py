"""A run's report as a Markdown summary: GitHub Actions' job summary, a GitLab or Jenkins artifact, Dagster.

The verdict as a heading, the run's state and link, the counts, a table of the test cases (result and
``resultTitle``; those that did not pass first) and, folded, the evaluation of each test case that did not
pass. Bounded: at most ``max_rows`` rows and ``max_text`` characters per text, saying what was left out.
Text from QA.tech is escaped, so a test case's name cannot break the table or inject HTML.
"""

from __future__ import annotations

import html

from qatech_orchestration.models import CASE_PASSED, StartedRun
from qatech_orchestration.report import RunReport, printable, shorten

#: Default bounds (GitHub keeps at most 1 MiB of summary per step).
MAX_ROWS = 100
MAX_TEXT = 500

_ICONS = {"PASSED": "✅", "FAILED": "❌", "SKIPPED": "⏭️", "ERROR": "💥", "NOT FINISHED": "⏳"}


def _inline(text: str | None, limit: int | None) -> str:
    """One table cell or heading fragment: one line, no HTML, no column break."""
    flat = printable(" ".join((text or "").split()))
    return html.escape(shorten(flat, limit) or "", quote=False).replace("|", "\\|")


def _block(text: str, limit: int | None) -> str:
    return html.escape(printable(shorten(text.strip(), limit) or ""), quote=False)


def _icon(report: RunReport) -> str:
    if report.timed_out:
        return "⏱️"
    if report.ok:
        return "⚠️" if report.warning else "✅"
    return "❌"


def markdown_summary(report: RunReport, *, max_rows: int = MAX_ROWS, max_text: int = MAX_TEXT) -> str:
    """The Markdown summary of ``report`` (ends with a newline)."""
    lines = [f"### {_icon(report)} {_inline(report.title, max_text)}", ""]
    state = [f"**Status:** {_inline(report.status or 'unknown', 40)}"]
    if report.result:
        state.append(f"**Result:** {_inline(report.result, 40)}")
    if report.test_plan:
        state.append(f"**Test plan:** {_inline(report.test_plan.name or report.test_plan.short_id, max_text)}")
    if report.run_url:
        state.append(f"[Open run {_inline(report.run_short_id, 40)} in QA.tech]({report.run_url.replace(')', '%29')})")
    lines += [" · ".join(state), ""]
    if report.interrupted:
        lines += [f"> {_inline(report.interrupted, 4 * max_text)}", ""]
    elif report.warning:
        lines += [f"> {_inline(report.warning, 4 * max_text)}", ""]
    lines += [f"**{report.counts.text()}**", ""]
    ordered = report.by_severity()
    if ordered:
        lines += ["| Test case | Result | Title |", "|---|---|---|"]
        for case in ordered[:max_rows]:
            label = f"{_ICONS.get(case.label, '')} {case.label}".strip()
            lines.append(f"| {_inline(case.name, max_text)} | {label} | {_inline(case.title, max_text)} |")
        lines.append("")
    left_out = report.counts.total - min(len(ordered), max_rows)
    if left_out > 0:
        lines += [f"... and {left_out} more test case(s) not shown (those that did not pass come first).", ""]
    explained = [case for case in ordered[:max_rows] if case.kind != CASE_PASSED and case.evaluation]
    for case in explained:
        summary = f"{_inline(case.name, max_text)}: {_inline(case.detail, max_text)}"
        lines += [f"<details><summary>{summary}</summary>", "", _block(case.evaluation or "", 4 * max_text), "",
                  "</details>", ""]  # fmt: skip
    return "\n".join(lines).rstrip("\n") + "\n"


def started_markdown(run: StartedRun) -> str:
    """The summary of a run that was started and not waited for: its plan, size and link."""
    plan = f" ({_inline(run.test_plan.name, MAX_TEXT)})" if run.test_plan and run.test_plan.name else ""
    link = run.url.replace(")", "%29")
    return (
        f"### 🚀 QA.tech run {_inline(run.short_id, 40)}{plan} started\n\n"
        f"{run.test_count} test case(s) · [Open run {_inline(run.short_id, 40)} in QA.tech]({link})\n"
    )
