"""The token guard itself must be able to fail a test (a check that cannot fail is no check)."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    "body",
    [
        f"print({OTHER!r})",
        f"import logging; logging.getLogger('x').debug('token %s', {OTHER!r})",
        f"import sys; sys.stderr.write({OTHER!r})",
        f"assert 0, {OTHER!r}",
    ],
)
def test_guard_fails_a_test_that_shows_the_token(inner: pytest.Pytester, body: str) -> None:
    inner.makepyfile(f"def test_leaks():\n    {body}\n")
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == 0
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) >= 1
    assert "the API token appeared" in result.stdout.str()


def test_guard_passes_a_clean_test(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_clean():\n    print('qtk_live_***')\n")
    inner.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
