"""The run of issue 22's acceptance test: FAILED with 3 passed, 2 failed, 1 skipped and 1 errored test case,
and the checks every test of the results (JUnit, Markdown, outputs, XCom, Dagster table) shares."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from qatech_orchestration.emulator import Outcome

FAILURES = {"Checkout": "Pay button missing", "Search": "No results for 'running shoes'"}
SKIPPED = {"Wishlist": "Skipped: its dependency Sign in did not run"}
ERRORED = {"Profile photo upload": "The agent could not open the file picker"}
PASSED_NAMES = ("Sign in", "Dashboard shows today's totals", "Export report as CSV")
#: the emulator's own default test cases pass; the scripted ones end as named
MIXED = Outcome(result="FAILED", test_names=PASSED_NAMES, failing=FAILURES, skipped=SKIPPED, errored=ERRORED)
COUNTS = {"total": 7, "passed": 3, "failed": 2, "skipped": 1, "errored": 1, "not_finished": 0}

JUNIT_SCHEMA_FILE = Path(__file__).parent / "fixtures" / "junit-10.xsd"


def read_junit(path: str | os.PathLike[str]) -> tuple[Any, Counter[str]]:
    """Validate a JUnit file against Jenkins' junit-10.xsd, then read it with junitparser: its one suite and
    how many test cases it has per outcome (``passed``, ``failure``, ``error``, ``skipped``), counted from the
    test cases themselves (not from the attributes the file claims)."""
    import xmlschema
    from junitparser import Error, Failure, JUnitXml, Skipped

    xmlschema.XMLSchema(str(JUNIT_SCHEMA_FILE)).validate(str(path))  # raises, naming what is invalid
    document = JUnitXml.fromfile(str(path))
    (suite,) = list(document)
    kinds: Counter[str] = Counter()
    for case in suite:
        results = case.result
        if not results:
            kinds["passed"] += 1
        for result in results:
            kinds[{Failure: "failure", Error: "error", Skipped: "skipped"}[type(result)]] += 1
    # the attributes the file states agree with its test cases
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
        sum(kinds.values()),
        kinds["failure"],
        kinds["error"],
        kinds["skipped"],
    ), "the suite's counts differ from its test cases"
    return suite, kinds


def parse_github_output(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as GitHub Actions reads it: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value_lines = []
            while lines[index] != delimiter:
                value_lines.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(value_lines)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs
