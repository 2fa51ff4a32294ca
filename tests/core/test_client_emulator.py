"""The client against the emulator over real loopback HTTP."""

from __future__ import annotations

import socket

import pytest

from qatech_orchestration import (
    QATechAuthError,
    QATechBadResponseError,
    QATechClient,
    QATechConnectionError,
    QATechNotFoundError,
    QATechPermissionError,
    QATechQuotaError,
    QATechRunFailed,
    QATechServerError,
    QATechValidationError,
    QATechWaitTimeout,
    judge_run,
    raise_for_outcome,
)
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN


def _run_to_end(client: QATechClient, **fields: object):  # type: ignore[no-untyped-def]
    started = client.start_run(**fields)  # type: ignore[arg-type]
    return started, client.wait_for_run(started.short_id, poll_interval=0.01, timeout=10, run_url=started.url)


def test_passed_run(client: QATechClient, emulator: QATechEmulator) -> None:
    started, status = _run_to_end(client, test_plan_short_id="pln_smoke")
    assert started.url.endswith(f"/runs/{started.short_id}")
    assert status.passed and status.status == "COMPLETED" and status.result == "PASSED"
    assert status.url == started.url
    assert len(status.test_cases) == started.test_count == 3
    assert judge_run(status).ok
    # INITIATED, then the outcome: two reads with polls_to_finish=2
    reads = emulator.requests_to("get_run")
    assert len(reads) == 2 and all(r.query == {"testCases": "all"} for r in reads)
    assert all(r.authorized for r in emulator.requests)


def test_failed_run_names_failing_test_cases(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("FAILED", failing={"Checkout": "Pay button missing"})
    emulator.project.default_outcome.test_names  # noqa: B018 - the default names stay untouched
    started, status = _run_to_end(client)
    assert status.result == "FAILED"
    with pytest.raises(QATechRunFailed) as info:
        raise_for_outcome(status)
    assert started.url in str(info.value)
    assert info.value.status is status
    assert info.value.run_short_id == started.short_id


def test_failed_run_lists_the_failing_case_and_its_title(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("FAILED", failing={"Export report as CSV": "Export button returned HTTP 500"})
    _, status = _run_to_end(client)
    outcome = judge_run(status)
    assert not outcome.ok
    assert "Export report as CSV: Export button returned HTTP 500" in outcome.message
    assert "Sign in" not in outcome.message


@pytest.mark.parametrize(("name", "status_value"), [("ERROR", "ERROR"), ("CANCELLED", "CANCELLED")])
def test_error_and_cancelled_runs_fail(
    name: str, status_value: str, client: QATechClient, emulator: QATechEmulator
) -> None:
    emulator.script_outcome(name)
    _, status = _run_to_end(client)
    assert status.status == status_value and status.is_terminal
    assert not judge_run(status).ok


def test_skipped_run_warns_or_fails(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("SKIPPED")
    _, status = _run_to_end(client)
    outcome = judge_run(status)
    assert outcome.ok and outcome.warning and "skipped" in outcome.warning
    assert not judge_run(status, fail_on_skipped=True).ok


def test_outcome_per_test_plan(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("FAILED", test_plan_short_id="pln_checkout")
    assert _run_to_end(client, test_plan_short_id="pln_checkout")[1].result == "FAILED"
    assert _run_to_end(client, test_plan_short_id="pln_smoke")[1].result == "PASSED"
    assert _run_to_end(client, test_plan_short_id="pln_checkout")[1].result == "FAILED"


def test_wait_times_out_on_a_run_that_never_finishes(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER")
    started = client.start_run()
    with pytest.raises(QATechWaitTimeout) as info:
        client.wait_for_run(started.short_id, poll_interval=0.01, timeout=0.1, run_url=started.url)
    assert started.url in str(info.value)
    assert "goes on" in str(info.value)
    assert len(emulator.requests_to("get_run")) >= 2


def test_unknown_status_is_never_success(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("PAUSED")
    started = client.start_run()
    with pytest.raises(QATechWaitTimeout, match="PAUSED"):
        client.wait_for_run(started.short_id, poll_interval=0.01, timeout=0.1)
    status = client.get_run(started.short_id)
    assert not status.is_known and not status.is_terminal and not status.passed
    assert not judge_run(status).ok


def test_rerun_failed_only(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("FAILED", failing={"Sign in": "Login form missing", "Checkout": "x"})
    first, _ = _run_to_end(client)
    rerun = client.rerun(first.short_id, failed_only=True)
    assert rerun.short_id != first.short_id
    assert rerun.test_count == 2  # the two failed test cases, not the one that passed
    assert rerun.test_plan is None
    status = client.wait_for_run(rerun.short_id, poll_interval=0.01, timeout=10)
    assert status.passed
    assert emulator.requests_to("rerun")[0].body == {"failedOnly": True}


def test_rerun_chosen_test_cases(client: QATechClient, emulator: QATechEmulator) -> None:
    first, _ = _run_to_end(client)
    case_id = emulator.project.runs[first.short_id].test_cases[0].project_test_case_id
    rerun = client.rerun(first.short_id, project_test_case_ids=[case_id])
    assert rerun.test_count == 1


def test_rerun_of_passed_run_with_failed_only_is_400(client: QATechClient) -> None:
    first, _ = _run_to_end(client)
    with pytest.raises(QATechValidationError) as info:
        client.rerun(first.short_id, failed_only=True)
    assert info.value.status_code == 400
    assert "Nothing to rerun" in str(info.value)


def test_unknown_run_is_404(client: QATechClient) -> None:
    with pytest.raises(QATechNotFoundError) as info:
        client.get_run("nope42")
    assert info.value.status_code == 404 and "not found" in info.value.message


def test_wrong_token_is_401(emulator: QATechEmulator) -> None:
    other = "qtk_live_wrongwrongwrongwrong"
    with QATechClient(other, base_url=emulator.base_url) as bad, pytest.raises(QATechAuthError) as info:
        bad.start_run()
    assert info.value.status_code == 401
    assert other not in str(info.value)
    assert emulator.project.runs == {}


def test_other_project_is_403(emulator: QATechEmulator) -> None:
    with (
        QATechClient(TOKEN, base_url=emulator.base_url, project_short_id="proj_other") as c,
        pytest.raises(QATechPermissionError),
    ):
        c.start_run()


def test_unknown_test_plan_is_404() -> None:
    with QATechEmulator(token=TOKEN, test_plans={"pln_smoke": "Smoke"}) as emu:
        client = QATechClient(TOKEN, base_url=emu.base_url)
        with pytest.raises(QATechNotFoundError, match="pln_other"):
            client.start_run(test_plan_short_id="pln_other")
        assert client.start_run(test_plan_short_id="pln_smoke").test_plan.name == "Smoke"  # type: ignore[union-attr]


def test_inaccessible_slack_channel_is_400_with_channel_named() -> None:
    with QATechEmulator(token=TOKEN, slack_channels={"C0478ABCDEF"}) as emu:
        client = QATechClient(TOKEN, base_url=emu.base_url)
        with pytest.raises(QATechValidationError, match="C0123FAIL42") as info:
            client.start_run(notifications=[{"type": "slack", "channel": "C0123FAIL42"}])
        assert info.value.status_code == 400


def test_usage_limit_402_is_a_quota_error(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.inject_fault(
        "start_run",
        status=402,
        message="Organization has reached usage limit. Upgrade your account to continue.",
    )
    with pytest.raises(QATechQuotaError, match="Upgrade your account"):
        client.start_run()
    assert len(emulator.requests_to("start_run")) == 1


def test_get_retried_through_transient_faults(client: QATechClient, emulator: QATechEmulator) -> None:
    started = client.start_run()
    emulator.inject_fault("get_run", status=503, times=2)
    emulator.inject_fault("get_run", status=429, headers={"Retry-After": "0"})
    emulator.inject_fault("get_run", drop="before")
    status = client.wait_for_run(started.short_id, poll_interval=0.01, timeout=10)
    assert status.passed
    # 503, 503, 429 are refused unprocessed; the dropped read was processed (INITIATED) before its
    # answer was lost, so one more read reaches the outcome.
    assert len(emulator.requests_to("get_run")) == 2 + 1 + 1 + 1


def test_start_not_resent_when_answer_lost_mid_response(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.inject_fault("start_run", drop="mid")
    with pytest.raises((QATechConnectionError, QATechBadResponseError)) as info:
        client.start_run()
    assert info.value.retryable is False
    assert len(emulator.requests_to("start_run")) == 1
    assert len(emulator.project.runs) == 1  # the run exists: re-sending would have started a second


def test_start_malformed_answer_is_a_bad_response(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.inject_fault("start_run", malformed=True)
    with pytest.raises(QATechBadResponseError, match="not JSON"):
        client.start_run()
    assert len(emulator.requests_to("start_run")) == 1


def test_start_read_timeout_not_resent(emulator: QATechEmulator) -> None:
    emulator.inject_fault("start_run", delay=1.0)
    with (
        QATechClient(TOKEN, base_url=emulator.base_url, connect_timeout=2, read_timeout=0.2) as c,
        pytest.raises(QATechConnectionError, match="not re-sent"),
    ):
        c.start_run()
    assert len(emulator.requests_to("start_run")) == 1


def test_connection_refused_start_is_retried_then_fails() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on the port now: every attempt is refused before a byte leaves
    sleeps: list[float] = []
    c = QATechClient(TOKEN, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2, sleep=sleeps.append)
    with pytest.raises(QATechConnectionError) as info:
        c.start_run()
    assert info.value.retryable is True  # nothing was sent, so a later attempt is safe
    assert len(sleeps) == 2


def test_server_error_html_page_on_get(client: QATechClient, emulator: QATechEmulator) -> None:
    started = client.start_run()
    emulator.inject_fault("get_run", html=True, status=502, times=5)
    with pytest.raises(QATechServerError, match="502 Bad Gateway"):
        client.get_run(started.short_id)
