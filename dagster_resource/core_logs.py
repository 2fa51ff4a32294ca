"""The core's own log records (a retried read, an unknown status) in the step's Dagster event log.

Without this they reach only the process's stderr: the event log, which is what users read in the UI,
would show a wait that says nothing while the API is failing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CORE_LOGGER = "qatech_orchestration"


class _ToStepLog(logging.Handler):
    """Hands this thread's records to the step's logger (other threads run other steps)."""

    def __init__(self, step_log: logging.Logger) -> None:
        super().__init__(level=logging.INFO)
        self._step_log = step_log
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self._step_log.log(record.levelno, record.getMessage())


@contextmanager
def core_logs_to(step_log: logging.Logger) -> Iterator[None]:
    """While the block runs, forward the core's records of this thread to ``step_log`` (``context.log``)."""
    handler = _ToStepLog(step_log)
    logger = logging.getLogger(CORE_LOGGER)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
