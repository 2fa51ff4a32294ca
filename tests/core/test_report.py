"""The one report of a run (qatech_orchestration.report) and its bounded views: summary, log lines, Markdown."""

from __future__ import annotations

import re

import pytest

from qatech_orchestration import QATechClient, QATechWaitTimeout, run_summary
from qatech_orchestration.emulator import Outcome, QATechEmulator
from qatech_orchestration.markdown import markdown_summary
from qatech_orchestration.models import RunStatus, TestCaseResult, TestPlan
from qatech_orchestration.report import build_report, interrupted_report
from tests.conftest import TOKEN
from tests.mixed_run import COUNTS, ERRORED, FAILURES, MIXED, SKIPPED


def _finished(client: QATechClient, emulator: QATechEmulator, outcome: Outcome | str = MIXED) -> RunStatus:
    emulator.script_outcome(outcome)
    run = client.start_run(test_plan_short_id="pln_checkout_1")
    return client.wait_for_run(run.short_id, poll_interval=0.01, run_url=run.url)


def _case(name: str, status: str, result: str | None) -> TestCaseResult:
    return TestCaseResult(id=name, short_id=name, name=name, status=status, result=result)


@pytest.mark.parametrize(
    ("status", "result", "kind"),
    [
        ("COMPLETED", "PASSED", "passed"),
        ("COMPLETED", "FAILED", "failed"),
        ("COMPLETED", "SKIPPED", "skipped"),
        ("ERROR", None, "errored"),
        ("CANCELLED", None, "errored"),
        ("COMPLETED", None, "errored"),  # finished without a verdict
        ("COMPLETED", "FLAKY", "errored"),  # a result this package does not know is never success
        ("RUNNING", None, "not_finished"),
        ("INITIATED", None, "not_finished"),
        ("QUEUED", None, "not_finished"),  # an unknown, non-terminal status
    ],
)
def test_each_test_case_has_one_kind(status: str, result: str | None, kind: str) -> None:
    assert _case("t", status, result).kind == kind


def test_the_mixed_run_counts_every_kind(client: QATechClient, emulator: QATechEmulator) -> None:
    status = _finished(client, emulator)
    report = build_report(status, test_plan=TestPlan("Checkout", "pln_checkout_1"))
    assert report.counts.as_dict() == COUNTS
    assert not report.ok and report.status == "COMPLETED" and report.result == "FAILED"
    assert [c.name for c in report.unsuccessful] == [*FAILURES, *ERRORED, *SKIPPED]  # failed first
    (errored,) = [c for c in report.cases if c.kind == "errored"]
    assert errored.status == "ERROR" and errored.result is None and errored.title == ERRORED[errored.name]
    assert all(c.evaluation for c in report.cases)  # evaluationThought kept for JUnit
    assert report.run_url == status.url and report.listed_all


def test_run_summary_keeps_its_keys_and_adds(client: QATechClient, emulator: QATechEmulator) -> None:
    summary = run_summary(_finished(client, emulator))
    old_keys = {"run_short_id", "run_url", "status", "result", "test_cases_total", "test_cases_passed",
                "test_cases_failed", "test_cases_skipped", "failing_test_cases"}  # fmt: skip
    assert old_keys <= set(summary)
    assert {f"test_cases_{k}": v for k, v in COUNTS.items()}.items() <= summary.items()
    assert summary["failing_test_cases"][0] == {
        "name": "Checkout", "result": "FAILED", "result_title": "Pay button missing", "kind": "failed",
        "status": "COMPLETED",
    }  # fmt: skip
    assert len(summary["failing_test_cases"]) == 4 and summary["failing_test_cases_omitted"] == 0
    assert summary["ok"] is False and "did not pass" in summary["message"]


def test_a_trigger_event_gives_the_same_numbers(client: QATechClient, emulator: QATechEmulator) -> None:
    """The event lists only the test cases that did not pass; its counts complete the report."""
    status = _finished(client, emulator)
    event = status.to_event()
    from_event = build_report(RunStatus.from_dict(event), counts=event["counts"])
    assert from_event.counts == build_report(status).counts
    assert from_event.listed_all is False and len(from_event.cases) == 4
    assert from_event.summary()["failing_test_cases"] == build_report(status).summary()["failing_test_cases"]


def test_an_older_event_without_the_new_counts_still_adds_up(client: QATechClient, emulator: QATechEmulator) -> None:
    status = _finished(client, emulator)
    event = status.to_event()
    event["counts"] = {k: event["counts"][k] for k in ("total", "passed", "failed", "skipped")}
    report = build_report(RunStatus.from_dict(event), counts=event["counts"])
    assert report.counts.as_dict() == COUNTS


def test_bounded_views_say_what_they_leave_out() -> None:
    cases = [_case(f"Case {i:03d} " + "x" * 400, "COMPLETED", "FAILED") for i in range(45)]
    cases += [_case(f"Good {i}", "COMPLETED", "PASSED") for i in range(200)]
    status = RunStatus(id="u", short_id="r9", status="COMPLETED", result="FAILED", test_cases=tuple(cases))
    report = build_report(status)
    summary = report.summary(max_cases=20, max_text=300)
    assert len(summary["failing_test_cases"]) == 20 and summary["failing_test_cases_omitted"] == 25
    assert all(len(c["name"]) == 300 and c["name"].endswith("…") for c in summary["failing_test_cases"])
    assert summary["test_cases_total"] == 245 and summary["test_cases_failed"] == 45
    lines = report.log_lines(max_cases=10)
    assert len(lines) == 12 and lines[-1] == "  ... and 35 more that did not pass"
    markdown = markdown_summary(report, max_rows=100)
    assert len(re.findall(r"^\| Case \d{3}", markdown, re.MULTILINE)) == 45
    assert len(re.findall(r"^\| Good \d+ \|", markdown, re.MULTILINE)) == 55  # 100 rows: failures first
    assert "... and 145 more test case(s) not shown" in markdown


def test_a_timed_out_wait_is_reported_as_such() -> None:
    cases = (_case("Sign in", "COMPLETED", "PASSED"), _case("Checkout", "RUNNING", None))
    last = RunStatus(id="u", short_id="r7", status="RUNNING", result=None, test_cases=cases)
    error = QATechWaitTimeout("QA.tech run r7 did not finish within 5 s", run_short_id="r7", run_url="https://q/r7")
    report = interrupted_report("r7", error, last=last)
    assert report.timed_out and not report.ok and report.run_url == "https://q/r7"
    assert report.counts.as_dict() == {"total": 2, "passed": 1, "failed": 0, "skipped": 0, "errored": 0,
                                       "not_finished": 1}  # fmt: skip
    assert "did not finish before the wait's timeout" in report.title
    nothing_read = interrupted_report("r7", error)
    assert nothing_read.counts.total == 0 and nothing_read.status == "" and nothing_read.timed_out


def test_text_from_qatech_cannot_break_the_markdown_or_the_log() -> None:
    hostile = _case("Pay | <script>alert(1)</script>\n| injected | row |\x1b[31m", "COMPLETED", "FAILED")
    hostile = TestCaseResult(**{**hostile.__dict__, "result_title": "**bold** | <img src=x>"})
    report = build_report(RunStatus(id="u", short_id="r8", status="COMPLETED", result="FAILED", test_cases=(hostile,)))
    markdown = markdown_summary(report)
    table_rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table_rows) == 3  # header, rule, one row: the name's line break and pipes stay in its cell
    assert "<script>" not in markdown and "<img" not in markdown and "\x1b" not in markdown
    assert "&lt;script&gt;" in table_rows[2] and "\\|" in table_rows[2]
    assert all("\x1b" not in line and "\n" not in line for line in report.log_lines())


def test_no_token_in_any_view(client: QATechClient, emulator: QATechEmulator) -> None:
    report = build_report(_finished(client, emulator))
    texts = [repr(report), str(report.summary()), markdown_summary(report), *report.log_lines()]
    assert not [text for text in texts if TOKEN in text]
