"""The ``qatech`` connection form, declared in the provider info (Airflow 3.2+ builds the UI form from it)
and by ``QATechHook.get_ui_field_behaviour`` (Airflow 2.11, and 3.x with flask_appbuilder).

The typed extra fields are the connection extra's keys: ``project_short_id`` and every HTTP setting, with
the core's own names, defaults and descriptions (``qatech_orchestration.settings``).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.settings import HTTP_SETTINGS, HttpSettings

HIDDEN_FIELDS = ["login", "schema", "port"]
RELABELING = {"password": "API token", "host": "Base URL"}
PLACEHOLDERS = {
    "host": DEFAULT_BASE_URL,
    "password": "QA.tech API token (Settings -> Integrations -> API)",
    "extra": json.dumps({"project_short_id": "proj_...", "read_timeout": 30, "max_retries": 4}),
}
_JSON_TYPES = {float: "number", int: "integer", bool: "boolean", str: "string"}


def conn_fields() -> dict[str, Any]:
    """``conn-fields`` of the provider info: one typed field per key of the connection extra."""
    result: dict[str, Any] = {
        "project_short_id": {
            "label": "Project short ID",
            "schema": {"type": ["string", "null"]},
            "description": "proj_...; needed with organization API keys.",
        }
    }
    for field in fields(HttpSettings):
        kind = _JSON_TYPES[type(field.default)]
        result[field.name] = {
            "label": field.name.replace("_", " ").capitalize(),
            "schema": {"type": [kind, "null"], "default": field.default},
            "description": HTTP_SETTINGS[field.name],
        }
    return result


def ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour`` of the provider info (kebab-case, as Airflow reads it there)."""
    return {"hidden-fields": HIDDEN_FIELDS, "relabeling": RELABELING, "placeholders": PLACEHOLDERS}
