"""What the command line writes besides its own output: ``--junit-xml``, ``--summary-markdown``, and in GitHub
Actions the step outputs (``$GITHUB_OUTPUT``) and the job summary (``$GITHUB_STEP_SUMMARY``).

Every file is drawn from one :class:`~qatech_orchestration.report.RunReport`. The report files are written
when the wait ends, whatever its end: the run passed or failed, the wait timed out, QA.tech answered an error
(then the files say so). A file that cannot be written is a warning on stderr: the exit code stays the run's.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping

from qatech_orchestration import github_actions
from qatech_orchestration.errors import QATechError, QATechValidationError
from qatech_orchestration.files import check_writable, write_atomically
from qatech_orchestration.junit import junit_xml
from qatech_orchestration.markdown import markdown_summary, started_markdown
from qatech_orchestration.models import RunStatus, StartedRun, TestPlan
from qatech_orchestration.report import RunReport, interrupted_report


def add_report_flags(parser: argparse.ArgumentParser) -> None:
    """``--junit-xml`` and ``--summary-markdown`` (for ``start``, ``rerun`` and ``wait``)."""
    parser.add_argument(
        "--junit-xml",
        metavar="PATH",
        help="write the run's test cases as a JUnit XML file (needs --wait; also written when the run fails or "
        "the wait times out)",
    )
    parser.add_argument(
        "--summary-markdown",
        metavar="PATH",
        help="write a Markdown summary of the run (verdict, test cases, link); in GitHub Actions it also goes "
        "to the job summary",
    )


class ReportFiles:
    """The report files and GitHub Actions outputs one command writes."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> None:
        self.junit: str | None = getattr(args, "junit_xml", None)
        self.markdown: str | None = getattr(args, "summary_markdown", None)
        self.environ = environ
        self.reports = args.command in ("start", "rerun", "wait")
        self.waits = args.command == "wait" or bool(getattr(args, "wait", False))
        self.test_plan: TestPlan | None = None
        self._written: set[str] = set()

    def check(self) -> None:
        """Refuse flags that cannot work, before anything is sent."""
        if self.junit and not self.waits:
            raise QATechValidationError("lists the run's results: add --wait", field="--junit-xml")
        for flag, path in (("--junit-xml", self.junit), ("--summary-markdown", self.markdown)):
            problem = check_writable(path) if path else None
            if problem:
                raise QATechValidationError(f"{path} {problem}", field=flag)

    def started(self, run: StartedRun) -> None:
        """Right after a start or rerun: the outputs that identify the run (a later failure keeps them)."""
        self.test_plan = run.test_plan
        self._outputs(github_actions.started_outputs(run))
        if not self.waits:
            self._markdown(started_markdown(run))

    def not_started(self, *, may_exist: bool = False) -> None:
        """A start or rerun that failed: ``run_created=false``, as QA.tech's action says; ``unknown`` when a
        run may exist (a 5xx, an answer lost after sending: a workflow must not start another blindly)."""
        if self.reports:
            self._outputs({"run_created": "unknown"} if may_exist else github_actions.started_outputs(None))

    def finished(self, report: RunReport) -> None:
        """The wait ended (a verdict, or the report of an interrupted wait): every file."""
        if self.junit:
            path = self.junit
            self._write(f"--junit-xml {path}", lambda: write_atomically(path, junit_xml(report)))
        self._outputs(github_actions.report_outputs(report))
        self._markdown(markdown_summary(report))

    def interrupted(self, short_id: str, url: str | None, last: RunStatus | None, error: QATechError) -> None:
        """The wait ended before the run did (timeout, API error): files that say so."""
        self.finished(interrupted_report(short_id, error, last=last, run_url=url, test_plan=self.test_plan))

    def _outputs(self, outputs: Mapping[str, str]) -> None:
        fresh = {name: value for name, value in outputs.items() if name not in self._written}
        if fresh and self._write("$GITHUB_OUTPUT", lambda: github_actions.write_outputs(fresh, self.environ)):
            self._written.update(fresh)

    def _markdown(self, text: str) -> None:
        if self.markdown:
            path = self.markdown
            self._write(f"--summary-markdown {path}", lambda: write_atomically(path, text.encode("utf-8")))
        self._write("$GITHUB_STEP_SUMMARY", lambda: github_actions.append_summary(text, self.environ))

    @staticmethod
    def _write(what: str, write: Callable[[], object]) -> bool:
        try:
            write()
        except OSError as exc:
            print(f"warning: could not write {what}: {exc}", file=sys.stderr)
            return False
        return True
