"""The one request model, and the core's faces tied to it: the builder, the client, the CLI, the emulator,
the HTTP settings and the generated reference in docs/request-model.md."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from qatech_orchestration import QATechClient, QATechValidationError, build_start_run_body
from qatech_orchestration.cli import build_parser, main, start_run_flag
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.request_model import (
    RERUN,
    START_RUN,
    STRICTER_THAN_SCHEMA,
    StartRunFields,
    markdown_reference,
)
from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS, HTTP_SETTING_NAMES, HTTP_SETTINGS, HttpSettings
from tests.conftest import TOKEN
from tests.openapi import request_schema, validate
from tests.request_samples import START_RUN_SAMPLE, START_RUN_SAMPLE_BODY

ROOT = Path(__file__).resolve().parents[2]


def test_every_field_has_a_sample_and_the_typed_kwargs_match_the_model() -> None:
    assert tuple(START_RUN_SAMPLE) == START_RUN.names
    assert tuple(get_type_hints(StartRunFields)) == START_RUN.names
    assert len(set(START_RUN.api_names)) == len(START_RUN.names)


def test_the_sample_builds_the_expected_body_and_it_validates_against_the_spec() -> None:
    body = build_start_run_body(**START_RUN_SAMPLE)
    assert body == START_RUN_SAMPLE_BODY
    validate(body, request_schema("/run", "post"))


def test_the_client_sends_every_field(emulator: QATechEmulator, client: QATechClient) -> None:
    client.start_run(**START_RUN_SAMPLE)
    (request,) = emulator.requests_to("start_run")
    assert request.body == START_RUN_SAMPLE_BODY


@pytest.mark.parametrize("name", START_RUN.names)
def test_the_emulator_refuses_a_bad_value_of_each_field_naming_it(name: str, emulator: QATechEmulator) -> None:
    import requests

    bad = {**START_RUN_SAMPLE_BODY, START_RUN[name].api_name: {"not": "valid"} if name != "parameters" else "x"}
    answer = requests.post(f"{emulator.base_url}/run", json=bad, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(START_RUN[name].api_name)
    assert len(emulator.project.runs) == 0


def test_the_emulator_refuses_an_unknown_key_with_the_closest_one(emulator: QATechEmulator) -> None:
    import requests

    answer = requests.post(
        f"{emulator.base_url}/run", json={"testPlanShortID": "pln_a"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 400 and "did you mean 'testPlanShortId'" in answer.json()["message"]


def test_every_field_has_a_cli_flag_and_the_cli_sends_it(
    emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    argv = ["--base-url", emulator.base_url, "--project-short-id", START_RUN_SAMPLE["project_short_id"], "start"]
    for name, value in START_RUN_SAMPLE.items():
        if name == "project_short_id":  # a global option: it applies to status and rerun too
            continue
        argv += [start_run_flag(name), json.dumps(value) if START_RUN[name].structured else value]
    assert main(argv) == 0
    (request,) = emulator.requests_to("start_run")
    assert request.body == START_RUN_SAMPLE_BODY
    assert "run_short_id=r00001" in capsys.readouterr().out


def test_cli_help_documents_every_field_with_the_model_doc() -> None:
    start = build_parser()._subparsers._group_actions[0].choices["start"]  # type: ignore[union-attr]
    helps = {flag: action.help for action in start._actions for flag in action.option_strings}
    for field in START_RUN:
        if field.name != "project_short_id":
            assert helps[start_run_flag(field.name)] == field.doc


def test_client_settings_are_the_one_set_of_http_settings() -> None:
    from qatech_orchestration.client_core import ClientOptions

    assert set(get_type_hints(ClientOptions)) == {"base_url", "project_short_id", *HTTP_SETTING_NAMES}
    assert QATechClient(TOKEN).settings == DEFAULT_HTTP_SETTINGS  # the defaults are HttpSettings'
    assert set(HTTP_SETTINGS) == set(HTTP_SETTING_NAMES)
    with pytest.raises(QATechValidationError, match="unknown key 'read_timout'; did you mean 'read_timeout'"):
        QATechClient(TOKEN, read_timout=5)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"read_timeout": float("nan")}, "read_timeout: must be a finite number of seconds > 0"),
        ({"connect_timeout": 0}, "connect_timeout: must be a finite number of seconds > 0"),
        ({"max_retries": -1}, "max_retries: must be a whole number >= 0"),
        ({"timeout": 5}, "unknown key 'timeout'; did you mean 'read_timeout'?"),
    ],
)
def test_bad_http_settings_name_the_setting(values: dict[str, Any], says: str) -> None:
    with pytest.raises(QATechValidationError, match=says.replace("?", r"\?")):
        HttpSettings.from_mapping(values, "settings")


def test_rerun_model_and_client_agree() -> None:
    parameters = inspect.signature(QATechClient.rerun).parameters
    assert {"failed_only", "project_test_case_ids"} <= set(parameters)
    assert parameters["failed_only"].default is None  # the model's default decides
    assert RERUN.names == ("failed_only", "project_test_case_ids", "project_short_id")


def test_every_stricter_rule_states_a_reason() -> None:
    assert all(rule.reason and rule.rule for rule in STRICTER_THAN_SCHEMA)


def test_docs_request_model_is_generated_from_the_model() -> None:
    assert (ROOT / "docs" / "request-model.md").read_text() == markdown_reference(), (
        "regenerate it: python -m qatech_orchestration.request_model > docs/request-model.md"
    )
