"""Every venv the scripts build has a lock, and no lock is older than the pins it was resolved from.

A lock (requirements/lock/<name>.txt) is what a leg really installs. Edit a leg's pin (say
``apache-airflow==3.1.8``) without running ./scripts/lock.sh, and the pin and the lock disagree: uv would
fail to install, or, for a package the lock lacks, install whatever is newest. Resolving again needs the
package index, so it is not done here; these checks need only the files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements" / "lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def _legs() -> dict[str, list[str]]:
    """Each leg of scripts/legs.sh with its input files (constraints and more requirements)."""
    text = (ROOT / "scripts" / "legs.sh").read_text()
    legs: dict[str, list[str]] = {}
    for line in re.findall(r'^\s+"([^"]+)"$', text, flags=re.MULTILINE):
        name, _venv, _python, constraints, _extras, _selection, requirements, *_options = line.split()
        legs[name] = [f for f in (constraints, requirements) if f != "-"]
    return legs


#: The other venvs: scripts/demo.sh's and benchmarks/run.sh's, with the inputs they pass to ensure_venv.
OTHERS = {
    "demo": ["requirements/latest.txt"],
    "benchmarks": ["requirements/latest.txt", "requirements/benchmarks.txt"],
}
VENVS = {**_legs(), **OTHERS}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if match := PIN.match(line.strip()):
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_the_matrix_is_read() -> None:
    assert {"newest", "oldest", "floors", "core-3.11"} <= set(_legs())
    assert _legs()["airflow-3.1"] == ["requirements/airflow-3.1.txt"]


def test_every_venv_has_a_lock_and_no_lock_is_left_over() -> None:
    locks = {path.stem for path in LOCKS.glob("*.txt")}
    assert set(VENVS) - locks == set(), "run ./scripts/lock.sh NAME for these"
    assert locks - set(VENVS) == set(), "no venv installs these: delete them"


@pytest.mark.parametrize("name", sorted(VENVS))
def test_the_lock_holds_every_pin_of_its_inputs(name: str) -> None:
    lock = _pins(LOCKS / f"{name}.txt")
    assert len(lock) > 10  # a resolution, not a stub
    for source in VENVS[name]:
        # A constraints file may pin what this venv does not install (latest.txt serves the demo too).
        pinned_here = {p: v for p, v in _pins(ROOT / source).items() if p in lock}
        for package, version in pinned_here.items():
            assert lock[package] == version, (
                f"{source} pins {package}=={version}, requirements/lock/{name}.txt has {lock[package]}: "
                f"run ./scripts/lock.sh {name}"
            )


@pytest.mark.parametrize("name", sorted(VENVS))
def test_the_lock_says_how_it_was_made(name: str) -> None:
    header = (LOCKS / f"{name}.txt").read_text().splitlines()[0]
    assert header.startswith(f"# Lock of {name} (") and "./scripts/lock.sh" in header
