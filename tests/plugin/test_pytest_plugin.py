"""The pytest plugin as a user meets it: a test file of theirs, run by pytest (pytester), that only names the
fixtures. The Airflow and Dagster fixtures: tests/plugin/test_plugin_airflow.py and test_plugin_dagster.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

USER_TEST = """
from qatech_orchestration import QATechClient, raise_for_outcome, QATechRunFailed
import pytest


def test_a_failed_run_names_its_failing_case(qatech_emulator):
    qatech_emulator.script("FAILED", failing={"Checkout": "Pay button missing"})
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    run = client.start_run(test_plan_short_id="pln_checkout_1", branch="main", trigger="GITHUB")
    status = client.wait_for_run(run.short_id, poll_interval=30, timeout=20)  # pauses are cut: no 30 s sleep
    with pytest.raises(QATechRunFailed, match="Checkout: Pay button missing"):
        raise_for_outcome(status)
    qatech_emulator.assert_started_once(test_plan_short_id="pln_checkout_1", trigger="GITHUB", branch="main")
    assert len(qatech_emulator.reads) == 2 and qatech_emulator.runs == [run.short_id]


@pytest.mark.qatech(outcome="SKIPPED", reads=3)
def test_the_marker_scripts_without_code(qatech_emulator):
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    status = client.wait_for_run(client.start_run().short_id, poll_interval=30, timeout=20)
    assert status.result == "SKIPPED" and len(qatech_emulator.reads) == 3


def test_an_outage_mid_wait_is_waited_through(qatech_emulator):
    qatech_emulator.outage(1.5, starting="get_run")
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url, max_retries=0)
    status = client.wait_for_run(client.start_run().short_id, poll_interval=30, timeout=60)
    assert status.passed
    qatech_emulator.assert_started(1)


def test_errors_as_qatech_answers_them(qatech_emulator):
    qatech_emulator.fail("start_run", status=402, message="Usage limit reached")
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    with pytest.raises(Exception, match="HTTP 402: Usage limit reached"):
        client.start_run()
    qatech_emulator.assert_started(1)  # the refused start was received once, not retried


@pytest.mark.qatech(real_time=True)
def test_real_time_keeps_the_pauses(qatech_emulator):
    from qatech_orchestration import QATechWaitTimeout

    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    with pytest.raises(QATechWaitTimeout):  # the 30 s pause after INITIATED outlasts the 0.5 s timeout
        client.wait_for_run(client.start_run().short_id, poll_interval=30, timeout=0.5)
"""


def test_a_users_test_file_runs_on_the_fixtures_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_assertions_say_what_was_sent_instead(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
from qatech_orchestration import QATechClient

def test_wrong_preview_url(qatech_emulator):
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    client.start_run(test_plan_short_id="pln_a", applications=[
        {"applicationShortId": "app_1", "environment": {"url": "https://pr-1.example.app"}}])
    qatech_emulator.assert_started_once(test_plan_short_id="pln_a", applications=[
        {"applicationShortId": "app_1", "environment": {"url": "https://pr-2.example.app"}}])

def test_a_duplicate_start(qatech_emulator):
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    client.start_run(); client.start_run()
    qatech_emulator.assert_started_once()

def test_no_start_expected(qatech_emulator):
    QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url).start_run(branch="x", trigger="GITHUB")
    qatech_emulator.assert_no_start()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert (
        "AssertionError: QA.tech was asked to start a run with other fields than expected:\n"
        "E         applications:\n"
        'E           expected: [{"applicationShortId": "app_1", "environment": {"url": "https://pr-2.example.app"}}]\n'
        'E           sent:     [{"applicationShortId": "app_1", "environment": {"url": "https://pr-1.example.app"}}]'
    ) in out
    assert "test_user.py:7: AssertionError" in out  # the user's line, not the plugin's
    assert "AssertionError: QA.tech was asked to start 2 run(s), 1 expected; sent:" in out
    assert "AssertionError: QA.tech was asked to start 1 run(s), none expected; sent:" in out
    assert '"branch": "x"' in out


SCOPES = """
from qatech_orchestration import QATechClient
SEEN = []

def test_one(qatech_emulator):
    SEEN.append(qatech_emulator.base_url)
    QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url).start_run()
    qatech_emulator.script("FAILED", times=5)  # scripted and not used: must not reach the next test

def test_two(qatech_emulator):
    SEEN.append(qatech_emulator.base_url)
    qatech_emulator.assert_no_start()  # reset between tests, whatever the scope
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    assert client.wait_for_run(client.start_run().short_id, poll_interval=1, timeout=20).passed
    assert qatech_emulator.runs == ["r00001"]

def test_scope():
    import os
    same = SEEN[0] == SEEN[1]
    assert same is (os.environ["EXPECT"] == "session"), SEEN
"""


@pytest.mark.parametrize("scope", ["function", "session"])
def test_scopes_and_the_reset_between_tests(
    scope: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(f"[pytest]\nqatech_emulator_scope = {scope}\n")
    pytester.makepyfile(test_user=SCOPES)
    monkeypatch.setenv("EXPECT", scope)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed")
def test_each_xdist_worker_has_its_own_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
import pytest
from qatech_orchestration import QATechClient

@pytest.mark.parametrize("n", range(8))
def test_start_once(n, qatech_emulator):
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    assert client.wait_for_run(client.start_run(test_plan_short_id=f"pln_{n}").short_id, timeout=20).passed
    qatech_emulator.assert_started_once(test_plan_short_id=f"pln_{n}")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=8)


def test_the_fixtures_token_is_in_no_report(pytester: pytest.Pytester, tmp_path: Path) -> None:
    leak_file = tmp_path / "token.txt"
    pytester.makepyfile(
        test_user=f"""
from qatech_orchestration import QATechClient

def test_fails_loudly(qatech_emulator):
    open({str(leak_file)!r}, "w").write(qatech_emulator.token)
    client = QATechClient(qatech_emulator.token, base_url=qatech_emulator.base_url)
    run = client.start_run()
    print(qatech_emulator, client, qatech_emulator.starts)
    qatech_emulator.assert_started(2)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "--showlocals")
    result.assert_outcomes(failed=1)
    token = leak_file.read_text()
    assert token.startswith("qatech-test-")
    report = "\n".join(result.outlines + result.errlines)
    assert "QA.tech was asked to start 1 run(s), 2 expected" in report
    assert token not in report


def test_importing_the_package_does_not_import_pytest() -> None:
    import subprocess
    import sys

    code = "import sys, qatech_orchestration, qatech_orchestration.testing; print('pytest' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_docs_show_the_example_test_as_it_runs() -> None:
    root = Path(__file__).resolve().parents[2]
    example = (root / "tests" / "examples" / "test_post_etl_pipeline.py").read_text()
    assert f"```python\n{example}```" in (root / "docs" / "testing.md").read_text(), "paste the file into the page"
