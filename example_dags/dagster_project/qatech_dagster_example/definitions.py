import inspect
from pathlib import Path

import dagster as dg

HERE = Path(__file__).parent


@dg.definitions
def defs() -> dg.Definitions:
    if "path_within_project" in inspect.signature(dg.load_from_defs_folder).parameters:
        return dg.load_from_defs_folder(path_within_project=HERE)
    return dg.load_from_defs_folder(project_root=HERE.parent)  # dagster < 1.12
