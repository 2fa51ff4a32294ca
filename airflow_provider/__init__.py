"""The QA.tech provider for Apache Airflow: hook, operators, sensor, trigger and run link.

Import the classes from their modules (``airflow_provider.operators.qatech`` and so on): this package
itself imports nothing, so that parsing a DAG file stays cheap.
"""

from airflow_provider.get_provider_info import get_provider_info

__all__ = ["get_provider_info"]
