"""The client against precise mocked answers (``responses``): status mapping, retries, headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from qatech_orchestration import (
    QATechAuthError,
    QATechBadResponseError,
    QATechClient,
    QATechConnectionError,
    QATechError,
    QATechNotFoundError,
    QATechPermissionError,
    QATechQuotaError,
    QATechRateLimitError,
    QATechServerError,
    QATechValidationError,
    __version__,
)
from tests.conftest import TOKEN

BASE = "https://api.qa.tech/v1"
STARTED = {
    "success": True,
    "run": {
        "id": "5b0c1e0e-0000-4000-8000-000000000001",
        "shortId": "abc123",
        "url": "https://app.qa.tech/projects/p/results/abc123",
        "testCount": 5,
        "testPlan": {"name": "Smoke", "shortId": "pln_abc123"},
    },
}
STATUS = {"id": "5b0c", "shortId": "abc123", "status": "RUNNING", "result": None, "runTestCases": []}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def api(sleeps: Sleeps) -> QATechClient:
    return QATechClient(TOKEN, sleep=sleeps, max_retries=3)


def _every_text(exc: BaseException) -> str:
    return " ".join([str(exc), repr(exc), *map(str, exc.args), str(vars(exc))])


@responses.activate
def test_start_run_sends_body_headers_and_parses_answer(api: QATechClient) -> None:
    responses.post(
        f"{BASE}/run",
        json=STARTED,
        match=[
            matchers.json_params_matcher({"testPlanShortId": "pln_abc123"}),
            matchers.header_matcher(
                {
                    "Authorization": f"Bearer {TOKEN}",
                    "User-Agent": f"qatech-orchestration/{__version__}",
                    "Content-Type": "application/json",
                }
            ),
        ],
    )
    run = api.start_run(test_plan_short_id="pln_abc123")
    assert run.short_id == "abc123"
    assert run.url == STARTED["run"]["url"]
    assert run.test_count == 5
    assert run.test_plan is not None and run.test_plan.short_id == "pln_abc123"


@responses.activate
def test_empty_start_sends_empty_object(api: QATechClient) -> None:
    responses.post(f"{BASE}/run", json=STARTED, match=[matchers.json_params_matcher({})])
    assert api.start_run().short_id == "abc123"


@responses.activate
def test_project_short_id_in_post_body_and_get_query(sleeps: Sleeps) -> None:
    api = QATechClient(TOKEN, project_short_id="proj_acme", sleep=sleeps)
    responses.post(f"{BASE}/run", json=STARTED, match=[matchers.json_params_matcher({"projectShortId": "proj_acme"})])
    responses.get(
        f"{BASE}/run/abc123",
        json=STATUS,
        match=[matchers.query_param_matcher({"projectShortId": "proj_acme", "testCases": "failed"})],
    )
    responses.post(
        f"{BASE}/run/abc123",
        json=STARTED,
        match=[matchers.json_params_matcher({"failedOnly": True, "projectShortId": "proj_acme"})],
    )
    assert api.start_run().short_id == "abc123"
    assert api.get_run("abc123", test_cases="failed").short_id == "abc123"
    assert api.rerun("abc123", failed_only=True).short_id == "abc123"
    assert len(responses.calls) == 3  # each matched its matcher (body or query) exactly once


@pytest.mark.parametrize(("base_url", "hinted"), [("https://qa.example.com", True), (BASE, False)])
@responses.activate
def test_a_404_hints_at_v1_when_the_base_url_lacks_it(base_url: str, hinted: bool) -> None:
    responses.get(f"{base_url}/run/abc123", status=404, body="Not Found")
    with QATechClient(TOKEN, base_url=base_url) as client, pytest.raises(QATechNotFoundError) as info:
        client.get_run("abc123")
    hint = f"base_url {base_url} has no /v1 path; QA.tech's API root is {BASE}"
    assert (hint in str(info.value)) is hinted and info.value.status_code == 404
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, QATechValidationError),
        (401, QATechAuthError),
        (402, QATechQuotaError),
        (403, QATechPermissionError),
        (404, QATechNotFoundError),
        (500, QATechServerError),
        (502, QATechServerError),
    ],
)
@responses.activate
def test_each_documented_status_maps_to_its_exception(status: int, cls: type[QATechError], api: QATechClient) -> None:
    message = {
        402: "Organization has reached usage limit. Upgrade your account to continue.",
    }.get(status, f"server says {status}")
    responses.post(f"{BASE}/run", status=status, json={"message": message})
    with pytest.raises(cls) as info:
        api.start_run()
    error = info.value
    assert error.status_code == status
    assert error.message == message
    assert error.method == "POST" and error.path == "/run"
    assert message in str(error) and f"HTTP {status}" in str(error)
    assert TOKEN not in _every_text(error)
    assert len(responses.calls) == 1  # a start is never retried once it may have arrived


@responses.activate
def test_legacy_status_text_and_html_error_bodies_are_read(api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", status=403, json={"statusText": "Organization is suspended"})
    with pytest.raises(QATechPermissionError, match="Organization is suspended"):
        api.get_run("abc123")
    responses.post(f"{BASE}/run", status=400, body="<html><body><h1>Bad   request</h1></body></html>")
    with pytest.raises(QATechValidationError, match="Bad request"):
        api.start_run()


@responses.activate
def test_get_is_retried_on_5xx_then_succeeds(api: QATechClient, sleeps: Sleeps) -> None:
    for code in (500, 502, 503):
        responses.get(f"{BASE}/run/abc123", status=code, json={"message": "busy"})
    responses.get(f"{BASE}/run/abc123", json=STATUS)
    assert api.get_run("abc123").status == "RUNNING"
    assert len(responses.calls) == 4
    assert len(sleeps.calls) == 3
    # exponential backoff with jitter: each delay within [ceiling/2, ceiling]
    for n, delay in enumerate(sleeps.calls, start=1):
        ceiling = min(1.0 * 2 ** (n - 1), 30.0)
        assert ceiling / 2 <= delay <= ceiling


@responses.activate
def test_get_retries_are_bounded(api: QATechClient, sleeps: Sleeps) -> None:
    responses.get(f"{BASE}/run/abc123", status=504, json={"message": "gateway timeout"})
    with pytest.raises(QATechServerError) as info:
        api.get_run("abc123")
    assert info.value.status_code == 504
    assert len(responses.calls) == 4  # 1 + max_retries
    assert len(sleeps.calls) == 3


@responses.activate
def test_429_honours_retry_after(api: QATechClient, sleeps: Sleeps) -> None:
    responses.get(f"{BASE}/run/abc123", status=429, json={"message": "slow down"}, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/run/abc123", json=STATUS)
    api.get_run("abc123")
    assert sleeps.calls == [7.0]


@responses.activate
def test_429_retry_after_is_capped(sleeps: Sleeps) -> None:
    api = QATechClient(TOKEN, sleep=sleeps, retry_after_max=60)
    responses.get(f"{BASE}/run/abc123", status=429, headers={"Retry-After": "86400"})
    responses.get(f"{BASE}/run/abc123", json=STATUS)
    api.get_run("abc123")
    assert sleeps.calls == [60.0]


@responses.activate
def test_429_exhausted_raises_rate_limit_error(api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", status=429, json={"message": "slow down"})
    with pytest.raises(QATechRateLimitError):
        api.get_run("abc123")
    assert len(responses.calls) == 4


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
@responses.activate
def test_client_errors_are_not_retried_even_for_get(status: int, api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", status=status, json={"message": "no"})
    with pytest.raises(QATechError):
        api.get_run("abc123")
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@responses.activate
def test_start_and_rerun_are_never_retried_on_http_errors(status: int, api: QATechClient) -> None:
    responses.post(f"{BASE}/run", status=status, json={"message": "x"})
    responses.post(f"{BASE}/run/abc123", status=status, json={"message": "x"})
    with pytest.raises(QATechError):
        api.start_run()
    with pytest.raises(QATechError):
        api.rerun("abc123")
    assert len(responses.calls) == 2


@responses.activate
def test_get_retried_on_connection_error_and_timeout(api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", body=requests.exceptions.ConnectionError("reset"))
    responses.get(f"{BASE}/run/abc123", body=requests.exceptions.ReadTimeout("slow"))
    responses.get(f"{BASE}/run/abc123", json=STATUS)
    assert api.get_run("abc123").short_id == "abc123"
    assert len(responses.calls) == 3


@responses.activate
def test_start_not_retried_after_read_timeout(api: QATechClient) -> None:
    responses.post(f"{BASE}/run", body=requests.exceptions.ReadTimeout("slow"))
    responses.post(f"{BASE}/run", json=STARTED)
    with pytest.raises(QATechConnectionError) as info:
        api.start_run()
    assert "may have reached QA.tech" in str(info.value)
    assert info.value.retryable is False
    assert len(responses.calls) == 1


@responses.activate
def test_start_retried_when_connection_never_established(api: QATechClient) -> None:
    responses.post(f"{BASE}/run", body=requests.exceptions.ConnectTimeout("no route"))
    responses.post(f"{BASE}/run", json=STARTED)
    assert api.start_run().short_id == "abc123"
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"success": True},
        {"success": True, "run": {"id": "x", "url": "u", "testCount": 1}},
        {"success": True, "run": {"id": "x", "shortId": 5, "url": "u", "testCount": 1}},
        [1, 2],
    ],
)
@responses.activate
def test_start_answer_without_documented_shape_is_a_bad_response(payload: Any, api: QATechClient) -> None:
    responses.post(f"{BASE}/run", json=payload)
    with pytest.raises(QATechBadResponseError) as info:
        api.start_run()
    assert "a run may have started" in str(info.value)
    assert info.value.retryable is False
    assert len(responses.calls) == 1


@responses.activate
def test_non_json_2xx_is_a_bad_response(api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(QATechBadResponseError, match="not JSON"):
        api.get_run("abc123")


@responses.activate
def test_status_answer_missing_keys_is_a_bad_response(api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", json={"id": "x", "shortId": "abc123", "status": "RUNNING"})
    with pytest.raises(QATechBadResponseError, match="runTestCases"):
        api.get_run("abc123")


@responses.activate
def test_get_run_parses_test_cases(api: QATechClient) -> None:
    case = {
        "id": "c1",
        "shortId": "tc1",
        "name": "Checkout",
        "status": "COMPLETED",
        "result": "FAILED",
        "resultTitle": "Pay button missing",
        "evaluationThought": "The button was not rendered",
        "promptGoal": "Buy a thing",
        "promptExamples": None,
    }
    responses.get(
        f"{BASE}/run/abc123",
        json={**STATUS, "status": "COMPLETED", "result": "FAILED", "runTestCases": [case]},
        match=[matchers.query_param_matcher({"testCases": "all"})],
    )
    status = api.get_run("abc123", test_cases="all")
    assert status.is_terminal and not status.passed
    assert [c.summary() for c in status.failed_test_cases] == ["Checkout: Pay button missing"]
    assert status.failed_test_cases[0].evaluation_thought == "The button was not rendered"
    json.dumps(status.to_dict())  # serializable for XCom and metadata


def test_bad_arguments_fail_before_any_request() -> None:
    with responses.RequestsMock() as mock:
        api = QATechClient(TOKEN)
        with pytest.raises(QATechValidationError, match="run_short_id"):
            api.get_run("../../admin")
        with pytest.raises(QATechValidationError, match="test_cases"):
            api.get_run("abc123", test_cases="passed")
        with pytest.raises(QATechValidationError, match="mutually exclusive"):
            api.rerun("abc123", failed_only=True, project_test_case_ids=["3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"])
        assert len(mock.calls) == 0


@pytest.mark.parametrize("token", ["", "   ", f"{TOKEN}\n", None])
def test_bad_token_is_rejected_without_echoing_it(token: Any) -> None:
    with pytest.raises(QATechValidationError) as info:
        QATechClient(token)
    assert info.value.field == "api_token"
    if token:
        assert TOKEN not in _every_text(info.value)


def test_repr_never_shows_the_token() -> None:
    api = QATechClient(TOKEN, project_short_id="proj_acme")
    assert TOKEN not in repr(api) and TOKEN not in str(api)
    assert "proj_acme" in repr(api)


@responses.activate
def test_server_message_echoing_the_token_is_redacted(api: QATechClient) -> None:
    responses.get(f"{BASE}/run/abc123", status=401, json={"message": f"Invalid key {TOKEN}"})
    with pytest.raises(QATechAuthError) as info:
        api.get_run("abc123")
    assert TOKEN not in _every_text(info.value)
    assert "***" in str(info.value)
