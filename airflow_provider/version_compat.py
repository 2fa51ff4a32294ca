"""The only module that knows one Airflow minor from another (2.11, 3.0, 3.1, 3.2, 3.3).

Everything else in the provider imports Airflow names from here. Importing it pulls in no more than
``airflow.sdk`` (Airflow 3) or the equivalent base classes (Airflow 2).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION


def _resolve(name: str, *modules: str) -> Any:
    """``name`` from the first module that has it: the Task SDK moved names minor by minor.

    A feature check, not a version check, as the official providers' ``version_compat`` modules do: the Task
    SDK gained ``BaseHook`` in 3.1, ``conf`` and ``AirflowFailException`` in 3.2; 2.11 has no ``airflow.sdk``.
    """
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise ImportError(f"Airflow {AIRFLOW_VERSION} has no {name} in any of {', '.join(modules)}")


if TYPE_CHECKING:  # type-checked against the newest Airflow
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator, Context, conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
    )
else:
    BaseHook = _resolve("BaseHook", "airflow.sdk", "airflow.hooks.base")
    BaseOperator = _resolve("BaseOperator", "airflow.sdk", "airflow.models.baseoperator")
    BaseOperatorLink = _resolve("BaseOperatorLink", "airflow.sdk", "airflow.models.baseoperatorlink")
    BaseSensorOperator = _resolve("BaseSensorOperator", "airflow.sdk", "airflow.sensors.base")
    Context = _resolve("Context", "airflow.sdk", "airflow.utils.context")
    conf = _resolve("conf", "airflow.sdk", "airflow.configuration")
    AirflowException = _resolve("AirflowException", "airflow.sdk.exceptions", "airflow.exceptions")
    AirflowFailException = _resolve("AirflowFailException", "airflow.sdk.exceptions", "airflow.exceptions")
    AirflowNotFoundException = _resolve("AirflowNotFoundException", "airflow.sdk.exceptions", "airflow.exceptions")
    AirflowSensorTimeout = _resolve("AirflowSensorTimeout", "airflow.sdk.exceptions", "airflow.exceptions")


def get_xcom_value(ti_key: Any, key: str) -> Any:
    """Read one XCom value of a task instance (for operator extra links)."""
    xcom = _resolve("XCom", "airflow.sdk.execution_time.xcom", "airflow.models.xcom")
    return xcom.get_value(ti_key=ti_key, key=key)


async def aget_connection(conn_id: str) -> Any:
    """Fetch a connection from async code (a trigger) without blocking the event loop.

    Airflow 3's triggerer has no database access and serves connections through the supervisor, which
    ``BaseHook.aget_connection`` talks to asynchronously; Airflow 2 reads them from the database, which is
    done in a thread.
    """
    if hasattr(BaseHook, "aget_connection"):
        return await BaseHook.aget_connection(conn_id)
    import asyncio

    return await asyncio.to_thread(BaseHook.get_connection, conn_id)


def task_state_store(context: Any) -> Any | None:
    """Airflow 3.3+'s ``task_state_store`` of the running task (kept across its tries), else ``None``."""
    return context.get("task_state_store") if hasattr(context, "get") else None


def asset_class() -> Any:
    """``Asset`` (Airflow 3) or ``Dataset`` (2.11): what ``outlets`` and ``schedule=[...]`` take."""
    try:
        return _resolve("Asset", "airflow.sdk")
    except ImportError:
        return _resolve("Dataset", "airflow.datasets")


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, as Airflow's own deferrable operators read it."""
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Context",
    "aget_connection",
    "asset_class",
    "conf",
    "default_deferrable",
    "get_xcom_value",
    "task_state_store",
]
