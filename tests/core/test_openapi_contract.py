"""What we send and what the emulator answers, validated against QA.tech's own OpenAPI file."""

from __future__ import annotations

import jsonschema
import pytest

from qatech_orchestration import QATechClient, build_rerun_body, build_start_run_body
from qatech_orchestration.emulator import QATechEmulator
from tests.mixed_run import MIXED
from tests.openapi import request_schema, response_schema, schema_for, validate


def test_schema_helper_rejects_what_the_spec_rejects() -> None:
    """Guard against a validator that accepts anything."""
    with pytest.raises(jsonschema.ValidationError):
        validate({"testPlanShortId": "abc"}, request_schema("/run", "post"))
    with pytest.raises(jsonschema.ValidationError):
        validate({"success": True, "run": {"id": "x"}}, response_schema("/run", "post"))
    with pytest.raises(jsonschema.ValidationError):
        validate(
            {"id": "x", "shortId": "y", "status": "RUNNING", "runTestCases": []},
            response_schema("/run/{shortId}", "get"),
        )


@pytest.mark.parametrize("outcome", ["PASSED", "FAILED", "SKIPPED", "ERROR", "CANCELLED", "MIXED"])
@pytest.mark.parametrize("test_cases", [None, "failed", "all"])
def test_emulator_answers_validate_against_the_spec(
    outcome: str, test_cases: str | None, emulator: QATechEmulator, client: QATechClient
) -> None:
    # MIXED: a test case of every kind (skipped and errored ones too), as the results tests script it
    emulator.script_outcome(MIXED if outcome == "MIXED" else outcome, times=2)
    body = build_start_run_body(
        test_plan_short_id="pln-smoke-tests_abc123",
        applications=[
            {
                "applicationShortId": "app_gXeBl2",
                "environment": {"url": "https://pr-1.example.app", "name": "PR-1"},
            },
            {
                "applicationShortId": "app_mK9pR4",
                "environment": {"shortId": "env_aB3xY9"},
                "devicePresetShortId": "preset_x",
            },
        ],
        notifications=[{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}],
    )
    validate(body, request_schema("/run", "post"))
    session = client._session  # the same authenticated session, to see raw JSON
    started = session.post(f"{emulator.base_url}/run", json=body, timeout=5)
    assert started.status_code == 200
    validate(started.json(), response_schema("/run", "post"))
    short_id = started.json()["run"]["shortId"]
    params = {"testCases": test_cases} if test_cases else {}
    for _ in range(3):  # INITIATED, then terminal, then terminal again
        answer = session.get(f"{emulator.base_url}/run/{short_id}", params=params, timeout=5)
        assert answer.status_code == 200
        validate(answer.json(), response_schema("/run/{shortId}", "get"))
        if test_cases is None:
            assert answer.json()["runTestCases"] == []
    # A passed run has nothing failed to rerun: rerun all of it.
    rerun_body = build_rerun_body(failed_only=outcome not in ("PASSED", "CANCELLED"))
    validate(rerun_body, request_schema("/run/{shortId}", "post"))
    rerun = session.post(f"{emulator.base_url}/run/{short_id}", json=rerun_body, timeout=5)
    assert rerun.status_code == 200, rerun.text
    validate(rerun.json(), response_schema("/run/{shortId}", "post"))


@pytest.mark.parametrize("status", ["400", "401", "402", "403", "404", "500"])
def test_emulator_error_bodies_validate(status: str, emulator: QATechEmulator, client: QATechClient) -> None:
    emulator.inject_fault("start_run", status=int(status), message="nope")
    answer = client._session.post(f"{emulator.base_url}/run", json={}, timeout=5)
    assert answer.status_code == int(status)
    validate(answer.json(), response_schema("/run", "post", status))
    assert answer.json() == {"message": "nope"}


def test_emulator_rejects_bodies_the_docs_reject(emulator: QATechEmulator, client: QATechClient) -> None:
    s = client._session
    bad_bodies = [
        {"notifications": []},
        {"trigger": "MANUAL"},
        {"testPlanShortId": "abc123"},
        {"applications": [{"applicationShortId": "app_a", "environment": {}}]},
        {"applications": [{"applicationShortId": "app_a", "environment": {"url": "x", "shortId": "env_a"}}]},
        {"notifications": [{"type": "slack", "channel": "C1", "notifyOn": "sometimes"}]},
        {"unknownField": 1},
    ]
    for body in bad_bodies:
        answer = s.post(f"{emulator.base_url}/run", json=body, timeout=5)
        assert answer.status_code == 400, body
        assert answer.json()["message"]
    answer = s.post(
        f"{emulator.base_url}/run", data="{not json", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert answer.status_code == 400
    assert emulator.project.runs == {}


def test_typed_models_match_spec_required_fields() -> None:
    """Every field the spec requires of a started run and a run test case is one our models read."""
    run_required = set(schema_for("Run")["required"])
    case_required = set(schema_for("RunTestCase")["required"])
    assert run_required == {"id", "shortId", "url", "testCount", "testPlan"}
    assert {"id", "shortId", "name", "status", "result", "resultTitle", "evaluationThought"} <= case_required
