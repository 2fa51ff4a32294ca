"""The ``qatech-orchestration`` command line against the emulator."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from typing import Any

import pytest

from qatech_orchestration.cli import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_MAY_HAVE_STARTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    build_parser,
    main,
)
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.subprocesses import run


@pytest.fixture(autouse=True)
def _logging_as_in_a_new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line configures logging as a new process finds it: no handler, WARNING. (Airflow 2, when
    a test module imported it before, leaves a DEBUG console handler on stdout, which --json must not get.)"""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)


@pytest.fixture
def env(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> QATechEmulator:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    monkeypatch.setenv("QATECH_BASE_URL", emulator.base_url)
    return emulator


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err
    return code, out, err


def test_start_prints_short_id_and_url(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        "start",
        "--test-plan", "pln_smoke",
        "--application", "app_gXeBl2=https://pr-123.example.app",
        "--application", "app_mK9pR4=env_aB3xY9",
        "--notify-slack", "C0478ABCDEF:failure",
    )  # fmt: skip
    assert code == EXIT_OK
    run = next(iter(env.project.runs.values()))
    assert f"run_short_id={run.short_id}" in out and f"run_url={run.url}" in out
    assert env.requests_to("start_run")[0].body == {
        "testPlanShortId": "pln_smoke",
        "applications": [
            {"applicationShortId": "app_gXeBl2", "environment": {"url": "https://pr-123.example.app"}},
            {"applicationShortId": "app_mK9pR4", "environment": {"shortId": "env_aB3xY9"}},
        ],
        "notifications": [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}],
    }
    assert env.requests_to("get_run") == []  # no --wait, no polling


def test_start_wait_json_passed(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--json", "start", "--wait", "--poll-interval", "0.01")
    doc = json.loads(out)
    assert code == EXIT_OK == doc["exit_code"]
    assert doc["status"]["result"] == "PASSED"
    assert doc["run"]["short_id"] == doc["status"]["run_short_id"]


def test_github_fields_from_flags(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(
        capsys, "start", "--trigger", "GITHUB", "--branch", "main", "--commit-hash", "abc", "--repository", "acme/app",
        "--actor", "octocat", "--commit-message", "msg", "--test-case-id", "t1", "--parameters-json", '{"configs": {}}',
    )  # fmt: skip
    assert code == EXIT_OK
    assert env.requests_to("start_run")[0].body == {
        "trigger": "GITHUB", "actor": "octocat", "branch": "main", "commitHash": "abc", "commitMessage": "msg",
        "repository": "acme/app", "testCaseIds": ["t1"], "parameters": {"configs": {}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "extra", "expected"),
    [
        ("FAILED", [], EXIT_FAILED),
        ("ERROR", [], EXIT_FAILED),
        ("CANCELLED", [], EXIT_FAILED),
        ("SKIPPED", [], EXIT_OK),
        ("SKIPPED", ["--fail-on-skipped"], EXIT_FAILED),
        ("NEVER", ["--timeout", "0.1"], EXIT_TIMEOUT),
    ],
)
def test_wait_exit_codes(
    outcome: str, extra: list[str], expected: int, env: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    env.script_outcome(outcome)
    code, _out, err = _run(capsys, "start", "--wait", "--poll-interval", "0.01", *extra)
    assert code == expected
    if expected == EXIT_FAILED:
        assert "did not pass" in err or "skipped" in err
        run = next(iter(env.project.runs.values()))
        assert run.url in err


def test_status_wait_and_rerun_commands(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    env.script_outcome("FAILED")
    _run(capsys, "start")
    short_id = next(iter(env.project.runs))
    code, _, err = _run(capsys, "wait", short_id, "--poll-interval", "0.01")
    assert code == EXIT_FAILED and "Export report as CSV" in err
    code, out, _ = _run(capsys, "status", short_id)
    assert code == EXIT_OK and "COMPLETED/FAILED" in out
    code, out, _ = _run(capsys, "--json", "rerun", short_id, "--failed-only", "--wait", "--poll-interval", "0.01")
    assert code == EXIT_OK and json.loads(out)["status"]["result"] == "PASSED"


def test_validation_error_exit_2_sends_nothing(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "start", "--test-plan", "smoke")
    assert code == EXIT_USAGE and "test_plan_short_id" in err
    assert env.requests == []


def test_missing_token_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("QATECH_API_TOKEN", raising=False)
    code, _, err = _run(capsys, "status", "abc123")
    assert code == EXIT_USAGE and "QATECH_API_TOKEN" in err


def test_api_error_exit_3(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    env.inject_fault("start_run", status=402, message="Organization has reached usage limit. Upgrade your account.")
    code, _, err = _run(capsys, "start")
    assert code == EXIT_API and "HTTP 402" in err and "Upgrade your account" in err


def test_console_script_is_installed(env: QATechEmulator) -> None:
    exe = shutil.which("qatech-orchestration") or os.path.join(os.path.dirname(sys.executable), "qatech-orchestration")
    result = run(
        [exe, "--json", "start", "--wait", "--poll-interval", "0.01"],
        env={**os.environ, "QATECH_API_TOKEN": TOKEN, "QATECH_BASE_URL": env.base_url},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["result"] == "PASSED"
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["start", "--wait", "--timeout", "-1"], "--timeout: '-1' is not a finite number of seconds > 0"),
        (["start", "--wait", "--timeout", "nan"], "--timeout: 'nan' is not a finite number of seconds > 0"),
        (["start", "--wait", "--poll-interval", "0"], "--poll-interval: '0' is not a finite number of seconds > 0"),
        (["wait", "abc123", "--timeout", "inf"], "--timeout: 'inf' is not a finite number of seconds > 0"),
        (["start", "--parameters-json", '{"configs": {"cfg_a": NaN}}'], "parameters: is not plain JSON"),
        (["start", "--parameters-json", '{"configs": {"cfg_a": 1e999}}'], "parameters: is not plain JSON"),
        (
            ["--base-url", "htps://api.qa.tech/v1", "start"],
            "--base-url: 'htps://api.qa.tech/v1' is not a valid API root",
        ),
        (["--base-url", "http://qa.example.com/v1", "start"], "plain http:// to another machine"),
    ],
)
def test_every_flag_is_checked_before_anything_is_sent(
    argv: list[str], says: str, env: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    assert code == EXIT_USAGE
    _, err = capsys.readouterr()
    assert says in err
    assert "may have reached" not in err
    assert env.requests == []  # "nothing was sent" is true


def test_a_token_that_cannot_go_in_a_header_exits_2(
    env: QATechEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QATECH_API_TOKEN", "qtk_live_tøken_ünicode")
    code, _, err = _run(capsys, "status", "abc123")
    assert code == EXIT_USAGE and "api_token: contains characters that cannot go in an HTTP header" in err
    assert "tøken" not in err and env.requests == []


@pytest.mark.parametrize(
    ("setup", "argv", "expected"),
    [
        (lambda emu: None, ["start"], EXIT_OK),
        (lambda emu: emu.script_outcome("FAILED"), ["start", "--wait", "--poll-interval", "0.01"], EXIT_FAILED),
        (lambda emu: None, ["start", "--test-plan", "smoke"], EXIT_USAGE),
        # a 404 that lasts a poll interval (a run really gone; a single one is waited through)
        (lambda emu: emu.inject_fault("get_run", status=404, times=1000), ["start", "--wait", "--poll-interval",
                                                                            "0.01"], EXIT_API),
        (lambda emu: emu.script_outcome("NEVER"), ["start", "--wait", "--poll-interval", "0.01", "--timeout", "0.3"],
         EXIT_TIMEOUT),
        (lambda emu: emu.inject_fault("start_run", status=504), ["start"], EXIT_MAY_HAVE_STARTED),
    ],
)  # fmt: skip
def test_one_test_per_exit_code(
    setup: Any, argv: list[str], expected: int, env: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(env)
    code, out, err = _run(capsys, *argv)
    assert code == expected, err
    sent = len(env.requests_to("start_run"))
    assert sent == (0 if expected == EXIT_USAGE else 1)  # never more than one start
    if env.project.runs:  # the run ID line comes first, whatever happened next
        assert out.splitlines()[0] == f"run_short_id={next(iter(env.project.runs))}"
    if expected == EXIT_MAY_HAVE_STARTED:
        assert "a run may have started: check the dashboard before starting again" in err


def test_a_terminal_that_cannot_encode_the_plan_name_keeps_the_run_id() -> None:
    with QATechEmulator(token=TOKEN, test_plans={"pln_unicode_1": "Prüfplan ✓ 日本"}) as emulator:
        exe = shutil.which("qatech-orchestration") or os.path.join(
            os.path.dirname(sys.executable), "qatech-orchestration"
        )
        result = run(
            [exe, "start", "--test-plan", "pln_unicode_1"],
            text=False,
            env={**os.environ, "QATECH_API_TOKEN": TOKEN, "QATECH_BASE_URL": emulator.base_url,
                 "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"},
            timeout=60,
        )  # fmt: skip
    out = result.stdout.decode("ascii")
    assert result.returncode == EXIT_OK, result.stderr.decode("ascii", "replace")
    assert out.splitlines()[0] == "run_short_id=r00001"
    assert "Pr\\xfcfplan" in out  # shown escaped, not a traceback


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "-v", "--project-short-id", "proj_emulator", "start", "--test-plan", "pln_abc123"],
        ["start", "--test-plan", "pln_abc123", "--json", "-v", "--project-short-id", "proj_emulator"],
        ["--json", "start", "--project-short-id", "proj_emulator", "--test-plan", "pln_abc123", "-v"],
    ],
)
def test_global_options_before_or_after_the_command(
    argv: list[str], env: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(argv)
    assert (args.json, args.verbose, args.project_short_id) == (True, True, "proj_emulator")
    code, out, _ = _run(capsys, *argv)
    assert code == EXIT_OK
    assert json.loads(out)["run"]["short_id"] == "r00001"  # --json
    assert env.requests_to("start_run")[0].body == {"testPlanShortId": "pln_abc123", "projectShortId": "proj_emulator"}


def test_base_url_after_the_command_wins_over_the_environment(
    env: QATechEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QATECH_BASE_URL", "https://api.qa.tech/v1")  # would fail: no network here
    code, out, err = _run(capsys, "status", "r00001", "--base-url", env.base_url, "--json")
    assert code == EXIT_API and "HTTP 404" in json.loads(out)["message"], err  # the emulator answered
    assert [r.path for r in env.requests] == ["/v1/run/r00001"]


def test_an_option_after_the_command_does_not_reset_one_before_it(
    env: QATechEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--json", "start", "--test-plan", "pln_abc123")
    assert code == EXIT_OK and json.loads(out)["exit_code"] == EXIT_OK


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from qatech_orchestration import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"qatech-orchestration {__version__}"


@pytest.mark.parametrize(
    ("env_vars", "argv", "says"),
    [
        ({"QATECH_BASE_URL": "http://[::1/v1"}, ["start"], "QATECH_BASE_URL: 'http://[::1/v1' is not a valid URL"),
        ({}, ["start", "--base-url", "http://[::1/v1"], "--base-url: 'http://[::1/v1' is not a valid URL"),
        ({}, ["--base-url", "https://[::zz]/v1", "status", "abc123"], "--base-url: 'https://[::zz]/v1' "),
        ({}, ["--base-url", "https://a..b/v1", "start"], "--base-url: 'https://a..b/v1' has an invalid host name"),
        ({}, ["--base-url", "https://a%b/v1", "start"], "--base-url: 'https://a%b/v1' has an invalid host name"),
        ({}, ["--base-url", "https:///v1", "start"], "--base-url: 'https:///v1' is not a valid API root"),
        ({"QATECH_PROJECT_SHORT_ID": "project1"}, ["start"], "QATECH_PROJECT_SHORT_ID: 'project1' is not a proj"),
        ({}, ["start", "--application", "app_x=https://"], "environment.url: 'https://' has a scheme but no host"),
        ({}, ["start", "--application", "app_x=http://[::1"], "environment.url: 'http://[::1' is not a URL"),
        ({}, ["start", "--application", "{bad"], "argument --application: is not valid JSON"),
        ({}, ["start", "--notify-slack", '{"channel": '], "argument --notify-slack: is not valid JSON"),
        ({}, ["start", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_field_and_nothing_is_sent(
    env_vars: dict[str, str],
    argv: list[str],
    says: str,
    env: QATechEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env_vars.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == EXIT_USAGE, err
    assert out == "" and len(err.splitlines()) == 1 and says in err, err
    assert env.requests == []


def test_what_the_schema_allows_is_sent_as_given(env: QATechEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "start", "--application", "app_gXeBl2=localhost:3000")
    assert code == EXIT_OK, err
    body = env.requests_to("start_run")[0].body
    assert body["applications"][0]["environment"] == {"url": "localhost:3000"}


def test_a_malformed_base_url_never_shows_a_traceback() -> None:
    exe = shutil.which("qatech-orchestration") or os.path.join(os.path.dirname(sys.executable), "qatech-orchestration")
    result = run(
        [exe, "start", "--json"],
        env={**os.environ, "QATECH_API_TOKEN": TOKEN, "QATECH_BASE_URL": "http://[::1/v1"},
        timeout=60,
    )
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert json.loads(result.stdout)["message"].startswith(
        "error: QATECH_BASE_URL: 'http://[::1/v1' is not a valid URL"
    )
