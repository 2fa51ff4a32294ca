"""The README's command line, core and emulator code, run as written against the emulator.

The blocks come from README.md itself (tests/readme.py); the Airflow and Dagster blocks run in
tests/airflow/test_readme_airflow.py and tests/dagster/test_readme_dagster.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.readme import README, RUN_BY, Shell, block, blocks, commands, not_run_reason, shell_env

#: The placeholder tokens the README writes: the emulator accepts them, so the commands run as written.
PLACEHOLDER_TOKENS = ("...", "<token>")


@pytest.fixture
def readme_emulator() -> Iterator[QATechEmulator]:
    # polls_to_finish=1: the README waits with QA.tech-like intervals (30 s); its runs end at the first read.
    with QATechEmulator(token="qtk-readme-0123456789", tokens=PLACEHOLDER_TOKENS, polls_to_finish=1) as emu:
        yield emu


def test_every_bash_and_python_block_is_run_or_says_why_not() -> None:
    found = [b for b in blocks() if b.lang in ("bash", "python")]
    assert len(found) >= 14
    for b in found:
        if b.key in RUN_BY:
            continue
        unexplained = [c for c in commands(b) if not_run_reason(c) is None] if b.lang == "bash" else [b.text]
        assert not unexplained, f"README.md:{b.line} ({b.section}, {b.lang}) is run by no test: {unexplained[:2]}"
    for key, test in RUN_BY.items():  # and nothing listed that is gone from the README
        assert block(*key), test
        if test.startswith("("):  # a block none of whose commands can run here: each has its reason
            assert all(not_run_reason(c) for c in commands(block(*key))), key


def test_links_are_absolute_for_the_package_index_page() -> None:
    """PyPI shows README.md without the repository around it: a relative link there leads nowhere."""
    targets = re.findall(r"\]\(([^)]+)\)", README.read_text())
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []


def test_the_core_in_python(readme_emulator: QATechEmulator) -> None:
    code = block("The core in Python", "python").text
    env = shell_env(QATECH_API_TOKEN="qtk-readme-0123456789", QATECH_BASE_URL=readme_emulator.base_url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    (run,) = readme_emulator.project.runs.values()
    assert result.stdout.split() == [run.short_id, run.url]  # print(run.short_id, run.url)
    assert readme_emulator.requests_to("start_run")[0].body == {
        "testPlanShortId": "pln_abc123",
        "applications": [
            {"applicationShortId": "app_gXeBl2", "environment": {"url": "https://pr-123.example.app", "name": "PR-123"}}
        ],
    }
    assert len(readme_emulator.requests_to("get_run")) == 1  # wait_for_run: done at the first read


#: Exit codes other than 0 that a README command has by design, and why.
EXPECTED_EXIT = {
    "qatech-orchestration wait abc123": (1, "abc123 is the emulator's failed run (rerun needs failed test cases), "
                                         "so waiting for it exits 1: the run finished without passing"),
}  # fmt: skip


def test_the_command_line(readme_emulator: QATechEmulator) -> None:
    readme_emulator.add_run("abc123", "FAILED", failing={"Checkout": "Pay button missing"})
    shell = Shell(shell_env(QATECH_BASE_URL=readme_emulator.base_url, CI_COMMIT_REF_NAME="feature/totals",
                            CI_COMMIT_SHA="9fceb02d0ae598e95dc970b74767f19372d61af8"))  # fmt: skip
    shell.env.pop("QATECH_API_TOKEN", None)  # the block exports it
    ran = []
    for command in commands(block("Command line", "bash")):
        result = shell.run(command)
        expected = next((code for start, (code, _) in EXPECTED_EXIT.items() if command.startswith(start)), 0)
        assert result.returncode == expected, f"{command}\n{result.stdout}\n{result.stderr}"
        ran.append((command.split()[:2], result))
    assert [words for words, _ in ran] == [
        ["export", "QATECH_API_TOKEN=..."], ["qatech-orchestration", "start"], ["qatech-orchestration", "start"],
        ["qatech-orchestration", "status"], ["qatech-orchestration", "rerun"], ["qatech-orchestration", "wait"],
    ]  # fmt: skip
    starts = readme_emulator.requests_to("start_run")
    assert [r.body for r in starts] == [
        {"testPlanShortId": "pln_abc123",
         "applications": [{"applicationShortId": "app_gXeBl2", "environment": {"url": "https://pr-123.example.app"}}],
         "notifications": [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}]},
        {"trigger": "GITHUB", "branch": "feature/totals", "commitHash": "9fceb02d0ae598e95dc970b74767f19372d61af8",
         "repository": "acme/app"},
    ]  # fmt: skip
    json_output = json.loads(ran[2][1].stdout)  # `... --json` after the command
    assert json_output["exit_code"] == 0
    assert readme_emulator.project.runs[json_output["run"]["short_id"]].request_body["trigger"] == "GITHUB"
    assert "Run abc123: COMPLETED/FAILED" in ran[3][1].stdout
    assert [r.path for r in readme_emulator.requests_to("rerun")] == ["/v1/run/abc123"]
    assert "Checkout: Pay button missing" in ran[5][1].stderr


def test_the_emulator_block_runs_and_exits_cleanly() -> None:
    """Run as a user runs it: a process of its own, whose stderr must stay empty when the ``with`` block ends
    while the client still holds its keep-alive connection."""
    code = block("The emulator", "python").text
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["COMPLETED/FAILED ['Checkout: Pay button missing']", "1"]
    # The wait's one warning that QA.tech stopped answering (it was back at the next read: that line is INFO, not
    # shown by Python's default logging), and nothing else (no "Exception in callback ... CancelledError").
    assert result.stderr.splitlines() == [
        "QA.tech is not answering while waiting for QA.tech run r00001: GET /run/r00001 -> HTTP 503: Injected fault; "
        "waiting on with backoff (up to 0.1 s between reads, 3600 s left)"
    ], result.stderr


def test_the_report_commands(readme_emulator: QATechEmulator, tmp_path: Path) -> None:
    readme_emulator.add_run("abc123", "FAILED", failing={"Checkout": "Pay button missing"})
    shell = Shell(shell_env(QATECH_API_TOKEN="qtk-readme-0123456789", QATECH_BASE_URL=readme_emulator.base_url))
    shell.env.pop("GITHUB_OUTPUT", None), shell.env.pop("GITHUB_STEP_SUMMARY", None)
    shell.run(f"cd {tmp_path}")
    codes = [shell.run(command).returncode for command in commands(block("Command line: JUnit XML, Markdown, "
                                                                         "GitHub Actions", "bash"))]  # fmt: skip
    assert codes[-2:] == [0, 1]  # the start passed; abc123 is a failed run, so waiting for it exits 1
    xml = (tmp_path / "reports" / "qatech.xml").read_text()  # the wait's file, written over the start's
    assert 'name="Checkout"' in xml and 'message="Pay button missing"' in xml
    summary = (tmp_path / "reports" / "qatech.md").read_text()  # the start's (the wait writes no Markdown)
    (started,) = [r for r in readme_emulator.project.runs if r != "abc123"]
    assert f"QA.tech run {started}" in summary and "passed" in summary
