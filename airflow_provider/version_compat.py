"""The only module that knows Airflow 2.11 from Airflow 3.x.

Everything else in the provider imports Airflow names from here. Importing it pulls in no more than
``airflow.sdk`` (Airflow 3) or the equivalent base classes (Airflow 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION

AIRFLOW_V_3_0_PLUS = int(AIRFLOW_VERSION.split(".", 1)[0]) >= 3

if TYPE_CHECKING or AIRFLOW_V_3_0_PLUS:  # type-checked against Airflow 3
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator, Context, conf
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
else:  # Airflow 2.11
    from airflow.configuration import conf
    from airflow.exceptions import AirflowException, AirflowFailException
    from airflow.hooks.base import BaseHook
    from airflow.models.baseoperator import BaseOperator
    from airflow.models.baseoperatorlink import BaseOperatorLink
    from airflow.sensors.base import BaseSensorOperator
    from airflow.utils.context import Context


def get_xcom_value(ti_key: Any, key: str) -> Any:
    """Read one XCom value of a task instance (for operator extra links)."""
    if TYPE_CHECKING or AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.execution_time.xcom import XCom
    else:
        from airflow.models.xcom import XCom
    return XCom.get_value(ti_key=ti_key, key=key)


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


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, as Airflow's own deferrable operators read it."""
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


__all__ = [
    "AIRFLOW_V_3_0_PLUS",
    "AirflowException",
    "AirflowFailException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Context",
    "aget_connection",
    "conf",
    "default_deferrable",
    "get_xcom_value",
    "task_state_store",
]
