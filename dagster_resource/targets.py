"""Refuse asset checks whose asset no definition declares (a misspelled key), when the definitions load.

Dagster creates an external stub asset for a check's unknown target: ``dg check defs`` passes, and the
check, blocking or not, then gates nothing, as nothing ever materializes the stub.
"""

from __future__ import annotations

import difflib

from dagster import AssetKey, AssetsDefinition, AssetSpec, Definitions, SourceAsset


def require_checked_assets(defs: Definitions) -> Definitions:
    """Return ``defs`` unchanged when every asset check targets an asset they declare, else raise.

    Use it on what a code location loads, so that ``dg check defs`` reports a misspelled asset key, naming
    the closest declared key:

    .. code-block:: python

        @dg.definitions
        def defs() -> dg.Definitions:
            return require_checked_assets(dg.load_from_defs_folder(path_within_project=HERE))

    An asset that lives elsewhere on purpose is declared with ``dg.AssetSpec(key)`` in the definitions.

    Raises:
        ValueError: naming each unknown target, its check and the closest declared asset key.
    """
    declared: set[AssetKey] = set()
    for item in defs.assets or ():
        if isinstance(item, AssetsDefinition):
            declared.update(item.keys)
        elif isinstance(item, AssetSpec | SourceAsset):
            declared.add(item.key)
    problems = []
    for checks in defs.asset_checks or ():
        for check_key in checks.check_keys:
            if check_key.asset_key not in declared:
                problems.append(_describe(check_key.asset_key, check_key.name, declared))
    if problems:
        raise ValueError(
            "Asset checks target assets that no definition declares (Dagster would add an external stub "
            "that nothing materializes, so the check would gate nothing): " + "; ".join(sorted(problems))
        )
    return defs


def _describe(target: AssetKey, check_name: str, declared: set[AssetKey]) -> str:
    names = {key.to_user_string(): key for key in declared}
    closest = difflib.get_close_matches(target.to_user_string(), list(names), n=1, cutoff=0.6)
    hint = f"did you mean {closest[0]!r}?" if closest else "declare it, e.g. with dg.AssetSpec, if it lives elsewhere"
    return f"check {check_name!r} on {target.to_user_string()!r}: {hint}"
