"""Property-based: the start op's config maps 1:1 onto the shared builder; bad config names the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from dagster_resource import QATechResource, QATechStartRunConfig, qatech_start_run_op
from qatech_orchestration import build_start_run_body
from tests.conftest import TOKEN
from tests.core.test_builder_properties import INVALID, SETTINGS, valid_fields

BASE = "https://api.qa.tech/v1"
STARTED = {"success": True, "run": {"id": "u", "shortId": "abc123", "url": "https://app.qa.tech/r/abc123",
                                    "testCount": 1, "testPlan": None}}  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def _token_in_env() -> Iterator[None]:  # module-scoped: Hypothesis runs many examples per test function
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QATECH_API_TOKEN", TOKEN)
        yield


def run_start_op(config: QATechStartRunConfig) -> list[Any]:
    """Invoke the start op itself (direct invocation: fast enough for property tests)."""
    resource = QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"))
    with dg.build_op_context(resources={"qatech": resource}) as context:
        return list(qatech_start_run_op(context, config=config))


@SETTINGS
@given(fields=valid_fields())
def test_config_sends_exactly_what_the_builder_builds(fields: dict[str, Any]) -> None:
    config = QATechStartRunConfig(**fields)
    with responses.RequestsMock() as mock:
        mock.post(f"{BASE}/run", json=STARTED)
        (output,) = run_start_op(config)
        (call,) = mock.calls
    assert output.value == "abc123"
    assert call.request.body is not None
    assert json.loads(call.request.body) == build_start_run_body(**fields)


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(INVALID)))
def test_bad_config_names_the_field_and_sends_nothing(data: st.DataObject, field: str) -> None:
    fields = data.draw(valid_fields())
    fields[field] = data.draw(INVALID[field])
    if field != "trigger" and fields.get("trigger") not in (None, "API", "GITHUB"):
        fields.pop("trigger")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        try:
            config = QATechStartRunConfig(**fields)
        except Exception as exc:  # Dagster's own type checks (e.g. a JSON string for a list)
            assert field in str(exc)
            return
        with pytest.raises(dg.Failure) as info:
            run_start_op(config)
        assert len(mock.calls) == 0
    assert info.value.description is not None
    assert info.value.description.startswith(field)
    assert info.value.allow_retries is False  # bad input does not get better on a retry
