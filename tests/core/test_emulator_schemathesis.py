"""The emulator against QA.tech's published OpenAPI file, with schemathesis.

What the schema forbids is refused (schemathesis' negative data must get a 4xx), every answer matches the
schema, and what the schema allows is accepted, unless one of the documented rules that are stricter than
the schema refuses it (``STRICTER_THAN_SCHEMA``, listed in docs/request-model.md): those findings, and only
those, are tolerated, each by its name below and checked against the request that was sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance  # here in every 4.x

from qatech_orchestration.emulator import DEFAULT_TOKEN, QATechEmulator
from qatech_orchestration.request_model import STRICTER_THAN_SCHEMA
from qatech_orchestration.validation import has_space_or_control
from tests.openapi import SPEC_PATH

# Bound now (its port is the schema's base URL, for every request schemathesis sends, its own re-sends
# included), served only while this module's tests run. Not the suite's guarded token: schemathesis prints
# failing requests (it filters the header, but still).
_EMULATOR = QATechEmulator(token=DEFAULT_TOKEN, polls_to_finish=1)
schema = schemathesis.openapi.from_path(SPEC_PATH).include(path_regex=r"^/run")  # what the emulator serves
schema.config.update(base_url=_EMULATOR.base_url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})


def _value_at(body: Any, path: str) -> Any:
    """``applications[0].environment.url`` in a JSON body (``None`` where there is nothing)."""
    node = body
    for name, index in re.findall(r"([A-Za-z]+)|\[(\d+)\]", path):
        if name and isinstance(node, dict):
            node = node.get(name)
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return None
    return node


def _blank_or_spaced(body: Any, path: str) -> bool:
    value = _value_at(body, path)
    return isinstance(value, str) and (not value or has_space_or_control(value))


#: The findings tolerated, by rule name: the 400 message that rule gives, and a check on what was sent.
TOLERATED: dict[str, tuple[str, Callable[[Any, str], bool]]] = {
    "unknown-keys": (r": unknown key [\x27\"]", lambda body, path: True),
    "no-space-in-short-ids": (r"(?i)shortid: (must not be empty|.* is not a \w+ short ID)", _blank_or_spaced),
    "one-environment": (r"give exactly one of 'url'", lambda body, path: isinstance(_value_at(body, path), dict)),
    "url-not-empty": (r"\.url: (must not be empty|.* contains whitespace)", _blank_or_spaced),
    "url-with-scheme-has-host": (r"\.url: .*(has a scheme but no host|is not a URL)", lambda body, path: True),
    "channel-not-empty": (r"\.channel: (must not be empty|.* is not a Slack channel ID)", _blank_or_spaced),
    "id-lists-not-empty": (r"(testCaseIds|projectTestCaseIds): must not be empty", lambda b, p: _value_at(b, p) == []),
    "test-case-uuids": (r"projectTestCaseIds\[\d+\]: (must not be empty|.* is not a UUID)", lambda body, path: True),
    "notifications-not-empty": (r"^notifications: must not be empty", lambda body, path: _value_at(body, path) == []),
    "failed-only-or-ids": (r"failedOnly and projectTestCaseIds cannot be used together", lambda body, path: True),
}


def test_every_tolerated_finding_is_a_documented_rule() -> None:
    assert set(TOLERATED) <= {rule.name for rule in STRICTER_THAN_SCHEMA}


def _tolerated(message: str, body: Any) -> str | None:
    path = message.split(": ", 1)[0]
    for name, (pattern, sent) in TOLERATED.items():
        if re.search(pattern, message) and sent(body, path):
            return name
    return None


@pytest.fixture(scope="module", autouse=True)
def _serving() -> Iterator[None]:
    with _EMULATOR:
        yield


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_emulator_conforms_to_the_published_schema(case: schemathesis.Case) -> None:
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code == 400:
        message = response.json()["message"]
        rule = _tolerated(message, case.body if isinstance(case.body, dict | list) else None)
        assert rule is not None, f"schema-valid {case.method} {case.path} refused: {message!r} (body {case.body!r})"
