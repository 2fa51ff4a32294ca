"""The QA.tech provider for Apache Airflow: hook, operators, sensor, trigger and run link.

Import the classes from their modules (``airflow_provider.operators.qatech`` and so on). Importing this
package loads only Airflow's version string and the provider metadata, and refuses an Airflow older than
the provider supports, as official providers do.
"""

from __future__ import annotations

from airflow import __version__ as _airflow_version
from packaging.version import Version

from airflow_provider.get_provider_info import get_provider_info

MIN_AIRFLOW_VERSION = "2.11.0"

if Version(Version(_airflow_version).base_version) < Version(MIN_AIRFLOW_VERSION):
    raise RuntimeError(
        f"The QA.tech provider (qatech-orchestration) needs Apache Airflow {MIN_AIRFLOW_VERSION}+; "
        f"this is Airflow {_airflow_version}"
    )

__all__ = ["MIN_AIRFLOW_VERSION", "get_provider_info"]
