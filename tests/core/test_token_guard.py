"""The token guard itself must be able to fail a test (a check that cannot fail is no check)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deadlines import scaled

ROOT = Path(__file__).resolve().parents[2]
OTHER = "qtk_live_guardSelfTest00000000000000"  # not the suite's token: this test's own output stays clean


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("QATECH_GUARD_TOKEN", OTHER)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest("pytest_plugins = ['tests.token_guard']")
    return pytester


LEAKS = {
    "print": f"print({OTHER!r})",
    "debug_log": f"import logging; logging.getLogger('x').debug('token %s', {OTHER!r})",
    "stderr": f"import sys; sys.stderr.write({OTHER!r})",
    "assertion": f"assert 0, {OTHER!r}",
}


def test_guard_fails_each_test_that_shows_the_token_and_passes_a_clean_one(inner: pytest.Pytester) -> None:
    # One subprocess for every case: a pytest start costs about a second.
    tests = [f"def test_leaks_by_{name}():\n    {body}\n" for name, body in LEAKS.items()]
    tests.append("def test_clean():\n    print('qtk_live_***')\n")
    inner.makepyfile("\n\n".join(tests))
    result = inner.runpytest_subprocess("-p", "no:cacheprovider", "-rA", timeout=scaled(120))
    output = result.stdout.str()
    assert result.parseoutcomes().get("passed") == 1
    for name in LEAKS:  # a log record leak fails in the guard's fixture teardown: FAILED and ERROR both count
        assert re.search(rf"^(FAILED|ERROR) \S+::test_leaks_by_{name}\b", output, re.MULTILINE), name
    assert re.search(r"^PASSED \S+::test_clean\b", output, re.MULTILINE)
    assert output.count("the API token appeared") >= len(LEAKS)


FAILING_WITH_THE_TOKEN = f"""
import subprocess


def test_own_failure_names_the_token():
    print("about to start with {OTHER}")
    assert 1 == 2, "the run for token {OTHER} did not pass"


def test_a_command_line_in_the_traceback():
    raise subprocess.CalledProcessError(1, ["emulator", "--port", "0", "--token", {OTHER!r}])
"""


def test_a_failure_that_shows_the_token_keeps_its_own_message_redacted_and_reports_the_leak(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(FAILING_WITH_THE_TOKEN)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider", "-rA", timeout=scaled(120))
    output = result.stdout.str() + result.stderr.str()
    assert result.parseoutcomes().get("failed") == 2
    assert OTHER not in output  # not in the report, the summary or the captured output shown
    # the test's own failure, token redacted ...
    assert "the run for token *** did not pass" in output
    assert "assert 1 == 2" in output
    assert "about to start with ***" in output  # the captured stdout is still shown
    assert "CalledProcessError" in output and "'--token', '***'" in output
    # ... and the leak beside it
    assert output.count("[token guard] the API token appeared in:") >= 2
    assert re.search(r"the API token appeared in: [^\n]*Captured stdout call[^\n]*the error report", output)
