"""The README's code, extracted for the tests that run it (so that the README cannot drift from what works).

Every fenced ``bash`` and ``python`` block is found here, by the section it is in (its nearest heading) and
its place among that section's blocks of the same language. Each is either run by a test (:data:`RUN_BY`),
or one of its commands is listed in :data:`NOT_RUN` with the reason; ``tests/core/test_readme.py`` fails when
a block is neither. Python blocks that build on each other run in one namespace, in README order (Dagster's
resource, then its ops); where a block uses names a reader defines (the assets a check is for, the ``deploy``
task a template pulls from), the test that runs it declares them and says so. Bash commands run one by one,
``export`` and ``cd`` carried to the next, in a shell whose environment points at the emulator, which
accepts the README's placeholder tokens.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@dataclass(frozen=True)
class Block:
    section: str
    lang: str
    index: int  # among the section's blocks of this language
    text: str
    line: int  # where the block starts in README.md

    @property
    def key(self) -> tuple[str, str, int]:
        return self.section, self.lang, self.index


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block, with the heading it is under."""
    text = README.read_text() if text is None else text
    found: list[Block] = []
    section, counts = "", dict[tuple[str, str], int]()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            lang = fence.group(1)
            index = counts.get((section, lang), 0)
            counts[(section, lang)] = index + 1
            found.append(Block(section, lang, index, "\n".join(lines[i + 1 : end]) + "\n", i + 1))
            i = end
        i += 1
    return found


def block(section: str, lang: str, index: int = 0) -> Block:
    (found,) = [b for b in blocks() if b.key == (section, lang, index)]
    return found


def commands(bash: Block) -> list[str]:
    """The block's commands: continuation lines joined; blank and comment-only lines left out."""
    logical, current = [], ""
    for line in bash.text.splitlines():
        current += line
        if line.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip() and not current.strip().startswith("#"):
            logical.append(current.strip())
        current = ""
    return logical


#: Commands the tests cannot run as written, by how they start, and why.
NOT_RUN: dict[str, str] = {
    "./scripts/demo.sh": "the demo: CI runs it after the suite (.ci/run); from inside the suite it would set up "
    "and run everything a second time",
    "./scripts/test.sh": "this test suite itself",
    "pip install": "installs from the package index; tests/packaging builds and checks the distributions these "
    "commands install, and every leg installs them with uv",
    "QATECH_API_TOKEN=... dg dev": "starts the webserver and the daemon until interrupted; the Dagster system "
    "test (tests/system) starts both on the same example project",
}

CORE, AIRFLOW, DAGSTER = (f"tests/{leg}/test_readme{suffix}.py::" for leg, suffix in
                          (("core", ""), ("airflow", "_airflow"), ("dagster", "_dagster")))  # fmt: skip
#: The blocks tests run, and which test runs each.
RUN_BY: dict[tuple[str, str, int], str] = {
    ("qatech-orchestration", "bash", 0): "(every command is in NOT_RUN)",
    ("Install", "bash", 0): "(every command is in NOT_RUN)",
    ("The core in Python", "python", 0): CORE + "test_the_core_in_python",
    ("Command line", "bash", 0): CORE + "test_the_command_line",
    ("The emulator", "python", 0): CORE + "test_the_emulator_block_runs_and_exits_cleanly",
    ("Connection", "bash", 0): AIRFLOW + "test_the_connection_commands",
    ("QATechStartRunOperator", "python", 0): AIRFLOW + "test_the_operator_blocks_run_as_a_dag",
    ("QATechRunSensor", "python", 0): AIRFLOW + "test_the_operator_blocks_run_as_a_dag",
    ("QATechRerunOperator", "python", 0): AIRFLOW + "test_the_operator_blocks_run_as_a_dag",
    ("Resource", "python", 0): DAGSTER + "test_the_resource_and_ops_blocks_run_a_job",
    ("Ops", "python", 0): DAGSTER + "test_the_resource_and_ops_blocks_run_a_job",
    ("Asset checks", "python", 0): DAGSTER + "test_the_asset_checks_block_materializes",
    ("Component", "yaml", 0): DAGSTER + "test_the_component_yaml_and_definitions_blocks",
    ("Misspelled asset keys", "python", 0): DAGSTER + "test_the_component_yaml_and_definitions_blocks",
    ("Running the Dagster UI", "bash", 0): DAGSTER + "test_the_dagster_ui_commands",
    ("Command line: JUnit XML, Markdown, GitHub Actions", "bash", 0): CORE + "test_the_report_commands",
    ("Airflow: task log and `run_summary` XCom", "python", 0): AIRFLOW
    + "test_the_run_summary_block_templates_the_message",
    ("Testing your pipelines", "python", 0): "tests/plugin/test_readme_plugin.py::test_the_readme_test_file_runs",
}  # fmt: skip


def not_run_reason(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


@dataclass
class Shell:
    """Runs README commands one by one, as a user's shell would: ``export`` and ``cd`` carry over."""

    env: dict[str, str]
    cwd: Path = ROOT

    def run(self, command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        words = shlex.split(command, comments=True)
        if words and words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return subprocess.CompletedProcess(words, 0, "", "")
        if words and words[0] == "cd":
            self.cwd = (self.cwd / words[1]).resolve()
            return subprocess.CompletedProcess(words, 0, "", "")
        return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=self.env, cwd=self.cwd,
                              timeout=timeout)  # fmt: skip


def shell_env(**values: str) -> dict[str, str]:
    """The environment of a user's shell in this checkout: the venv's commands first on PATH."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", **values}
