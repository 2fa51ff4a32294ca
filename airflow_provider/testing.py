"""Running a DAG in a test with ``dag.test()``, on every Airflow the provider supports.

Used by the ``qatech_run_dag`` fixture (:mod:`qatech_orchestration.pytest_plugin`) and by this project's own
tests. Airflow 3 refuses ``dag.test()`` for a DAG that was never stored ("Cannot create DagRun ... the dag is
not serialized"): a DAG built inside a test is stored first, as the dag-processor would.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from airflow import __version__ as AIRFLOW_VERSION

AIRFLOW_3 = int(AIRFLOW_VERSION.split(".")[0]) >= 3


def prepare_metadata_db() -> None:
    """Create (or upgrade) the metadata database of the current ``AIRFLOW_HOME``."""
    from airflow.utils import db

    if AIRFLOW_3:
        db.initdb()
    else:
        db.resetdb()


def metadata_db_is_current() -> bool:
    """Whether the metadata database has every migration of this Airflow (``dag.test()`` needs them)."""
    from airflow.utils import db

    try:
        db.check_migrations(timeout=1)  # type: ignore[no-untyped-call]
    except Exception:  # TimeoutError when behind; an unreachable or empty database fails as well
        return False
    return True


def dagbag_module() -> Any:
    """Where this Airflow keeps ``DagBag``: ``airflow.dag_processing.dagbag`` since 3.2."""
    try:
        return importlib.import_module("airflow.dag_processing.dagbag")
    except ImportError:
        return importlib.import_module("airflow.models.dagbag")


def load_dags(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The DAGs of a folder, as the dag-processor reads them: ``{dag_id: DAG}``. A file that fails to
    import raises here, with Airflow's own error, rather than leaving its DAG silently out."""
    module = dagbag_module()
    options = {} if AIRFLOW_3 else {"include_examples": False}
    bag = module.DagBag(dag_folder=str(folder), **options)
    if bag.import_errors:
        raise ImportError(f"DAG files of {folder} failed to import: {bag.import_errors}")
    return dict(bag.dags)


def store_dag(dag: Any) -> None:
    """Store a DAG built in a test as the dag-processor would. Airflow 2 runs a DAG it never stored, but
    records its outlet datasets' events only for datasets it knows, which storing the DAG declares."""
    if not AIRFLOW_3:
        dag.sync_to_db()
        return
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()  # type: ignore[no-untyped-call]
    module = dagbag_module()
    bag = module.DagBag(dag_folder="/nonexistent", collect_dags=False)
    bag.bag_dag(dag)
    if hasattr(module, "sync_bag_to_db"):  # 3.1+
        module.sync_bag_to_db(bag, "dags-folder", None)
    else:  # 3.0, which sets relative_fileloc only for DAGs it read from a file
        dag.relative_fileloc = dag.relative_fileloc or dag.fileloc
        bag.sync_to_db("dags-folder", None)


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> Any:
    """``dag.test()`` for ``dag`` (stored first where Airflow needs it); returns the DagRun.

    Deferred tasks run their triggers in this process, as ``dag.test()`` does.
    """
    store_dag(dag)
    return dag.test(run_conf=conf)


def task_states(dagrun: Any) -> dict[str, str]:
    """``{task_id: state}`` of a finished DagRun (``"success"``, ``"failed"``, ``"skipped"``, ...)."""
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dagrun.get_task_instances()}
