"""What the sync client needs from its HTTP stack, checked before it sends anything.

The client reads every answer streaming, with ``urllib3.response.HTTPResponse.read1`` (urllib3 2.2+). With an
older urllib3 (which pip leaves in place when another package pins it) a start would reach QA.tech and
its answer could not be read: a run started, and nothing to show for it. So the client refuses to exist.
"""

from __future__ import annotations

from qatech_orchestration.errors import QATechValidationError

#: The oldest urllib3 that has everything the client calls (pyproject.toml declares the same floor).
URLLIB3_FLOOR = "2.2"


def check_sync_transport() -> None:
    """Raise :class:`QATechValidationError` (field ``urllib3``) when urllib3 cannot stream answers."""
    import urllib3
    from urllib3.response import HTTPResponse

    if not hasattr(HTTPResponse, "read1"):
        installed = getattr(urllib3, "__version__", "(unknown version)")
        raise QATechValidationError(
            f"urllib3 {installed} cannot read QA.tech's answers as this client does "
            f"(HTTPResponse.read1, urllib3 {URLLIB3_FLOOR}+), so nothing was sent: "
            f'pip install "urllib3>={URLLIB3_FLOOR}" (qatech-orchestration requires it; another package pinned '
            "an older one)",
            field="urllib3",
        )


__all__ = ["URLLIB3_FLOOR", "check_sync_transport"]
