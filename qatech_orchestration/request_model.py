"""The one declaration of what QA.tech's run endpoints take: for each field its Python name, API name,
JSON type, documentation and validation.

Every face derives from it or is tied to it by a test (``tests/core/test_request_model_faces.py``):
:func:`~qatech_orchestration.build_start_run_body`, ``QATechClient.start_run``, the command line's flags,
the Airflow operator's arguments, ``template_fields`` and docstring, the Dagster op config, the asset check
builder, the YAML component, and the emulator, which validates what it receives with this same model.

QA.tech's published schema (``tests/fixtures/qatech-openapi.json``) is the floor. Where this model is
stricter, the rule and its reason are in :data:`STRICTER_THAN_SCHEMA` (and in ``docs/request-model.md``,
generated from it).

Importing this module costs nothing (no ``requests``): DAG files import it at parse time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from qatech_orchestration.models import ApplicationOverride, SlackNotification
from qatech_orchestration.validation import (
    check_bool,
    check_json,
    check_keys,
    check_list,
    check_mapping,
    check_short_id,
    check_str,
    check_url,
    check_uuid,
    describe,
    fail,
    has_space_or_control,
)

log = logging.getLogger(__name__)

TRIGGERS = ("API", "GITHUB")
NOTIFY_ON = ("always", "failure")
TEST_CASES_FILTERS = ("failed", "all")

APPLICATION_KEYS = ("applicationShortId", "environment", "devicePresetShortId")
ENVIRONMENT_KEYS = ("url", "name", "shortId")
NOTIFICATION_KEYS = ("type", "channel", "notifyOn")
PARAMETER_KEYS = ("configs", "configsByEnvironment")


class StartRunFields(TypedDict, total=False):
    """The keyword arguments of a start (``build_start_run_body``, ``QATechClient.start_run``, ...).

    ``None`` means "not given": the key is left out of the body.
    """

    test_plan_short_id: str | None
    applications: Sequence[ApplicationOverride | Mapping[str, Any]] | None
    notifications: Sequence[SlackNotification | Mapping[str, Any]] | None
    trigger: str | None
    actor: str | None
    branch: str | None
    commit_hash: str | None
    commit_message: str | None
    repository: str | None
    project_short_id: str | None
    test_case_ids: Sequence[str] | None
    parameters: Mapping[str, Any] | None


@dataclass(frozen=True)
class RequestField:
    """One field of a request body.

    Attributes:
        name: the Python keyword (snake_case), as every face spells it.
        api_name: the JSON key QA.tech reads (camelCase).
        doc: one line for docstrings, Dagster descriptions and ``--help``.
        config_type: the JSON-shaped Python type for run config and YAML (``str``, ``bool``,
            ``list[str]``, ``list[dict[str, Any]]`` or ``dict[str, Any]``).
        check: ``(value, field_path) -> the JSON value to send``; raises ``QATechValidationError``.
        choices: the allowed values of an enum field.
        github_only: QA.tech honours the field only with ``trigger="GITHUB"``.
    """

    name: str
    api_name: str
    doc: str
    config_type: Any
    check: Callable[[Any, str], Any]
    choices: tuple[str, ...] = ()
    github_only: bool = False

    @property
    def structured(self) -> bool:
        """Lists and objects: JSON in run config, the CLI's ``--...-json`` flags, Airflow's JSON renderer."""
        return self.config_type not in (str, bool)


@dataclass(frozen=True)
class StricterRule:
    """A rule of this model that QA.tech's published schema does not state, and why it is kept.

    ``name`` is how tests refer to it (the emulator's schemathesis test tolerates exactly these findings).
    """

    name: str
    field: str
    rule: str
    reason: str


# ----------------------------------------------------------------------------------------------------
# Nested values
# ----------------------------------------------------------------------------------------------------


def _environment(value: Any, field: str) -> dict[str, Any]:
    if hasattr(value, "to_api"):
        value = value.to_api()
    env = check_mapping(value, field, "an object with 'url' (and optional 'name') or 'shortId'")
    check_keys(env, field, ENVIRONMENT_KEYS)
    if ("url" in env) == ("shortId" in env):
        raise fail(field, "give exactly one of 'url' (a preview environment) or 'shortId' (an existing env_...)")
    body: dict[str, Any] = {}
    if "shortId" in env:
        body["shortId"] = check_short_id(env["shortId"], f"{field}.shortId", prefix="env")
    else:
        body["url"] = check_url(env["url"], f"{field}.url")
    if env.get("name") is not None:
        body["name"] = check_str(env["name"], f"{field}.name")
    return body


def _application(value: Any, field: str) -> dict[str, Any]:
    if isinstance(value, ApplicationOverride):
        value = value.to_api()
    app = check_mapping(
        value,
        field,
        "an application override such as {'applicationShortId': 'app_gXeBl2', 'environment': {'url': 'https://...'}}",
    )
    check_keys(app, field, APPLICATION_KEYS)
    if "applicationShortId" not in app:
        raise fail(field, "'applicationShortId' is required (e.g. 'app_gXeBl2')")
    body: dict[str, Any] = {
        "applicationShortId": check_short_id(app["applicationShortId"], f"{field}.applicationShortId", prefix="app")
    }
    if app.get("environment") is not None:
        body["environment"] = _environment(app["environment"], f"{field}.environment")
    if app.get("devicePresetShortId") is not None:
        body["devicePresetShortId"] = check_short_id(
            app["devicePresetShortId"], f"{field}.devicePresetShortId", prefix="preset"
        )
    return body


def _applications(value: Any, field: str) -> list[dict[str, Any]]:
    items = check_list(value, field, "application overrides", allow_empty=True)
    return [_application(item, f"{field}[{i}]") for i, item in enumerate(items)]


def _notification(value: Any, field: str) -> dict[str, Any]:
    if isinstance(value, SlackNotification):
        value = value.to_api()
    item = check_mapping(value, field, "a notification such as {'type': 'slack', 'channel': 'C0478ABCDEF'}")
    check_keys(item, field, NOTIFICATION_KEYS)
    if item.get("type") != "slack":
        raise fail(f"{field}.type", f"{describe(item.get('type'))} is not allowed; the only type is 'slack'")
    if "channel" not in item:
        raise fail(f"{field}.channel", "is required: the Slack channel ID, e.g. 'C0478ABCDEF'")
    channel = check_str(item["channel"], f"{field}.channel", allow_empty=False)
    if has_space_or_control(channel):
        raise fail(f"{field}.channel", f"{describe(channel)} is not a Slack channel ID (e.g. 'C0478ABCDEF')")
    body: dict[str, Any] = {"type": "slack", "channel": channel}
    if item.get("notifyOn") is not None:
        if item["notifyOn"] not in NOTIFY_ON:
            raise fail(f"{field}.notifyOn", f"{describe(item['notifyOn'])} is not allowed; use 'always' or 'failure'")
        body["notifyOn"] = item["notifyOn"]
    return body


def _notifications(value: Any, field: str) -> list[dict[str, Any]]:
    hint = " (QA.tech rejects an empty list); leave it out to use the project's default Slack channel"
    items = check_list(value, field, "Slack notifications", allow_empty=False, empty_hint=hint)
    return [_notification(item, f"{field}[{i}]") for i, item in enumerate(items)]


def _test_case_ids(value: Any, field: str) -> list[str]:
    hint = "; leave it out to run the whole test plan"
    items = check_list(value, field, "test case IDs", allow_empty=False, empty_hint=hint)
    return [check_str(item, f"{field}[{i}]", allow_empty=False) for i, item in enumerate(items)]


def _parameters(value: Any, field: str) -> dict[str, Any]:
    params = check_mapping(value, field, "an object with 'configs' and/or 'configsByEnvironment'")
    check_keys(params, field, PARAMETER_KEYS)
    body: dict[str, Any] = {}
    for key in PARAMETER_KEYS:
        if params.get(key) is not None:
            body[key] = dict(check_mapping(params[key], f"{field}.{key}", "an object"))
    return check_json(body, field)  # type: ignore[no-any-return]


def _trigger(value: Any, field: str) -> str:
    if value not in TRIGGERS:
        raise fail(field, f"{describe(value)} is not allowed; use 'API' or 'GITHUB'")
    return str(value)


def _short_id(prefix: str) -> Callable[[Any, str], str]:
    def check(value: Any, field: str) -> str:
        return check_short_id(value, field, prefix=prefix)

    return check


def _uuids(value: Any, field: str) -> list[str]:
    hint = "; leave it out to rerun every test case"
    items = check_list(value, field, "test case UUIDs", allow_empty=False, empty_hint=hint)
    return [check_uuid(item, f"{field}[{i}]") for i, item in enumerate(items)]


# ----------------------------------------------------------------------------------------------------
# The models
# ----------------------------------------------------------------------------------------------------


class RequestModel:
    """The fields of one request body, in the order users see them documented."""

    def __init__(self, endpoint: str, fields: Sequence[RequestField]) -> None:
        self.endpoint = endpoint
        self.fields = tuple(fields)
        self._by_name = {f.name: f for f in self.fields}
        self._by_api_name = {f.api_name: f for f in self.fields}

    def __iter__(self) -> Iterator[RequestField]:
        return iter(self.fields)

    def __getitem__(self, name: str) -> RequestField:
        return self._by_name[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def api_names(self) -> tuple[str, ...]:
        return tuple(self._by_api_name)

    def check_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``{api_name: checked value}`` for the given Python-named values; ``None`` means not given."""
        unknown = [name for name in values if name not in self._by_name]
        if unknown:
            check_keys({unknown[0]: None}, unknown[0], self.names)
        return {
            self._by_name[name].api_name: self._by_name[name].check(value, name)
            for name, value in values.items()
            if value is not None
        }

    def check_body(self, body: Any) -> dict[str, Any]:
        """Validate a JSON body as received (API names): what the emulator does with a request."""
        if body is None:
            return {}
        data = check_mapping(body, "body", "a JSON object")
        check_keys(data, "body", self.api_names)
        return {key: self._by_api_name[key].check(value, key) for key, value in data.items()}

    def param_docs(self) -> str:
        """``:param name: doc`` lines (Sphinx style, as Airflow's operators document their arguments)."""
        return "\n".join(f":param {f.name}: {f.doc}" for f in self.fields)


START_RUN = RequestModel(
    "POST /run",
    (
        RequestField(
            "test_plan_short_id", "testPlanShortId", "the test plan, pln_...; the project's default plan when omitted.",
            str, _short_id("pln"),
        ),
        RequestField(
            "applications", "applications",
            'per-run application overrides: [{"applicationShortId": "app_...", "environment": {"url": "https://..."}}] '
            '(or {"shortId": "env_..."}; optional "devicePresetShortId").',
            list[dict[str, Any]], _applications,
        ),
        RequestField(
            "notifications", "notifications",
            'Slack overrides: [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "failure"}].',
            list[dict[str, Any]], _notifications,
        ),
        RequestField(
            "trigger", "trigger", "API (QA.tech's default) or GITHUB; the Git fields are sent only with GITHUB.",
            str, _trigger, choices=TRIGGERS,
        ),
        RequestField("actor", "actor", "who triggered the run (Git attribution).", str, check_str, github_only=True),
        RequestField("branch", "branch", "the Git branch (Git attribution).", str, check_str, github_only=True),
        RequestField(
            "commit_hash", "commitHash", "the commit SHA (Git attribution).", str, check_str, github_only=True
        ),
        RequestField(
            "commit_message", "commitMessage", "the commit message (Git attribution).", str, check_str, github_only=True
        ),
        RequestField(
            "repository", "repository", "the repository, e.g. owner/repo (Git attribution).", str, check_str,
            github_only=True,
        ),
        RequestField(
            "project_short_id", "projectShortId", "proj_...; needed with organization API keys.", str, _short_id("proj")
        ),
        RequestField(
            "test_case_ids", "testCaseIds", "run only these test cases of the plan.", list[str], _test_case_ids
        ),
        RequestField(
            "parameters", "parameters",
            'run-time config overrides: {"configs": {...}, "configsByEnvironment": {...}}.',
            dict[str, Any], _parameters,
        ),
    ),
)  # fmt: skip

RERUN = RequestModel(
    "POST /run/{shortId}",
    (
        RequestField(
            "failed_only", "failedOnly",
            "rerun only the failed, skipped and errored test cases (default: True unless project_test_case_ids).",
            bool, check_bool,
        ),
        RequestField(
            "project_test_case_ids", "projectTestCaseIds", "rerun only these test cases (UUIDs).", list[str], _uuids
        ),
        RequestField(
            "project_short_id", "projectShortId", "proj_...; needed with organization API keys.", str, _short_id("proj")
        ),
    ),
)  # fmt: skip

#: Whether a rerun reruns only what did not pass, when the caller does not say: everywhere (core, CLI,
#: Airflow, Dagster). Rerunning test cases that passed spends quota and rarely tells anything new.
RERUN_FAILED_ONLY_DEFAULT = True

#: Where this model is stricter than QA.tech's published schema, and why.
STRICTER_THAN_SCHEMA = (
    StricterRule(
        "unknown-keys",
        "any object (application, environment, notification, parameters, the body)",
        "unknown keys are refused, naming the closest known key",
        "the schema allows extra keys and QA.tech ignores them, so a typo such as 'environmnet' would run "
        "silently against the default environment",
    ),
    StricterRule(
        "no-space-in-short-ids",
        "prefixed short IDs (pln_, app_, env_, preset_, proj_)",
        "no whitespace or control characters",
        "the schema's pattern allows them, but no QA.tech ID has any: a stray space or newline comes from a "
        "template or a copied secret, and would otherwise surface as a 404",
    ),
    StricterRule(
        "one-environment",
        "applications[].environment",
        "exactly one of url and shortId",
        "the schema's anyOf accepts an object with both; QA.tech's documentation gives them as alternatives, "
        "and which one wins is undocumented",
    ),
    StricterRule(
        "url-not-empty",
        "applications[].environment.url",
        "not empty, no whitespace",
        "an empty URL is what a template that found no value renders to (e.g. a missing XCom); no URL "
        "contains whitespace",
    ),
    StricterRule(
        "url-with-scheme-has-host",
        "applications[].environment.url",
        "a URL with a scheme (`https://`) names a host",
        "`https://` alone or `http://[::1` is no address a browser can open; a URL without a scheme "
        "(`localhost:3000`) is still sent as given",
    ),
    StricterRule(
        "channel-not-empty",
        "notifications[].channel",
        "not empty, no whitespace",
        "a Slack channel ID is never empty and has no spaces; QA.tech answers 400 only after checking Slack",
    ),
    StricterRule(
        "id-lists-not-empty",
        "test_case_ids / project_test_case_ids",
        "not empty when given",
        "what an empty list means (run nothing, or everything) is undocumented; leaving the field out is unambiguous",
    ),
    StricterRule(
        "test-case-uuids",
        "project_test_case_ids[]",
        "UUIDs",
        "QA.tech documents project test case IDs as UUIDs; anything else cannot match",
    ),
    StricterRule(
        "plain-json",
        "parameters",
        "plain JSON only (no NaN or infinity)",
        "NaN and infinity are not JSON; Python's encoder would send them anyway",
    ),
    StricterRule(
        "notifications-not-empty",
        "notifications",
        "not empty when given",
        "QA.tech's API documentation answers 400 to an empty array; the OpenAPI file allows it. Leaving the "
        "field out uses the project's default Slack channel",
    ),
    StricterRule(
        "failed-only-or-ids",
        "failed_only / project_test_case_ids (rerun)",
        "not both",
        "QA.tech's API documentation answers 400 to both at once; the OpenAPI file does not say so",
    ),
)


def unsent_github_fields(values: Mapping[str, Any]) -> list[str]:
    """The Git fields given without ``trigger="GITHUB"``: QA.tech ignores them, so they are not sent."""
    if values.get("trigger") == "GITHUB":
        return []
    return [f.name for f in START_RUN if f.github_only and values.get(f.name) is not None]


def resolve_failed_only(failed_only: bool | None, project_test_case_ids: Sequence[str] | None) -> bool:
    """The rerun default: failed test cases only, unless specific test cases are chosen."""
    if failed_only is None:
        return RERUN_FAILED_ONLY_DEFAULT and project_test_case_ids is None
    return check_bool(failed_only, "failed_only")


def markdown_reference() -> str:
    """``docs/request-model.md``: the fields of both requests and the rules stricter than the schema."""
    lines = [
        "# The request model",
        "",
        "Generated from `qatech_orchestration/request_model.py` (`python -m qatech_orchestration.request_model`);",
        "a test fails when this file and the model differ. Every face takes these fields under these names: the",
        "Python client, the command line, the Airflow operators, the Dagster op config, `build_qatech_asset_check`",
        "and the YAML component. The emulator validates the bodies it receives with the same model.",
        "",
    ]
    for model in (START_RUN, RERUN):
        lines += [f"## `{model.endpoint}`", "", "| Python name | API name | Type | Meaning |", "|---|---|---|---|"]
        for f in model:
            kind = f.config_type.__name__ if f.config_type in (str, bool) else str(f.config_type).replace("typing.", "")
            doc = (f.doc + (' Sent only with `trigger="GITHUB"`.' if f.github_only else "")).replace("|", "\\|")
            lines.append(f"| `{f.name}` | `{f.api_name}` | `{kind}` | {doc} |")
        lines.append("")
    lines += [
        f"A rerun without `failed_only` reruns only what did not pass (`RERUN_FAILED_ONLY_DEFAULT = "
        f"{RERUN_FAILED_ONLY_DEFAULT}`), unless `project_test_case_ids` is given; `failed_only=False` reruns "
        "every test case.",
        "",
        "## Where the model is stricter than QA.tech's published schema",
        "",
        "Everything else the schema allows is sent as given (for example a URL without a scheme, empty Git",
        "fields, `repository` that is not `owner/repo`, or the same application twice).",
        "",
        "| Name | Where | Rule | Why |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.name}` | {r.field} | {r.rule} | {r.reason} |" for r in STRICTER_THAN_SCHEMA]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_reference(), end="")
