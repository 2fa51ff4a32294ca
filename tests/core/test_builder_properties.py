"""Property-based tests of the request builder: every valid input gives a body that validates against
QA.tech's OpenAPI file; every invalid one raises the validation error naming the field, and sends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qatech_orchestration import QATechClient, QATechValidationError, build_rerun_body, build_start_run_body
from tests.conftest import TOKEN
from tests.openapi import request_schema, validate

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ID_CHARS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=24)
_SLUG = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=24)

#: Strings a hostile or careless caller may pass: very long, unicode, control characters, JSON fragments.
HOSTILE = st.one_of(
    st.text(min_size=1, max_size=200),
    st.text(min_size=2000, max_size=6000),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=20),
    st.sampled_from(
        ['{"applicationShortId": "app_x"}', "[]", '"', "\\u0000", "null", "{{ ds }}", "'; DROP TABLE runs;--"]
    ),
    st.text(alphabet="😀ÅßЖ中\u200b\u202e", min_size=1, max_size=50),
)


def short_id(prefix: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda i: f"{prefix}_{i}", _ID_CHARS),
        st.builds(lambda s, i: f"{prefix}-{s}_{i}", _SLUG, _ID_CHARS),
    )


def free_text() -> st.SearchStrategy[str]:
    """Any string with something in it: the API types these fields as plain strings."""
    return st.one_of(HOSTILE, st.text(min_size=1)).filter(lambda s: s.strip() != "")


def has_space_or_control(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 32 for ch in text)


# The schema types a URL as a plain string: scheme-less ones (localhost:3000) are sent as given.
URLS = st.builds(
    lambda scheme, host, path: f"{scheme}{host}.example.app/{path}",
    st.sampled_from(["http://", "https://", ""]),
    _SLUG.filter(lambda s: not s.startswith("-")),
    st.text(alphabet="abcdefghij0123456789/-_?=&:", max_size=40),
)
ENVIRONMENTS = st.one_of(
    st.builds(lambda url: {"url": url}, URLS),
    st.builds(lambda url, name: {"url": url, "name": name}, URLS, st.text()),
    st.builds(lambda env: {"shortId": env}, short_id("env")),
    st.builds(lambda env, name: {"shortId": env, "name": name}, short_id("env"), st.text()),
)


@st.composite
def applications(draw: st.DrawFn) -> list[dict[str, Any]]:
    apps = draw(st.lists(short_id("app"), min_size=1, max_size=4))  # the same one twice is the schema's to allow
    result = []
    for app in apps:
        item: dict[str, Any] = {"applicationShortId": app}
        if draw(st.booleans()):
            item["environment"] = draw(ENVIRONMENTS)
        if draw(st.booleans()):
            item["devicePresetShortId"] = draw(short_id("preset"))
        result.append(item)
    return result


NOTIFICATIONS = st.lists(
    st.builds(
        lambda channel, notify_on: {
            "type": "slack",
            "channel": channel,
            **({"notifyOn": notify_on} if notify_on else {}),
        },
        _ID_CHARS,
        st.sampled_from([None, "always", "failure"]),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def valid_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    optional = {
        "test_plan_short_id": short_id("pln"),
        "applications": applications(),
        "notifications": NOTIFICATIONS,
        "project_short_id": short_id("proj"),
        "test_case_ids": st.lists(free_text(), min_size=1, max_size=3),
        "parameters": st.fixed_dictionaries({}, optional={"configs": st.dictionaries(_ID_CHARS, st.integers()),
                                                           "configsByEnvironment": st.just({})}),
    }  # fmt: skip
    for name, strategy in optional.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    if draw(st.booleans()):
        fields["trigger"] = "GITHUB"
        for name in ("actor", "branch", "commit_hash", "commit_message", "repository"):
            if draw(st.booleans()):
                fields[name] = draw(st.one_of(st.text(), HOSTILE))  # plain strings, empty ones included
    elif draw(st.booleans()):
        fields["trigger"] = "API"
    return fields


@SETTINGS
@given(valid_fields())
def test_every_valid_input_gives_a_body_that_validates_against_the_spec(fields: dict[str, Any]) -> None:
    body = build_start_run_body(**fields)
    validate(body, request_schema("/run", "post"))
    json.dumps(body)  # serializable, whatever the strings hold
    assert None not in body.values()
    if "test_plan_short_id" in fields:
        assert body["testPlanShortId"] == fields["test_plan_short_id"]
    if fields.get("trigger") == "GITHUB" and "branch" in fields:
        assert body["branch"] == fields["branch"]  # free text goes through untouched
    if "applications" in fields:
        assert [a["applicationShortId"] for a in body["applications"]] == [
            a["applicationShortId"] for a in fields["applications"]
        ]


#: For each field: values that must be rejected, hostile strings included.
INVALID: dict[str, st.SearchStrategy[Any]] = {
    "test_plan_short_id": st.one_of(HOSTILE.filter(lambda s: not s.startswith("pln")), st.integers(), st.just({})),
    "project_short_id": st.one_of(HOSTILE.filter(lambda s: not s.startswith("proj")), st.just(["proj_a"])),
    "trigger": st.one_of(HOSTILE.filter(lambda s: s not in ("API", "GITHUB")), st.just(1)),
    "applications": st.one_of(
        st.builds(lambda apps: json.dumps(apps), applications()),  # a JSON string instead of a list
        st.builds(lambda t: [{"applicationShortId": t}], HOSTILE.filter(lambda s: not s.startswith("app"))),
        st.builds(lambda u: [{"applicationShortId": "app_a", "environment": {"url": u}}],
                  st.one_of(st.just(""), HOSTILE.filter(has_space_or_control))),
        st.builds(lambda k: [{"applicationShortId": "app_a", k: {}}],
                  HOSTILE.filter(lambda s: s not in ("applicationShortId", "environment", "devicePresetShortId"))),
        st.just([{"applicationShortId": "app_a", "environment": {}}]),
        st.just({"app_a": {"environment": {"url": "https://x.example.app"}}}),
    ),
    "notifications": st.one_of(
        st.just([]),
        st.builds(lambda c: [{"type": "slack", "channel": c}], st.text(alphabet=" \t\n\x00", max_size=5)),
        st.builds(lambda t: [{"type": t, "channel": "C1"}], HOSTILE.filter(lambda s: s != "slack")),
        st.builds(lambda n: [{"type": "slack", "channel": "C1", "notifyOn": n}],
                  HOSTILE.filter(lambda s: s not in ("always", "failure"))),
        st.builds(json.dumps, NOTIFICATIONS),
    ),
    "test_case_ids": st.one_of(st.just([]), st.builds(json.dumps, st.lists(_ID_CHARS, min_size=1))),
    "parameters": st.one_of(
        HOSTILE, st.just({"config": {}}), st.just({"configs": "x"}), st.just({"configs": {"cfg_a": float("nan")}}),
        st.just({"configs": {"cfg_a": object()}}),
    ),
}  # fmt: skip


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(INVALID)))
def test_every_invalid_input_names_the_field_and_sends_nothing(data: st.DataObject, field: str) -> None:
    fields = data.draw(valid_fields())
    fields[field] = data.draw(INVALID[field])
    if field != "trigger" and fields.get("trigger") not in (None, "API", "GITHUB"):
        fields.pop("trigger")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        client = QATechClient(TOKEN, base_url="https://api.qa.tech/v1")
        with pytest.raises(QATechValidationError) as info:
            client.start_run(**fields)
        assert len(mock.calls) == 0
    assert info.value.field is not None
    assert info.value.field.split("[")[0].split(".")[0] == field, (info.value.field, field)
    assert str(info.value).startswith(info.value.field)
    assert TOKEN not in str(info.value)


@SETTINGS
@given(
    failed_only=st.booleans(),
    ids=st.one_of(st.none(), st.lists(st.uuids().map(str), min_size=1, max_size=5)),
)
def test_rerun_body_properties(failed_only: bool, ids: list[str] | None) -> None:
    if failed_only and ids is not None:
        with pytest.raises(QATechValidationError, match="mutually exclusive"):
            build_rerun_body(failed_only=failed_only, project_test_case_ids=ids)
        return
    body = build_rerun_body(failed_only=failed_only, project_test_case_ids=ids)
    validate(body, request_schema("/run/{shortId}", "post"))
    assert body.get("failedOnly", False) == (failed_only and ids is None)


@SETTINGS
@given(value=HOSTILE)
def test_hostile_rerun_ids_are_rejected(value: str) -> None:
    with pytest.raises(QATechValidationError) as info:
        build_rerun_body(project_test_case_ids=[value])
    assert info.value.field == "project_test_case_ids[0]"
