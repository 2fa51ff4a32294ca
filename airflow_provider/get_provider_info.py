"""Provider metadata, registered under the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from airflow_provider.connection_form import conn_fields, ui_field_behaviour
    from qatech_orchestration._version import __version__

    # The qatech:// URI scheme (airflow_provider.assets): Airflow 3 reads "asset-uris", 2.11 "dataset-uris".
    uris = [
        {
            "schemes": ["qatech"],
            "handler": "airflow_provider.assets.sanitize_uri",
            "factory": "airflow_provider.assets.create_asset",
            "to_openlineage_converter": "airflow_provider.assets.convert_asset_to_openlineage",
        }
    ]
    return {
        "package-name": "qatech-orchestration",
        "name": "QA.tech",
        "description": "Start, watch and gate on `QA.tech <https://qa.tech>`__ AI end-to-end test runs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "QA.tech",
                "external-doc-url": "https://docs.qa.tech/api-reference/introduction",
                "tags": ["software"],
            }
        ],
        "hooks": [{"integration-name": "QA.tech", "python-modules": ["airflow_provider.hooks.qatech"]}],
        "operators": [{"integration-name": "QA.tech", "python-modules": ["airflow_provider.operators.qatech"]}],
        "sensors": [{"integration-name": "QA.tech", "python-modules": ["airflow_provider.sensors.qatech"]}],
        "triggers": [{"integration-name": "QA.tech", "python-modules": ["airflow_provider.triggers.qatech"]}],
        "connection-types": [
            {
                "connection-type": "qatech",
                "hook-class-name": "airflow_provider.hooks.qatech.QATechHook",
                "hook-name": "QA.tech",
                "conn-fields": conn_fields(),
                "ui-field-behaviour": ui_field_behaviour(),
            }
        ],
        "extra-links": ["airflow_provider.links.qatech.QATechRunLink"],
        "asset-uris": uris,
        "dataset-uris": uris,
    }
