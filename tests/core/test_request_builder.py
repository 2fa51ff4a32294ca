"""The request builder: documented examples, typed objects, and one test per validation rule."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration import (
    ApplicationOverride,
    ExistingEnvironment,
    PreviewEnvironment,
    QATechValidationError,
    SlackNotification,
    build_rerun_body,
    build_start_run_body,
)
from qatech_orchestration.request_model import START_RUN
from tests.openapi import request_schema, schema_for, validate

EXAMPLES = json.loads((Path(__file__).parents[1] / "fixtures" / "start_run_examples.json").read_text())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_documented_examples_are_reproduced_exactly(name: str) -> None:
    example = EXAMPLES[name]
    body = build_start_run_body(**example["builder"])
    assert body == example["documented"]
    # Same keys in the same order as the documentation shows them, once serialized.
    assert json.dumps(body, sort_keys=True) == json.dumps(example["documented"], sort_keys=True)
    validate(body, request_schema("/run", "post"))


def test_no_arguments_gives_empty_body() -> None:
    assert build_start_run_body() == {}


def test_none_fields_are_left_out_never_sent_as_null() -> None:
    body = build_start_run_body(test_plan_short_id="pln_abc123", applications=None, trigger=None)
    assert body == {"testPlanShortId": "pln_abc123"}
    assert None not in body.values()


def test_typed_objects_give_the_same_body_as_api_dicts() -> None:
    typed = build_start_run_body(
        test_plan_short_id="pln_abc123",
        applications=[
            ApplicationOverride("app_gXeBl2", PreviewEnvironment("https://pr-123.example.app", "PR-123")),
            ApplicationOverride("app_mK9pR4", ExistingEnvironment("env_aB3xY9")),
        ],
    )
    assert typed == EXAMPLES["preview_environment_two_applications"]["documented"]
    slack = build_start_run_body(
        test_plan_short_id="pln_abc123",
        notifications=[
            SlackNotification("C0478ABCDEF", "always"),
            SlackNotification("C0123FAIL42", "failure"),
        ],
    )
    assert slack == EXAMPLES["slack_notifications"]["documented"]


def test_github_fields_are_sent_with_trigger_github() -> None:
    body = build_start_run_body(
        trigger="GITHUB",
        actor="octocat",
        branch="feature/x",
        commit_hash="a" * 40,
        commit_message="Fix the totals\n\nLong body",
        repository="acme/dashboard",
    )
    assert body == {
        "trigger": "GITHUB",
        "actor": "octocat",
        "branch": "feature/x",
        "commitHash": "a" * 40,
        "commitMessage": "Fix the totals\n\nLong body",
        "repository": "acme/dashboard",
    }
    validate(body, request_schema("/run", "post"))


@pytest.mark.parametrize("trigger", [None, "API"])
def test_github_fields_are_dropped_with_a_warning_without_trigger_github(
    trigger: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="qatech_orchestration"):
        body = build_start_run_body(trigger=trigger, branch="main", commit_hash="abc")
    assert "branch" not in body and "commitHash" not in body
    assert any("branch, commit_hash" in r.getMessage() and "GITHUB" in r.getMessage() for r in caplog.records)


def test_newer_spec_fields_are_sent() -> None:
    body = build_start_run_body(
        project_short_id="proj-acme_x1Y2",
        test_case_ids=["tc_1", "tc_2"],
        parameters={"configs": {"cfg_login": {"user": "qa"}}, "configsByEnvironment": {}},
    )
    assert body == {
        "projectShortId": "proj-acme_x1Y2",
        "testCaseIds": ["tc_1", "tc_2"],
        "parameters": {"configs": {"cfg_login": {"user": "qa"}}, "configsByEnvironment": {}},
    }


def _error(**fields: Any) -> QATechValidationError:
    with pytest.raises(QATechValidationError) as info:
        build_start_run_body(**fields)
    return info.value


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"trigger": "api"}, "trigger", "'API' or 'GITHUB'"),
        ({"trigger": "MANUAL"}, "trigger", "'API' or 'GITHUB'"),
        ({"test_plan_short_id": "abc123"}, "test_plan_short_id", "pln_<id>"),
        ({"test_plan_short_id": "pln_"}, "test_plan_short_id", "pln_abc123"),
        ({"test_plan_short_id": "app_abc"}, "test_plan_short_id", "not a pln short ID"),
        ({"test_plan_short_id": 123}, "test_plan_short_id", "expected a string"),
        ({"project_short_id": "project_1"}, "project_short_id", "proj_<id>"),
        ({"applications": [{"applicationShortId": "gXeBl2"}]}, "applications[0].applicationShortId", "app_"),
        ({"applications": [{"environment": {"url": "https://x.io"}}]}, "applications[0]", "required"),
        (
            {"applications": [{"applicationShortId": "app_a", "devicePresetShortId": "iphone"}]},
            "applications[0].devicePresetShortId",
            "preset_",
        ),
        (
            {"applications": [{"applicationShortId": "app_a", "environment": {"shortId": "prod"}}]},
            "applications[0].environment.shortId",
            "env_",
        ),
        (
            {"applications": [{"applicationShortId": "app_a", "environment": {}}]},
            "applications[0].environment",
            "exactly one of 'url'",
        ),
        (
            {
                "applications": [
                    {
                        "applicationShortId": "app_a",
                        "environment": {"url": "https://x.io", "shortId": "env_a"},
                    }
                ]
            },
            "applications[0].environment",
            "exactly one of 'url'",
        ),
        (
            {"applications": [{"applicationShortId": "app_a", "environment": {"url": ""}}]},
            "applications[0].environment.url",
            "must not be empty",
        ),
        (
            {"applications": [{"applicationShortId": "app_a", "environment": {"url": "https://x.io/a b"}}]},
            "applications[0].environment.url",
            "whitespace",
        ),
        (
            {"applications": [{"applicationShortId": "app_a", "environmnet": {"url": "https://x.io"}}]},
            "applications[0]",
            "unknown key 'environmnet'; did you mean 'environment'?",
        ),
        (
            {"applications": [{"application_short_id": "app_a"}]},
            "applications[0]",
            "unknown key 'application_short_id'",
        ),
        (
            {"applications": '[{"applicationShortId": "app_a"}]'},
            "applications",
            "looks like JSON text",
        ),
        ({"applications": {"app_a": {}}}, "applications", "expected a list"),
        ({"notifications": []}, "notifications", "must not be empty"),
        ({"notifications": [{"type": "teams", "channel": "C1"}]}, "notifications[0].type", "'slack'"),
        ({"notifications": [{"channel": "C1"}]}, "notifications[0].type", "'slack'"),
        (
            {"notifications": [{"type": "slack", "channel": ""}]},
            "notifications[0].channel",
            "must not be empty",
        ),
        ({"notifications": [{"type": "slack"}]}, "notifications[0].channel", "required"),
        (
            {"notifications": [{"type": "slack", "channel": "C1", "notifyOn": "never"}]},
            "notifications[0].notifyOn",
            "'always' or 'failure'",
        ),
        (
            {"notifications": [{"type": "slack", "channel": "C1", "notify_on": "always"}]},
            "notifications[0]",
            "unknown key 'notify_on'",
        ),
        ({"test_case_ids": []}, "test_case_ids", "must not be empty"),
        ({"parameters": {"config": {}}}, "parameters", "did you mean 'configs'?"),
        ({"trigger": "GITHUB", "repository": 42}, "repository", "expected a string"),
    ],
)
def test_validation_error_names_the_field_and_the_fix(fields: dict[str, Any], field: str, says: str) -> None:
    error = _error(**fields)
    assert error.field == field
    assert str(error).startswith(field)
    assert says in str(error)
    assert error.status_code is None  # raised before any request


def test_typed_environment_with_bad_url_is_rejected() -> None:
    error = _error(applications=[ApplicationOverride("app_a", PreviewEnvironment(""))])
    assert error.field == "applications[0].environment.url"


@pytest.mark.parametrize(
    "fields",
    [
        # QA.tech's published schema allows each of these; the model no longer refuses them (#8).
        {"applications": [{"applicationShortId": "app_a", "environment": {"url": "localhost:3000"}}]},
        {"applications": [{"applicationShortId": "app_a", "environment": {"shortId": "env_a", "name": "Staging"}}]},
        {"applications": [{"applicationShortId": "app_a"}, {"applicationShortId": "app_a"}]},
        {"trigger": "GITHUB", "repository": "group/subgroup/app", "actor": "", "branch": "", "commit_hash": ""},
        {"applications": [{"applicationShortId": "app_a", "environment": {"url": "https://x.io", "name": ""}}]},
    ],
)
def test_what_the_schema_allows_is_sent_as_given(fields: dict[str, Any]) -> None:
    body = build_start_run_body(**fields)
    validate(body, schema_for("RunRequest"))
    expected = {START_RUN[name].api_name: value for name, value in fields.items()}
    assert body == expected


def test_application_override_takes_the_api_dict_as_environment() -> None:
    body = build_start_run_body(applications=[ApplicationOverride("app_x", {"url": "https://x.io"})])
    assert body == {"applications": [{"applicationShortId": "app_x", "environment": {"url": "https://x.io"}}]}


def test_rerun_body() -> None:
    assert build_rerun_body() == {"failedOnly": True}  # RERUN_FAILED_ONLY_DEFAULT
    assert build_rerun_body(failed_only=True) == {"failedOnly": True}
    assert build_rerun_body(failed_only=False) == {}  # every test case
    ids = ["3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"]
    assert build_rerun_body(project_test_case_ids=ids) == {"projectTestCaseIds": ids}
    assert build_rerun_body(failed_only=True, project_short_id="proj_a") == {
        "failedOnly": True,
        "projectShortId": "proj_a",
    }
    validate(build_rerun_body(failed_only=True), schema_for("RerunRequest"))


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        (
            {"failed_only": True, "project_test_case_ids": ["3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"]},
            "failed_only",
            "mutually exclusive",
        ),
        ({"project_test_case_ids": ["tc_1"]}, "project_test_case_ids[0]", "not a UUID"),
        ({"project_test_case_ids": []}, "project_test_case_ids", "must not be empty"),
        ({"failed_only": "yes"}, "failed_only", "True or False"),
    ],
)
def test_rerun_validation(kwargs: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(QATechValidationError) as info:
        build_rerun_body(**kwargs)
    assert info.value.field == field
    assert says in str(info.value)
