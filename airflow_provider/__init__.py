"""The QA.tech provider for Apache Airflow: hook, operators, sensor, trigger and run link.

Import the classes from their modules (``airflow_provider.operators.qatech`` and so on). Importing this
package loads only Airflow's version string and the provider metadata, and refuses an Airflow older than
the provider supports, as official providers do. Without Airflow it raises an ``ImportError`` that names
the extra to install.
"""

from __future__ import annotations

try:
    from airflow import __version__ as _airflow_version
except ImportError as _missing:  # the package installed without its extra: say which command fixes it
    raise ImportError(
        f"The QA.tech provider (airflow_provider) needs Apache Airflow, which is not installed ({_missing}): "
        'pip install "qatech-orchestration[airflow]"',
        name=_missing.name,
    ) from _missing
from packaging.version import Version

from airflow_provider.get_provider_info import get_provider_info

MIN_AIRFLOW_VERSION = "2.11.0"

if Version(Version(_airflow_version).base_version) < Version(MIN_AIRFLOW_VERSION):
    raise RuntimeError(
        f"The QA.tech provider (qatech-orchestration) needs Apache Airflow {MIN_AIRFLOW_VERSION}+; "
        f"this is Airflow {_airflow_version}"
    )

__all__ = ["MIN_AIRFLOW_VERSION", "get_provider_info"]
