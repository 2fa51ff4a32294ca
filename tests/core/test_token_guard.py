"""The token guard itself must be able to fail a test (a check that cannot fail is no check)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
    result = inner.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    output = result.stdout.str()
    assert result.parseoutcomes().get("passed") == 1
    for name in LEAKS:  # a log record leak fails in the guard's fixture teardown: FAILED and ERROR both count
        assert re.search(rf"^(FAILED|ERROR) \S+::test_leaks_by_{name}\b", output, re.MULTILINE), name
    assert re.search(r"^PASSED \S+::test_clean\b", output, re.MULTILINE)
    assert output.count("the API token appeared") >= len(LEAKS)
