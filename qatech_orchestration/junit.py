"""A run's report as a JUnit XML file, the format GitLab, Jenkins, Azure DevOps and most CI systems read.

The file follows the JUnit schema Jenkins' xUnit plugin publishes (``junit-10.xsd``, which GitLab's parser
also accepts): one ``<testsuites>`` holding one ``<testsuite>`` for the run (named after the test plan, or
``QA.tech run <short ID>``; ``tests``, ``failures``, ``errors`` and ``skipped`` counts; the run's short ID,
URL, status and result as properties and its URL as the suite's ``url``), and one ``<testcase>`` per QA.tech
test case, every one of them (no cap), in QA.tech's order, its ``classname`` the test plan:

==============  ==============================================================================
passed          ``<testcase>`` with ``resultTitle`` and the evaluation in ``<system-out>``
failed          ``<failure type="FAILED" message="resultTitle">`` evaluation ``</failure>``
errored         ``<error type="ERROR" message="resultTitle">`` evaluation ``</error>``
not finished    ``<error type="NOT_FINISHED">`` (only in the file of a wait that ended early)
skipped         ``<skipped message="resultTitle">`` evaluation ``</skipped>``
==============  ==============================================================================

A wait that ended before the run did (its timeout, an API error) still gets a file: the test cases as last
read, plus one ``<testcase>`` named after the run whose ``<error>`` (type ``TIMED_OUT`` or ``WAIT_FAILED``)
says why. Characters XML cannot carry (control characters) are replaced by U+FFFD.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

from qatech_orchestration.files import write_atomically
from qatech_orchestration.models import CASE_ERRORED, CASE_FAILED, CASE_NOT_FINISHED, CASE_SKIPPED
from qatech_orchestration.report import CaseReport, RunReport

# What XML 1.0 cannot hold, even escaped: C0 controls but tab, newline and return; surrogates; U+FFFE/FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str | None) -> str:
    return _NOT_XML.sub("\ufffd", text or "")


def suite_name(report: RunReport) -> str:
    """The test plan's name, else ``QA.tech run <short ID>``."""
    if report.test_plan and report.test_plan.name:
        return report.test_plan.name
    return f"QA.tech run {report.run_short_id}"


def _body(case: CaseReport) -> str:
    return case.evaluation or case.title or ""


def _testcase(parent: ET.Element, case: CaseReport, classname: str) -> tuple[int, int, int]:
    """Add one ``<testcase>``; returns what it adds to (failures, errors, skipped)."""
    element = ET.SubElement(parent, "testcase", name=_xml_text(case.name), classname=_xml_text(classname))
    message = _xml_text(case.detail)
    if case.kind == CASE_FAILED:
        ET.SubElement(element, "failure", type="FAILED", message=message).text = _xml_text(_body(case))
        return 1, 0, 0
    if case.kind == CASE_ERRORED:
        kind = case.status if case.result is None else f"RESULT {case.result}"
        error = ET.SubElement(element, "error", type="ERROR", message=_xml_text(f"{case.detail} ({kind})"))
        error.text = _xml_text(_body(case))
        return 0, 1, 0
    if case.kind == CASE_NOT_FINISHED:
        text = f"still {case.status} when the wait ended"
        ET.SubElement(element, "error", type="NOT_FINISHED", message=_xml_text(text)).text = _xml_text(text)
        return 0, 1, 0
    if case.kind == CASE_SKIPPED:
        ET.SubElement(element, "skipped", message=message).text = _xml_text(_body(case))
        return 0, 0, 1
    lines = [text for text in (case.title, case.evaluation) if text]
    if lines:
        ET.SubElement(element, "system-out").text = _xml_text("\n\n".join(lines))
    return 0, 0, 0


def junit_xml(report: RunReport) -> bytes:
    """The JUnit XML document (UTF-8) of ``report``: every test case it lists."""
    name = _xml_text(suite_name(report))
    root = ET.Element("testsuites", name="QA.tech")
    suite = ET.SubElement(root, "testsuite", name=name, id=_xml_text(report.run_short_id))
    if report.run_url:
        suite.set("url", _xml_text(report.run_url))
    properties = ET.SubElement(suite, "properties")
    values = {
        "run_short_id": report.run_short_id,
        "run_url": report.run_url,
        "run_status": "TIMED_OUT" if report.timed_out else report.status,
        "run_result": report.result,
        "test_plan": report.test_plan.name if report.test_plan else None,
        "test_plan_short_id": report.test_plan.short_id if report.test_plan else None,
    }
    for key, value in values.items():
        if value:
            ET.SubElement(properties, "property", name=key, value=_xml_text(value))
    failures = errors = skipped = 0
    for case in report.cases:
        f, e, s = _testcase(suite, case, name)
        failures, errors, skipped = failures + f, errors + e, skipped + s
    tests = len(report.cases)
    if report.interrupted:
        element = ET.SubElement(suite, "testcase", name=_xml_text(f"QA.tech run {report.run_short_id}"), classname=name)
        kind = "TIMED_OUT" if report.timed_out else "WAIT_FAILED"
        error = ET.SubElement(element, "error", type=kind, message=_xml_text(report.interrupted))
        error.text = _xml_text(report.interrupted)
        tests, errors = tests + 1, errors + 1
    counts = {"tests": tests, "failures": failures, "errors": errors}
    for element in (root, suite):
        for key, count in counts.items():
            element.set(key, str(count))
    suite.set("skipped", str(skipped))  # <testsuites> has no skipped attribute in the schema
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def write_junit_xml(path: str | os.PathLike[str], report: RunReport) -> None:
    """Write :func:`junit_xml` to ``path`` atomically (a reader never sees half a file)."""
    write_atomically(path, junit_xml(report))
