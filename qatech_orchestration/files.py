"""Writing report files: whole or not at all, never half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it into place: a
    reader (a CI job collecting the report, a later step) sees the old file or the whole new one, never a
    part. Missing parent folders are created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the report from a CI agent running as another user
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` in one write (GitHub Actions' ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` are files
    that each step appends to)."""
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)


def check_writable(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be written as a report file, or ``None`` when it can (checked before a run starts)."""
    target = Path(path)
    if target.is_dir():
        return "is a folder; give a file path"
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # write_atomically creates the missing folders below this one
    if not parent.is_dir():
        return f"cannot be created: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be written: no write permission in {parent}"
    return None
