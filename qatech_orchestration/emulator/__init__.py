"""A local emulator of QA.tech's v1 API, for tests and demos (``python -m qatech_orchestration.emulator``).

It checks the bearer token, validates bodies as QA.tech documents them, answers with the documented
shapes, moves runs INITIATED -> RUNNING -> a terminal state, and lets tests script outcomes, inject
faults and read the requests it received.
"""

from qatech_orchestration.emulator.server import DEFAULT_TOKEN, QATechEmulator
from qatech_orchestration.emulator.state import EmulatedProject, Fault, Outcome, RecordedRequest

__all__ = ["DEFAULT_TOKEN", "EmulatedProject", "Fault", "Outcome", "QATechEmulator", "RecordedRequest"]
