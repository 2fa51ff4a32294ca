"""The core's own log records (a re-attached run, a retried read, an unknown status) in the step's Dagster
event log.

Without this they reach only the process's stderr: the event log, which is what users read in the UI,
would show a wait that says nothing while the API is failing, and a retry that re-attached to its run would
not say so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CORE_LOGGER = "qatech_orchestration"

_level_lock = threading.Lock()
_forwarding = 0  # blocks open in this process (steps run in threads of one process too)
_saved_level = logging.NOTSET


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
    """While the block runs, forward the core's records of this thread, INFO and up, to ``step_log``
    (``context.log``).

    The core's logger inherits the root's level (WARNING unless configured), which would drop INFO records
    before any handler saw them: while a block is open it is set to INFO, and restored when the last closes.
    """
    global _forwarding, _saved_level
    handler = _ToStepLog(step_log)
    logger = logging.getLogger(CORE_LOGGER)
    with _level_lock:
        if _forwarding == 0:
            _saved_level = logger.level
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        _forwarding += 1
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        with _level_lock:
            _forwarding -= 1
            if _forwarding == 0:
                logger.setLevel(_saved_level)
