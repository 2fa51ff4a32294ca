"""JUnit XML files: valid against Jenkins' junit-10.xsd, read back by junitparser, written atomically."""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from qatech_orchestration import QATechClient, QATechWaitTimeout
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.files import write_atomically
from qatech_orchestration.junit import junit_xml, write_junit_xml
from qatech_orchestration.models import RunStatus, TestCaseResult, TestPlan
from qatech_orchestration.report import build_report, interrupted_report
from tests.conftest import TOKEN
from tests.mixed_run import ERRORED, FAILURES, MIXED, SKIPPED, read_junit

xmlschema = pytest.importorskip("xmlschema")


def _mixed_report(client: QATechClient, emulator: QATechEmulator) -> tuple[RunStatus, object]:
    emulator.script_outcome(MIXED)
    run = client.start_run(test_plan_short_id="pln_checkout_1")
    status = client.wait_for_run(run.short_id, poll_interval=0.01, run_url=run.url)
    return status, build_report(status, test_plan=run.test_plan)


def test_the_mixed_run_is_valid_junit_with_its_counts(
    client: QATechClient, emulator: QATechEmulator, tmp_path: Path
) -> None:
    status, report = _mixed_report(client, emulator)
    path = tmp_path / "qatech.xml"
    write_junit_xml(path, report)  # type: ignore[arg-type]
    suite, kinds = read_junit(path)
    assert dict(kinds) == {"passed": 3, "failure": 2, "skipped": 1, "error": 1}
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (7, 2, 1, 1)
    assert suite.name == "Test plan pln_checkout_1"  # the plan's name (the emulator names plans so)
    assert {p.name: p.value for p in suite.properties()}["run_url"] == status.url
    cases = {case.name: case for case in suite}
    assert set(cases) == {c.name for c in status.test_cases}
    for name, title in FAILURES.items():
        (failure,) = cases[name].result
        assert failure.message == title and failure.type == "FAILED"
        assert failure.text == f"The agent checked '{name}': {title}"  # evaluationThought in the body
    (error,) = cases[next(iter(ERRORED))].result
    assert error.type == "ERROR" and ERRORED[next(iter(ERRORED))] in error.message
    (skipped,) = cases[next(iter(SKIPPED))].result
    assert skipped.message == next(iter(SKIPPED.values()))
    assert {case.classname for case in suite} == {"Test plan pln_checkout_1"}
    assert "As expected" in cases["Sign in"].system_out
    assert TOKEN not in path.read_text()


def test_every_test_case_of_a_large_run_is_in_the_file(tmp_path: Path) -> None:
    cases = tuple(
        TestCaseResult(
            id=str(i),
            short_id=f"t{i}",
            name=f"Case {i}",
            status="COMPLETED",
            result="FAILED" if i % 7 == 0 else "PASSED",
            result_title=f"title {i}",
        )
        for i in range(1500)
    )
    report = build_report(RunStatus(id="u", short_id="r1", status="COMPLETED", result="FAILED", test_cases=cases))
    path = tmp_path / "big.xml"
    write_junit_xml(path, report)
    suite, kinds = read_junit(path)
    assert suite.tests == 1500 and kinds["failure"] == 215 and kinds["passed"] == 1285


def test_text_xml_cannot_carry_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    name = 'Pay "now" <b>&</b> ]]> \x00\x1b[31m\ud800 ✓ 💳'
    evaluation = "line one\nline two\x0c\n" + "é" * 20000
    case = TestCaseResult(id="1", short_id="t1", name=name, status="COMPLETED", result="FAILED",
                          result_title="a\nb\tc", evaluation_thought=evaluation)  # fmt: skip
    status = RunStatus(id="u", short_id="r1", status="COMPLETED", result="FAILED", test_cases=(case,),
                       url="https://app.qa.tech/runs/r1?a=1&b=<2>")  # fmt: skip
    report = build_report(status, test_plan=TestPlan('Plan "<&>"', "pln_x"))
    path = tmp_path / "hostile.xml"
    write_junit_xml(path, report)
    suite, kinds = read_junit(path)
    assert kinds["failure"] == 1 and suite.name == 'Plan "<&>"'
    (parsed,) = list(suite)
    assert parsed.name == 'Pay "now" <b>&</b> ]]> \ufffd\ufffd[31m\ufffd ✓ 💳'
    (failure,) = parsed.result
    assert failure.message == "a\nb\tc" and failure.text.startswith("line one\nline two\ufffd\n")
    assert len(failure.text) == len(evaluation)  # no cap in the JUnit file
    assert suite.properties() and {p.name: p.value for p in suite.properties()}["run_url"] == status.url


def test_a_timed_out_wait_gives_a_file_that_says_so(tmp_path: Path) -> None:
    last = RunStatus(id="u", short_id="r7", status="RUNNING", result=None, test_cases=(
        TestCaseResult(id="1", short_id="t1", name="Sign in", status="COMPLETED", result="PASSED"),
        TestCaseResult(id="2", short_id="t2", name="Checkout", status="RUNNING", result=None),
    ))  # fmt: skip
    error = QATechWaitTimeout("QA.tech run r7 did not finish within 60 s (last status RUNNING)", run_short_id="r7")
    path = tmp_path / "timeout.xml"
    write_junit_xml(path, interrupted_report("r7", error, last=last))
    suite, kinds = read_junit(path)
    assert dict(kinds) == {"passed": 1, "error": 2}
    cases = {case.name: case for case in suite}
    (timeout,) = cases["QA.tech run r7"].result
    assert timeout.type == "TIMED_OUT" and "did not finish within 60 s" in timeout.message
    (unfinished,) = cases["Checkout"].result
    assert unfinished.type == "NOT_FINISHED" and "still RUNNING" in unfinished.message
    assert {p.name: p.value for p in suite.properties()}["run_status"] == "TIMED_OUT"
    # nothing read at all: still a valid file with the one error
    write_junit_xml(path, interrupted_report("r7", error))
    suite, kinds = read_junit(path)
    assert dict(kinds) == {"error": 1} and suite.name == "QA.tech run r7"


def test_the_schema_check_would_catch_an_invalid_file(tmp_path: Path) -> None:
    """The validation the tests rely on rejects what Jenkins' schema forbids (it is not a no-op)."""
    status = RunStatus(id="u", short_id="r1", status="COMPLETED", result="PASSED", test_cases=())
    root = ET.fromstring(junit_xml(build_report(status)))
    root.set("skipped", "0")  # <testsuites> has no skipped attribute in junit-10.xsd
    path = tmp_path / "bad.xml"
    path.write_bytes(ET.tostring(root))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        read_junit(path)


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "reports" / "qatech.xml"
    write_atomically(path, b"<old/>")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, b"<new/>" * 1000)
    assert path.read_bytes() == b"<old/>"
    assert os.listdir(path.parent) == ["qatech.xml"]


def test_a_reader_never_sees_half_a_file(tmp_path: Path) -> None:
    """A reader polling the report while it is rewritten parses a whole document every time."""
    cases = tuple(
        TestCaseResult(
            id=str(i),
            short_id=f"t{i}",
            name=f"Case {i}",
            status="COMPLETED",
            result="PASSED",
            evaluation_thought="why " * 200,
        )
        for i in range(400)
    )
    report = build_report(RunStatus(id="u", short_id="r1", status="COMPLETED", result="PASSED", test_cases=cases))
    path = tmp_path / "qatech.xml"
    write_junit_xml(path, report)
    done = threading.Event()
    reads: list[int] = []
    errors: list[str] = []

    def reader() -> None:
        while not done.is_set():
            try:
                reads.append(len(ET.parse(path).getroot().find("testsuite")))  # type: ignore[arg-type]
            except ET.ParseError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(30):
            write_junit_xml(path, report)
    finally:
        done.set()
        thread.join()
    assert not errors and reads and set(reads) == {401}  # 400 test cases and the properties
