"""Validate JSON against QA.tech's OpenAPI file (tests/fixtures/qatech-openapi.json)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path(__file__).parent / "fixtures" / "qatech-openapi.json"


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: ``$ref`` into ``#/definitions``, ``nullable`` into a null type."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def schema_for(name: str) -> dict[str, Any]:
    """A JSON Schema for ``components.schemas[name]``, with every other component as a definition."""
    schemas = copy.deepcopy(spec()["components"]["schemas"])
    definitions = {k: _to_json_schema(v) for k, v in schemas.items()}
    return {**definitions[name], "definitions": definitions}


def response_schema(path: str, method: str, status: str = "200") -> dict[str, Any]:
    operation = spec()["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    converted = _to_json_schema(schema)
    definitions = {k: _to_json_schema(v) for k, v in spec()["components"]["schemas"].items()}
    return {**converted, "definitions": definitions}


def request_schema(path: str, method: str) -> dict[str, Any]:
    operation = spec()["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    definitions = {k: _to_json_schema(v) for k, v in spec()["components"]["schemas"].items()}
    return {**_to_json_schema(schema), "definitions": definitions}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(schema).validate(instance)
