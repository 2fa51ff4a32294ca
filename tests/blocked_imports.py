"""Run a Python subprocess as if some distributions were not installed.

A ``sitecustomize`` module, put first on ``PYTHONPATH``, installs a meta path finder that refuses the given
top-level modules with the ``ModuleNotFoundError`` a missing distribution gives. It works on every leg of
the matrix without building a virtual environment per missing extra, and for any command the subprocess
runs (``python -c``, ``airflow ...``), since Python imports ``sitecustomize`` at startup.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SITECUSTOMIZE = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = {blocked!r}


class _NotInstalled(MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{fullname!r}}", name=fullname)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


def env_without(directory: Path, *modules: str) -> dict[str, str]:
    """``os.environ`` for a subprocess in which ``modules`` cannot be imported (``directory``: a temp dir)."""
    (directory / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(blocked=set(modules)))
    path = os.pathsep.join([str(directory), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path}
