"""The code location: every definition under defs/, with each asset check's target checked at load."""

import inspect
from pathlib import Path

import dagster as dg

from dagster_resource import require_checked_assets

HERE = Path(__file__).parent


@dg.definitions
def defs() -> dg.Definitions:
    if "path_within_project" in inspect.signature(dg.load_from_defs_folder).parameters:
        loaded = dg.load_from_defs_folder(path_within_project=HERE)
    else:
        loaded = dg.load_from_defs_folder(project_root=HERE.parent)  # dagster < 1.12
    return require_checked_assets(loaded)  # a misspelled asset key fails `dg check defs`
