"""The wheel and the sdist as a package index and a distributor get them.

Built once with ``uv build`` (the sdist first, the wheel from the sdist, as a distributor builds): both pass
``twine check --strict``; the wheel's metadata carries the PEP 639 license expression, the project URLs and
keywords; the sdist carries the tests, docs, changelog and examples, and its tests run from it unpacked.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What a checkout holds besides its sources: virtual environments, caches, build output.
_NOT_SOURCE = (
    ".git",
    ".venv*",
    "*.egg-info",
    "__pycache__",
    "build",
    "dist",
    ".*_cache",
    ".hypothesis",
    ".airflow-home",
)


def _uv() -> str:
    found = shutil.which("uv", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip("uv is not installed here (the test legs install it): nothing builds the distributions")
    return found


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(argv)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # From a copy without build leftovers: setuptools adds an old egg-info's SOURCES.txt to the sdist, which
    # would hide a file that MANIFEST.in no longer brings.
    source = tmp_path_factory.mktemp("source") / "qatech-orchestration"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    out = tmp_path_factory.mktemp("dist")
    _run([_uv(), "build", "--sdist", "--wheel", "--out-dir", str(out), str(source)], source)
    yield out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def _wheel_metadata(dist: Path) -> Message:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(wheel.read(name))


def test_twine_check_strict_passes(dist: Path) -> None:
    result = _run(
        [sys.executable, "-m", "twine", "check", "--strict", str(_one(dist, "*.whl")), str(_one(dist, "*.tar.gz"))],
        dist,
    )
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_metadata_follows_the_conventions(dist: Path) -> None:
    metadata = _wheel_metadata(dist)
    assert metadata["Metadata-Version"] >= "2.4"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert not [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]  # superseded
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert urls["Bug Tracker"] == "https://github.com/qatech-orchestration/qatech-orchestration/issues"
    assert {"airflow", "dagster", "qa.tech"} <= set((metadata["Keywords"] or "").split(","))
    pythons = sorted(c.rsplit(" :: ", 1)[1] for c in metadata.get_all("Classifier") or [] if c.count(".") == 1
                     and c.startswith("Programming Language :: Python :: 3."))  # fmt: skip
    assert pythons == ["3.10", "3.11", "3.12", "3.13"]  # the Pythons the suite runs on
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {
        "qatech_orchestration",
        "airflow_provider",
        "dagster_resource",
    }  # the wheel installs the packages only (no tests, docs or examples in site-packages)


def _sdist_files(dist: Path) -> set[str]:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        return {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}


def test_the_sdist_carries_tests_docs_changelog_and_examples(dist: Path) -> None:
    files = _sdist_files(dist)
    for needed in ("CHANGELOG.md", "LICENSE", "README.md", "docs/request-model.md", "docs/reliability.md",
                   "tests/conftest.py", "tests/fixtures/qatech-openapi.json", "example_dags/qatech_nightly.py",
                   "example_dags/dagster_project/qatech_dagster_example/defs/qatech_checks/defs.yaml",
                   "scripts/test.sh", "requirements/latest.txt"):  # fmt: skip
        assert needed in files
    if (ROOT / ".git").exists():  # from a clone: every tracked file but CI's own is in it
        tracked = _run(["git", "ls-files"], ROOT).stdout.split()
        missing = [f for f in tracked if f not in files and not f.startswith((".ci/", ".gitignore"))]
        assert missing == []
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_the_sdist_tests_run_from_it_unpacked(dist: Path, tmp_path: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        sdist.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    where = _run([sys.executable, "-c", "import qatech_orchestration; print(qatech_orchestration.__file__)"], unpacked)
    assert Path(where.stdout.strip()).is_relative_to(unpacked)  # the sdist's own code, not this checkout's
    selection = ["tests/core/test_request_model.py", "tests/core/test_cli.py", "tests/core/test_emulator.py",
                 "tests/reliability/test_fault_matrix.py::test_docs_show_exactly_this_matrix"]  # fmt: skip
    result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection], unpacked)
    assert " passed" in result.stdout.splitlines()[-1] and "failed" not in result.stdout.splitlines()[-1]


def test_the_wheel_at_its_floors_in_a_clean_venv(dist: Path, tmp_path: Path) -> None:
    """As a new user installs it: the built wheel, its declared lowest versions (requests 2.30, urllib3 2.2),
    nothing else. ``start --wait`` passes against the emulator; with urllib3 2.1 forced in, nothing is sent."""
    from qatech_orchestration.emulator import QATechEmulator

    venv = tmp_path / "venv"
    _run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path)
    python = venv / "bin" / "python"
    install = [_uv(), "pip", "install", "--quiet", "--python", str(python)]
    # The wheel's own Requires-Dist floors, pinned (uv's lowest-direct would lower only the wheel itself).
    required = [r for r in _wheel_metadata(dist).get_all("Requires-Dist") or [] if "extra ==" not in r]
    floors = [re.sub(r"^([\w.-]+).*>=([\w.]+).*$", r"\1==\2", requirement) for requirement in required]
    assert floors == ["requests==2.30", "urllib3==2.2"]
    (tmp_path / "floors.txt").write_text("\n".join(floors) + "\n")
    _run([*install, "-c", str(tmp_path / "floors.txt"), str(_one(dist, "*.whl"))], tmp_path)
    freeze = _run([_uv(), "pip", "freeze", "--python", str(python)], tmp_path).stdout.split()
    assert {"requests==2.30.0", "urllib3==2.2.0"} <= set(freeze)
    with QATechEmulator(token="qtk-wheel-0123456789", polls_to_finish=1) as emu:
        env = {"PATH": os.environ["PATH"], "QATECH_API_TOKEN": "qtk-wheel-0123456789", "QATECH_BASE_URL": emu.base_url}
        cli = [str(venv / "bin" / "qatech-orchestration"), "start", "--wait", "--poll-interval", "0.01"]
        passed = subprocess.run(cli, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert passed.returncode == 0, passed.stderr
        assert passed.stdout.splitlines()[0] == "run_short_id=r00001"
        _run([*install, "urllib3==2.1.0"], tmp_path)
        refused = subprocess.run(cli, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert refused.returncode == 2, refused.stderr
        assert 'pip install "urllib3>=2.2"' in refused.stderr
        assert len(emu.requests_to("start_run")) == 1  # the first command's; the second sent nothing
