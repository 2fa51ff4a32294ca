"""Property-based: whatever the operator is given goes through the shared builder unchanged or is rejected
naming the field, before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider.operators.qatech import QATechStartRunOperator
from qatech_orchestration import QATechClient, QATechValidationError, build_start_run_body
from tests.conftest import TOKEN
from tests.core.test_builder_properties import INVALID, SETTINGS, valid_fields

BASE = "https://api.qa.tech/v1"
STARTED = {"success": True, "run": {"id": "u", "shortId": "abc123", "url": "https://app.qa.tech/r/abc123",
                                    "testCount": 1, "testPlan": None}}  # fmt: skip


@SETTINGS
@given(fields=valid_fields())
def test_operator_sends_exactly_what_the_builder_builds(fields: dict[str, Any]) -> None:
    operator = QATechStartRunOperator(task_id=f"t{abs(hash(json.dumps(fields, sort_keys=True))) % 10**8}", **fields)
    with responses.RequestsMock() as mock:
        mock.post(f"{BASE}/run", json=STARTED)
        assert operator._start(QATechClient(TOKEN)).short_id == "abc123"
        (call,) = mock.calls
    assert call.request.body is not None
    # A templated field that rendered to "" counts as not given (the operator's documented rule).
    assert json.loads(call.request.body) == build_start_run_body(
        **{k: (None if v == "" else v) for k, v in fields.items()}
    )


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(INVALID)))
def test_operator_rejects_bad_fields_before_sending(data: st.DataObject, field: str) -> None:
    fields = data.draw(valid_fields())
    fields[field] = data.draw(INVALID[field])
    if field != "trigger" and fields.get("trigger") not in (None, "API", "GITHUB"):
        fields.pop("trigger")
    operator = QATechStartRunOperator(task_id="t", **fields)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        with pytest.raises(QATechValidationError) as info:
            operator._start(QATechClient(TOKEN))
        assert len(mock.calls) == 0
    assert str(info.value.field).split("[")[0].split(".")[0] == field
