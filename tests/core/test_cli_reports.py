"""The command line's report files: --junit-xml, --summary-markdown, and GitHub Actions' outputs and summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from qatech_orchestration.cli import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_MAY_HAVE_STARTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    main,
)
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.github_actions import format_outputs
from tests.conftest import TOKEN
from tests.mixed_run import COUNTS, FAILURES, MIXED, parse_github_output, read_junit

pytest.importorskip("xmlschema")


@pytest.fixture
def github(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """A simulated GitHub Actions step: the token and base URL, and its output and summary files (which
    earlier steps already wrote to)."""
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    monkeypatch.setenv("QATECH_BASE_URL", emulator.base_url)
    files = {"output": tmp_path / "github_output", "summary": tmp_path / "step_summary"}
    files["output"].write_text("earlier_step=1\n")
    files["summary"].write_text("# Build\n\nEarlier step's summary.\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(files["output"]))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files["summary"]))
    return files


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _no_token(*paths: Path) -> None:
    for path in paths:
        if path.exists():
            assert TOKEN not in path.read_text(errors="replace"), f"the token is in {path.name}"


def test_failed_run_in_github_actions_writes_outputs_summary_and_junit(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 22's acceptance: a FAILED run with 3 passed, 2 failed, 1 skipped, 1 errored test case."""
    emulator.script_outcome(MIXED)
    junit, markdown = tmp_path / "reports" / "qatech.xml", tmp_path / "qatech-summary.md"
    code, out, err = _run(capsys, "start", "--test-plan", "pln_checkout_1", "--wait", "--poll-interval", "0.01",
                          "--junit-xml", str(junit), "--summary-markdown", str(markdown))  # fmt: skip
    assert code == EXIT_FAILED, out + err
    (run,) = emulator.project.runs.values()
    assert len(emulator.requests_to("start_run")) == 1

    outputs = parse_github_output(github["output"].read_text())
    assert outputs == {
        "earlier_step": "1",
        "run_created": "true", "run_short_id": run.short_id, "run_url": run.url,
        "run_status": "COMPLETED", "run_result": "FAILED",
        **{f"test_cases_{kind}": str(count) for kind, count in COUNTS.items()},
    }  # fmt: skip

    summary = github["summary"].read_text()
    assert summary.startswith("# Build\n\nEarlier step's summary.\n")  # appended, not replaced
    ours = summary.removeprefix("# Build\n\nEarlier step's summary.\n")
    assert ours == markdown.read_text()  # --summary-markdown writes the same summary
    assert f"QA.tech run {run.short_id} (Test plan pln_checkout_1) did not pass" in ours
    for name, title in FAILURES.items():
        assert f"| {name} | ❌ FAILED | {title} |" in ours
    assert "**7 test case(s): 3 passed, 2 failed, 1 skipped, 1 errored**" in ours and run.url in ours

    suite, kinds = read_junit(junit)
    assert dict(kinds) == {"passed": 3, "failure": 2, "skipped": 1, "error": 1}
    assert {case.name for case in suite if any(r.type == "FAILED" for r in case.result)} == set(FAILURES)
    _no_token(github["output"], github["summary"], junit, markdown)
    assert TOKEN not in out + err


def test_a_timed_out_wait_still_writes_a_junit_file_that_says_so(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emulator.script_outcome("NEVER")
    junit = tmp_path / "qatech.xml"
    code, out, err = _run(capsys, "start", "--wait", "--poll-interval", "0.05", "--timeout", "0.4",
                          "--junit-xml", str(junit))  # fmt: skip
    assert code == EXIT_TIMEOUT, out + err
    suite, kinds = read_junit(junit)
    (run,) = emulator.project.runs.values()
    assert dict(kinds) == {"error": 4}  # 3 test cases still running, and the wait itself
    cases = {case.name: case for case in suite}
    (timeout,) = cases[f"QA.tech run {run.short_id}"].result
    assert timeout.type == "TIMED_OUT" and "did not finish within 0.4 s" in timeout.message
    outputs = parse_github_output(github["output"].read_text())
    assert outputs["run_status"] == "TIMED_OUT" and outputs["run_result"] == ""
    assert outputs["test_cases_not_finished"] == "3" and outputs["run_created"] == "true"
    assert "did not finish before the wait's timeout" in github["summary"].read_text()
    _no_token(junit, github["output"], github["summary"])


def test_an_api_error_while_waiting_is_in_the_junit_file(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_id = emulator.project.start_run({})["run"]["shortId"]
    emulator.inject_fault("get_run", status=403, message="Organization suspended")
    junit = tmp_path / "qatech.xml"
    code, out, err = _run(capsys, "wait", run_id, "--poll-interval", "0.05", "--junit-xml", str(junit))
    assert code == EXIT_API, out + err
    suite, kinds = read_junit(junit)
    assert dict(kinds) == {"error": 1}
    ((case,),) = [case.result for case in suite]
    assert case.type == "WAIT_FAILED" and "Organization suspended" in case.message and "403" in case.message
    _no_token(junit, github["output"], github["summary"])


def test_wait_and_rerun_write_reports_too(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emulator.script_outcome(MIXED)
    first = emulator.project.start_run({})["run"]["shortId"]
    junit = tmp_path / "wait.xml"
    code, _, _ = _run(capsys, "wait", first, "--poll-interval", "0.01", "--junit-xml", str(junit))
    assert code == EXIT_FAILED
    assert read_junit(junit)[0].tests == 7

    emulator.script_outcome("PASSED")  # the rerun of the 4 that did not pass passes
    junit = tmp_path / "rerun.xml"
    code, out, err = _run(capsys, "rerun", first, "--wait", "--poll-interval", "0.01", "--junit-xml", str(junit))
    assert code == EXIT_OK, out + err
    suite, kinds = read_junit(junit)
    assert dict(kinds) == {"passed": 4} and suite.name.startswith("QA.tech run ")  # a rerun names no plan
    outputs = parse_github_output(github["output"].read_text())
    assert outputs["run_result"] == "PASSED" and outputs["test_cases_total"] == "4"


def test_start_without_waiting_writes_what_is_known(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = _run(capsys, "start", "--test-plan", "pln_smoke")
    assert code == EXIT_OK
    (run,) = emulator.project.runs.values()
    outputs = parse_github_output(github["output"].read_text())
    assert outputs == {"earlier_step": "1", "run_created": "true", "run_short_id": run.short_id, "run_url": run.url}
    assert f"QA.tech run {run.short_id} (Test plan pln_smoke) started" in github["summary"].read_text()


def test_a_refused_start_sets_run_created_false(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.inject_fault("start_run", status=402, message="Usage limit reached")
    code, _, _ = _run(capsys, "start", "--wait")
    assert code == EXIT_API
    assert parse_github_output(github["output"].read_text()) == {"earlier_step": "1", "run_created": "false"}


def test_a_start_whose_outcome_is_unknown_says_so(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.inject_fault("start_run", status=502, message="Bad gateway")
    code, _, _ = _run(capsys, "start", "--wait")
    assert code == EXIT_MAY_HAVE_STARTED and len(emulator.requests_to("start_run")) == 1
    assert parse_github_output(github["output"].read_text()) == {"earlier_step": "1", "run_created": "unknown"}


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["start", "--junit-xml", "{tmp}/r.xml"], "--junit-xml"),  # no --wait: nothing to report
        (["start", "--wait", "--junit-xml", "{tmp}"], "--junit-xml"),  # a folder
        (["wait", "r00001", "--summary-markdown", "{tmp}/file/sub.md"], "--summary-markdown"),  # under a file
    ],
)
def test_unusable_report_paths_are_refused_before_anything_is_sent(
    argv: list[str], flag: str, github: dict[str, Path], emulator: QATechEmulator,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    (tmp_path / "file").write_text("")
    code, _, err = _run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == EXIT_USAGE and flag in err
    assert emulator.project.stats()["requests"] == {"start_run": 0, "get_run": 0, "rerun": 0}


def test_an_unwritable_report_is_a_warning_and_the_exit_code_stays_the_runs(
    github: dict[str, Path], emulator: QATechEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-folder" / "summary"))
    code, _, err = _run(capsys, "start", "--wait", "--poll-interval", "0.01")
    assert code == EXIT_OK and "warning: could not write $GITHUB_STEP_SUMMARY" in err


def test_a_value_with_a_line_break_cannot_set_other_outputs() -> None:
    text = format_outputs({"run_url": "https://x\nrun_result=PASSED", "run_result": "FAILED"})
    assert parse_github_output(text) == {"run_url": "https://x\nrun_result=PASSED", "run_result": "FAILED"}
