"""One valid value for every field of the request model, and the body it must produce.

The face tests (tests/core, tests/airflow, tests/dagster) send every sample through each face. A field added
to the model without a sample here fails them: that is how a face that lacks a field is caught.
"""

from __future__ import annotations

from typing import Any

from qatech_orchestration.request_model import START_RUN

#: A value for every start-run field (trigger GITHUB, so that the Git fields are sent).
START_RUN_SAMPLE: dict[str, Any] = {
    "test_plan_short_id": "pln_faces_1a2B",
    "applications": [{"applicationShortId": "app_gXeBl2", "environment": {"url": "https://pr-1.example.app"}}],
    "notifications": [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}],
    "trigger": "GITHUB",
    "actor": "octocat",
    "branch": "feature/faces",
    "commit_hash": "0123456789abcdef0123456789abcdef01234567",
    "commit_message": "Check every face",
    "repository": "acme/app",
    "project_short_id": "proj_emulator",
    "test_case_ids": ["tc_login"],
    "parameters": {"configs": {"cfg_user": {"email": "qa@example.com"}}},
}

#: The body every face must send for START_RUN_SAMPLE.
START_RUN_SAMPLE_BODY: dict[str, Any] = {START_RUN[name].api_name: value for name, value in START_RUN_SAMPLE.items()}
