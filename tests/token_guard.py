"""A pytest plugin: fail any test during which the API token reached something a user could see.

Log records at any level (``_no_token_in_logs``), and captured stdout, stderr and log output or the error
report of each test (``pytest_runtest_makereport``): that covers Airflow task logs printed by
``dag.test()``, Dagster's event log lines, CLI output and exception reports. Tests check XCom values,
rendered template fields, Dagster event records and reprs explicitly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

#: The distinctive token every test uses (the guard's own test runs a pytest with another one).
TOKEN = os.environ.get("QATECH_GUARD_TOKEN", "qtk_live_7Hq2ZxV9pL4mN8rS1tW6yB3cD5fG0jK")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose args do not format is still checked by its template
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1]) + " " + str(record.exc_info[1])
        self.texts.append(text)


@pytest.fixture(autouse=True)
def _no_token_in_logs() -> Iterator[None]:
    """Fail any test during which the API token reached a log record, at any level."""
    handler = _Collect()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    leaked = [t for t in handler.texts if TOKEN in t]
    assert not leaked, f"the API token appeared in {len(leaked)} log record(s)"


REDACTED = "***"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Fail any test whose captured stdout, stderr or log output, or whose error report, holds the token.

    Together with ``_no_token_in_logs`` this covers everything a test run shows a user: task logs printed by
    Airflow, Dagster's event log lines, CLI output, and exception reports. A leak never hides the test's own
    failure: the report keeps it, the token replaced by ``***`` there and in the captured output, and the leak
    is reported beside it.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    # A phase's report carries the output captured so far; teardown only adds its own sections.
    own = [(n, t) for n, t in report.sections if report.when != "teardown" or n.endswith("teardown")]
    leaked = [name for name, text in own if TOKEN in text]
    report.sections = [(n, t.replace(TOKEN, REDACTED)) for n, t in report.sections]
    original = "" if report.longrepr is None else str(report.longrepr)
    if TOKEN in original:
        leaked.append("the error report")
    if not leaked:
        return
    leak = f"the API token appeared in: {', '.join(leaked)} (shown here as {REDACTED})"
    if report.failed:
        report.longrepr = f"{original.replace(TOKEN, REDACTED)}\n\n[token guard] {leak}"
    else:  # the test itself passed (or was skipped): the leak alone fails it
        was = report.outcome
        report.outcome = "failed"
        report.longrepr = f"[token guard] {leak}; the test itself {was}"
