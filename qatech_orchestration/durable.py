"""Re-attaching to the run an earlier attempt started, instead of starting a second one.

Every QA.tech run spends quota and may page people, so a retried task or step must not start another run
when the one its earlier attempt started is still going, or already passed. The orchestrators keep the
earlier attempt's run differently (Airflow 3.3's task state store, Dagster's event log); the decision of
what to do with it is taken here, once:

================================  ======================================================================
the earlier attempt's run         what this attempt does
================================  ======================================================================
none recorded                     start a run
INITIATED / RUNNING (or unknown)  re-attach: wait for it, no new POST
passed (or skipped, if allowed)   succeed with it, no new POST
FAILED / ERROR / CANCELLED        start a new run; with ``retry_from_failure``, rerun its failed test cases
not found (404)                   start a run (with a warning)
================================  ======================================================================
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from qatech_orchestration.errors import QATechNotFoundError
from qatech_orchestration.models import RunStatus, StartedRun
from qatech_orchestration.outcome import judge_run

if TYPE_CHECKING:
    from qatech_orchestration.client import QATechClient

log = logging.getLogger(__name__)


class Resume(enum.Enum):
    """What an attempt did about the run its earlier attempt started."""

    STARTED = "started"  # no earlier run (or it failed): a new run
    REATTACHED = "reattached"  # the earlier run is still going: wait for it
    ALREADY_PASSED = "already_passed"  # the earlier run passed: nothing to do
    RERUN_FAILED = "rerun_failed"  # the earlier run failed: its failed test cases were rerun


@dataclass(frozen=True)
class Resumed:
    """The run this attempt goes on with, and how it got it (``status`` when it was read)."""

    run: StartedRun
    action: Resume
    status: RunStatus | None = None


def resume_or_start(
    client: QATechClient,
    earlier: StartedRun | None,
    start: Callable[[], StartedRun],
    *,
    record: Callable[[StartedRun], None],
    retry_from_failure: bool = False,
    fail_on_skipped: bool = False,
) -> Resumed:
    """Go on with ``earlier`` if it is still useful, else start (or rerun) and ``record`` the new run at once.

    ``record`` is called right after a new run starts, before anything that can fail, so that the next
    attempt finds it. Errors (``QATechError``) propagate; a 404 for the earlier run starts afresh.
    """
    if earlier is not None:
        try:
            status = client.get_run(earlier.short_id, test_cases="all")
            status = status if status.url else replace(status, url=earlier.url)  # the answer has no URL
        except QATechNotFoundError:
            log.warning("QA.tech does not know run %s any more; starting a new run", earlier.short_id)
        else:
            if not status.is_terminal:
                log.info("Re-attaching to QA.tech run %s (%s): %s", earlier.short_id, status.state_label, earlier.url)
                return Resumed(earlier, Resume.REATTACHED, status)
            if judge_run(status, fail_on_skipped=fail_on_skipped).ok:
                log.info("QA.tech run %s already passed: no new run (%s)", earlier.short_id, earlier.url)
                return Resumed(earlier, Resume.ALREADY_PASSED, status)
            if retry_from_failure:
                rerun = client.rerun(earlier.short_id)  # failed, skipped and errored test cases only
                record(rerun)
                log.info("QA.tech run %s %s: rerunning its failed test cases as %s: %s", earlier.short_id,
                         status.state_label, rerun.short_id, rerun.url)  # fmt: skip
                return Resumed(rerun, Resume.RERUN_FAILED)
            log.info("QA.tech run %s ended %s: starting a new run", earlier.short_id, status.state_label)
    run = start()
    record(run)
    return Resumed(run, Resume.STARTED)
