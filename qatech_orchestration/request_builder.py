"""Request bodies for QA.tech, built from the one request model and validated before anything is sent.

Every face (the client, the CLI, the Airflow operators, the Dagster ops, checks and component) goes through
:func:`build_start_run_body` and :func:`build_rerun_body`, so bad input is rejected the same way
everywhere, with a :class:`~qatech_orchestration.errors.QATechValidationError` that names the field and
what is allowed. The fields themselves are declared once, in :mod:`qatech_orchestration.request_model`.

This module imports nothing heavy (no ``requests``): DAG files may import it at parse time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qatech_orchestration.request_model import (
    RERUN,
    START_RUN,
    TEST_CASES_FILTERS,
    StartRunFields,
    resolve_failed_only,
    unsent_github_fields,
)
from qatech_orchestration.validation import describe, fail

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger(__name__)

#: The keyword arguments of :func:`build_start_run_body`, in the order users see them documented.
START_RUN_FIELDS = START_RUN.names


def build_start_run_body(**fields: Unpack[StartRunFields]) -> dict[str, Any]:
    """Return the JSON body of ``POST /run`` for these fields, validated.

    Fields left as ``None`` are left out of the body (never sent as null); no arguments gives ``{}``
    (QA.tech then runs the project's default test plan with ``trigger="API"``).

    ``applications`` and ``notifications`` items may be the API's own camelCase dicts (as pasted from
    QA.tech's documentation) or :class:`ApplicationOverride` / :class:`SlackNotification` objects.
    The Git fields (``actor``, ``branch``, ``commit_hash``, ``commit_message``, ``repository``) are only
    sent with ``trigger="GITHUB"``; otherwise QA.tech ignores them, so they are dropped with a warning.

    Raises:
        QATechValidationError: naming the field and what is allowed.
    """
    body = START_RUN.check_values(fields)  # everything is checked, dropped fields included
    dropped = unsent_github_fields(fields)
    if dropped:
        log.warning(
            "QA.tech ignores %s unless trigger='GITHUB'; they are not sent (trigger is %s).",
            ", ".join(sorted(dropped)),
            fields.get("trigger") or "API by default",
        )
        unsent = {START_RUN[name].api_name for name in dropped}
        body = {key: value for key, value in body.items() if key not in unsent}
    return body


def build_rerun_body(
    *,
    failed_only: bool | None = None,
    project_test_case_ids: Sequence[str] | None = None,
    project_short_id: str | None = None,
) -> dict[str, Any]:
    """Return the JSON body of ``POST /run/{shortId}`` (rerun).

    By default only the failed, skipped and errored test cases are rerun (``failed_only=None`` means True
    unless ``project_test_case_ids`` is given); ``failed_only=False`` reruns every test case;
    ``project_test_case_ids`` (UUIDs) reruns just those. The two filters are mutually exclusive.
    """
    only_failed = resolve_failed_only(failed_only, project_test_case_ids)
    if only_failed and project_test_case_ids is not None:
        raise fail("failed_only", "failed_only and project_test_case_ids are mutually exclusive; give one of them")
    return RERUN.check_values(
        {
            "failed_only": True if only_failed else None,
            "project_test_case_ids": project_test_case_ids,
            "project_short_id": project_short_id,
        }
    )


def check_test_cases_filter(value: Any) -> str | None:
    """The ``testCases`` query of ``GET /run/{shortId}``: ``None``, ``"failed"`` or ``"all"``."""
    if value is None:
        return None
    if value not in TEST_CASES_FILTERS:
        raise fail("test_cases", f"{describe(value)} is not allowed; use None, 'failed' or 'all'")
    return str(value)
