"""The one place where request bodies for QA.tech are built and validated.

Every adapter (the client, the CLI, the Airflow operators, the Dagster ops and checks) goes through
:func:`build_start_run_body` and :func:`build_rerun_body`, so bad input is rejected the same way
everywhere, with a :class:`~qatech_orchestration.errors.QATechValidationError` that names the field and
what is allowed, before any request is sent.

This module imports nothing heavy (no ``requests``): DAG files may import it at parse time.
"""

from __future__ import annotations

import difflib
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from qatech_orchestration.errors import QATechValidationError
from qatech_orchestration.models import (
    ApplicationOverride,
    ExistingEnvironment,
    PreviewEnvironment,
    SlackNotification,
)

log = logging.getLogger(__name__)

TRIGGERS = ("API", "GITHUB")
NOTIFY_ON = ("always", "failure")
TEST_CASES_FILTERS = ("failed", "all")

#: The keyword arguments of :func:`build_start_run_body`, in the order users see them documented.
START_RUN_FIELDS = (
    "test_plan_short_id",
    "applications",
    "notifications",
    "trigger",
    "actor",
    "branch",
    "commit_hash",
    "commit_message",
    "repository",
    "project_short_id",
    "test_case_ids",
    "parameters",
)
#: The Git attribution fields QA.tech only honours with ``trigger="GITHUB"`` (snake_case -> API name).
GITHUB_FIELDS = {
    "actor": "actor",
    "branch": "branch",
    "commit_hash": "commitHash",
    "commit_message": "commitMessage",
    "repository": "repository",
}

_APP_KEYS = ("applicationShortId", "environment", "devicePresetShortId")
_ENV_KEYS = ("url", "name", "shortId")
_NOTIFICATION_KEYS = ("type", "channel", "notifyOn")
_PARAMETER_KEYS = ("configs", "configsByEnvironment")

# Short ID patterns from QA.tech's OpenAPI file: "<prefix>_<id>" or "<prefix>-<slug>_<id>".
_PREFIX_EXAMPLES = {
    "pln": "pln_abc123",
    "app": "app_gXeBl2",
    "env": "env_aB3xY9",
    "preset": "preset_abc123",
    "proj": "proj_abc123",
}
_RUN_SHORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _fail(field: str, message: str) -> QATechValidationError:
    return QATechValidationError(message, field=field)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_str(field: str, value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(field, f"expected a string, got {type(value).__name__} {_describe(value)}")
    if not allow_empty and not value.strip():
        raise _fail(field, "must not be empty")
    text: str = value
    return text


def check_short_id(field: str, raw: Any, prefix: str) -> str:
    """Validate a prefixed QA.tech short ID such as ``pln_abc123`` or ``pln-smoke-tests_abc123``."""
    value = _check_str(field, raw)
    if not re.fullmatch(rf"{re.escape(prefix)}(-.+_.+|_.+)", value, flags=re.DOTALL) or any(
        ch.isspace() or ord(ch) < 32 for ch in value
    ):
        raise _fail(
            field,
            f"{_describe(value)} is not a {prefix} short ID; expected '{prefix}_<id>' or "
            f"'{prefix}-<slug>_<id>' (e.g. {_PREFIX_EXAMPLES[prefix]!r}), as shown in QA.tech's dashboard",
        )
    return value


def check_run_short_id(raw: Any, field: str = "run_short_id") -> str:
    """Validate a run short ID before it is put in a URL path."""
    value = _check_str(field, raw)
    if not _RUN_SHORT_ID.fullmatch(value) or len(value) > 128:
        raise _fail(
            field,
            f"{_describe(value)} is not a QA.tech run short ID (letters, digits, '-' and '_' only, "
            "as returned by start_run, e.g. 'abc123')",
        )
    return value


def check_test_cases_filter(value: Any) -> str | None:
    if value is None:
        return None
    if value not in TEST_CASES_FILTERS:
        raise _fail("test_cases", f"{_describe(value)} is not allowed; use None, 'failed' or 'all'")
    return str(value)


def _check_keys(field: str, data: Mapping[Any, Any], allowed: Sequence[str]) -> None:
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise _fail(
                field,
                f"unknown key {str(key)!r}{suggestion} (allowed keys: {', '.join(allowed)})",
            )


def _check_list(field: str, value: Any, what: str) -> Sequence[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        extra = (
            " (it looks like JSON text: pass the parsed list, e.g. json.loads(...))"
            if isinstance(value, str) and value.lstrip().startswith(("[", "{"))
            else ""
        )
        raise _fail(field, f"expected a list of {what}, got {type(value).__name__}{extra}")
    return value


def _check_url(field: str, raw: Any) -> str:
    value = _check_str(field, raw)
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or value != value.strip():
        raise _fail(
            field,
            f"{_describe(value)} is not an absolute http(s) URL; expected e.g. 'https://pr-123.example.app'",
        )
    if any(ord(ch) < 32 or ch.isspace() for ch in value):
        raise _fail(field, f"{_describe(value)} contains whitespace or control characters")
    return value


def _environment_body(field: str, env: Any) -> dict[str, Any]:
    if isinstance(env, PreviewEnvironment | ExistingEnvironment):
        env = env.to_api()
    if not isinstance(env, Mapping):
        raise _fail(
            field,
            f"expected an object with 'url' (and optional 'name') or 'shortId', got {type(env).__name__}",
        )
    _check_keys(field, env, _ENV_KEYS)
    has_url, has_short_id = "url" in env, "shortId" in env
    if has_url == has_short_id:
        raise _fail(
            field,
            "give exactly one of 'url' (a preview environment) or 'shortId' (an existing env_... environment)",
        )
    if has_short_id:
        if "name" in env:
            raise _fail(f"{field}.name", "'name' only applies to a URL environment, not with 'shortId'")
        return {"shortId": check_short_id(f"{field}.shortId", env["shortId"], "env")}
    body = {"url": _check_url(f"{field}.url", env["url"])}
    if "name" in env and env["name"] is not None:
        body["name"] = _check_str(f"{field}.name", env["name"])
    return body


def _application_body(field: str, app: Any) -> dict[str, Any]:
    if isinstance(app, ApplicationOverride):
        app = app.to_api()
    if not isinstance(app, Mapping):
        raise _fail(
            field,
            "expected an application override such as {'applicationShortId': 'app_gXeBl2', "
            f"'environment': {{'url': 'https://...'}}}}, got {type(app).__name__}",
        )
    _check_keys(field, app, _APP_KEYS)
    if "applicationShortId" not in app:
        raise _fail(field, "'applicationShortId' is required (e.g. 'app_gXeBl2')")
    body: dict[str, Any] = {
        "applicationShortId": check_short_id(f"{field}.applicationShortId", app["applicationShortId"], "app")
    }
    if app.get("environment") is not None:
        body["environment"] = _environment_body(f"{field}.environment", app["environment"])
    if app.get("devicePresetShortId") is not None:
        body["devicePresetShortId"] = check_short_id(
            f"{field}.devicePresetShortId", app["devicePresetShortId"], "preset"
        )
    return body


def _notification_body(field: str, item: Any) -> dict[str, Any]:
    if isinstance(item, SlackNotification):
        item = item.to_api()
    if not isinstance(item, Mapping):
        raise _fail(
            field,
            f"expected a notification such as {{'type': 'slack', 'channel': 'C0478ABCDEF'}}, got {type(item).__name__}",
        )
    _check_keys(field, item, _NOTIFICATION_KEYS)
    if item.get("type") != "slack":
        raise _fail(f"{field}.type", f"{_describe(item.get('type'))} is not allowed; the only type is 'slack'")
    if "channel" not in item:
        raise _fail(f"{field}.channel", "is required: the Slack channel ID, e.g. 'C0478ABCDEF'")
    channel = _check_str(f"{field}.channel", item["channel"])
    if any(ch.isspace() or ord(ch) < 32 for ch in channel):
        raise _fail(f"{field}.channel", f"{_describe(channel)} is not a Slack channel ID (e.g. 'C0478ABCDEF')")
    body: dict[str, Any] = {"type": "slack", "channel": channel}
    if item.get("notifyOn") is not None:
        if item["notifyOn"] not in NOTIFY_ON:
            raise _fail(
                f"{field}.notifyOn",
                f"{_describe(item['notifyOn'])} is not allowed; use 'always' or 'failure'",
            )
        body["notifyOn"] = item["notifyOn"]
    return body


def _parameters_body(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(
            "parameters",
            f"expected an object with 'configs' and/or 'configsByEnvironment', got {type(value).__name__}",
        )
    _check_keys("parameters", value, _PARAMETER_KEYS)
    body: dict[str, Any] = {}
    for key in _PARAMETER_KEYS:
        if key in value and value[key] is not None:
            if not isinstance(value[key], Mapping):
                raise _fail(f"parameters.{key}", f"expected an object, got {type(value[key]).__name__}")
            body[key] = dict(value[key])
    return body


def build_start_run_body(
    *,
    test_plan_short_id: str | None = None,
    applications: Sequence[ApplicationOverride | Mapping[str, Any]] | None = None,
    notifications: Sequence[SlackNotification | Mapping[str, Any]] | None = None,
    trigger: str | None = None,
    actor: str | None = None,
    branch: str | None = None,
    commit_hash: str | None = None,
    commit_message: str | None = None,
    repository: str | None = None,
    project_short_id: str | None = None,
    test_case_ids: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
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
    body: dict[str, Any] = {}
    if trigger is not None:
        if trigger not in TRIGGERS:
            raise _fail("trigger", f"{_describe(trigger)} is not allowed; use 'API' or 'GITHUB'")
        body["trigger"] = trigger

    git_values = {
        "actor": actor,
        "branch": branch,
        "commit_hash": commit_hash,
        "commit_message": commit_message,
        "repository": repository,
    }
    given_git = {name: value for name, value in git_values.items() if value is not None}
    for name, value in given_git.items():
        _check_str(name, value, allow_empty=name == "commit_message")
    if given_git and trigger == "GITHUB":
        if "repository" in given_git and not re.fullmatch(r"[^/\s]+/[^/\s]+", given_git["repository"]):
            raise _fail("repository", f"{_describe(given_git['repository'])} is not 'owner/repo'")
        for name, value in given_git.items():
            body[GITHUB_FIELDS[name]] = value
    elif given_git:
        log.warning(
            "QA.tech ignores %s unless trigger='GITHUB'; they are not sent (trigger is %s).",
            ", ".join(sorted(given_git)),
            trigger or "API by default",
        )

    if test_plan_short_id is not None:
        body["testPlanShortId"] = check_short_id("test_plan_short_id", test_plan_short_id, "pln")

    if applications is not None:
        items = _check_list("applications", applications, "application overrides")
        body["applications"] = [_application_body(f"applications[{i}]", a) for i, a in enumerate(items)]
        seen: set[str] = set()
        for i, app in enumerate(body["applications"]):
            if app["applicationShortId"] in seen:
                raise _fail(
                    f"applications[{i}].applicationShortId",
                    f"{app['applicationShortId']!r} appears twice; give one override per application",
                )
            seen.add(app["applicationShortId"])

    if notifications is not None:
        items = _check_list("notifications", notifications, "Slack notifications")
        if not items:
            raise _fail(
                "notifications",
                "must not be empty (QA.tech rejects an empty list); leave it out to use the project's "
                "default Slack channel",
            )
        body["notifications"] = [_notification_body(f"notifications[{i}]", n) for i, n in enumerate(items)]

    if test_case_ids is not None:
        items = _check_list("test_case_ids", test_case_ids, "test case IDs")
        if not items:
            raise _fail("test_case_ids", "must not be empty; leave it out to run the whole test plan")
        body["testCaseIds"] = [_check_str(f"test_case_ids[{i}]", t) for i, t in enumerate(items)]

    if parameters is not None:
        body["parameters"] = _parameters_body(parameters)

    if project_short_id is not None:
        body["projectShortId"] = check_short_id("project_short_id", project_short_id, "proj")
    return body


def build_rerun_body(
    *,
    failed_only: bool = False,
    project_test_case_ids: Sequence[str] | None = None,
    project_short_id: str | None = None,
) -> dict[str, Any]:
    """Return the JSON body of ``POST /run/{shortId}`` (rerun).

    ``{}`` reruns every test case; ``failed_only=True`` reruns the failed, skipped and errored ones;
    ``project_test_case_ids`` (UUIDs) reruns just those. The two filters are mutually exclusive.
    """
    if not isinstance(failed_only, bool):
        raise _fail("failed_only", f"expected True or False, got {_describe(failed_only)}")
    body: dict[str, Any] = {}
    if project_test_case_ids is not None:
        if failed_only:
            raise _fail(
                "failed_only",
                "failed_only and project_test_case_ids are mutually exclusive; give one of them",
            )
        items = _check_list("project_test_case_ids", project_test_case_ids, "test case UUIDs")
        if not items:
            raise _fail("project_test_case_ids", "must not be empty; leave it out to rerun every test case")
        ids = []
        for i, value in enumerate(items):
            field = f"project_test_case_ids[{i}]"
            _check_str(field, value)
            try:
                uuid.UUID(value)
            except ValueError:
                raise _fail(
                    field,
                    f"{_describe(value)} is not a UUID; project test case IDs look like "
                    "'3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b'",
                ) from None
            if len(value) != 36:
                raise _fail(field, f"{_describe(value)} is not a UUID in its 36-character form")
            ids.append(value)
        body["projectTestCaseIds"] = ids
    elif failed_only:
        body["failedOnly"] = True
    if project_short_id is not None:
        body["projectShortId"] = check_short_id("project_short_id", project_short_id, "proj")
    return body
