"""Processes started by tests: each in a process group of its own, stopped with its children in all cases
(the test passed, failed, timed out or was interrupted), its output shown when something went wrong."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO, Any

from tests.deadlines import poll_until, scaled

#: How long a process has to exit after SIGTERM before it is killed.
GRACE = 10.0


def stop_group(process: subprocess.Popen[Any], grace: float = GRACE) -> None:
    """SIGTERM the process's group; SIGKILL it if the leader has not exited after ``scaled(grace)``. The group
    is killed in any case, so that no child (a worker, a code server) outlives the test."""
    stop_groups([process], grace)


def stop_groups(processes: list[subprocess.Popen[Any]], grace: float = GRACE) -> None:
    """:func:`stop_group` for several processes at once: all are asked first, then each is waited for."""
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    end = time.monotonic() + scaled(grace)
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, end - time.monotonic()))
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=scaled(grace))


def tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else f"[... {len(text) - limit} characters before]\n{text[-limit:]}"


def run(args: Sequence[str], *, timeout: float, check: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args, capture_output=True, text=True)`` that kills the whole process group at
    ``scaled(timeout)`` and then fails with the output so far; ``check=True`` fails with the output when the
    exit code is not 0 (``CalledProcessError`` would show only the command line)."""
    kwargs.setdefault("text", True)
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kwargs)
    try:
        out, err = process.communicate(timeout=scaled(timeout))
    except subprocess.TimeoutExpired:
        stop_group(process, grace=1)
        out, err = process.communicate()
        raise AssertionError(
            f"{args[0]} did not finish within {scaled(timeout):.0f} s; stdout:\n{tail(out or '')}\n"
            f"stderr:\n{tail(err or '')}"
        ) from None
    finally:
        if process.poll() is None:  # interrupted while waiting: stop it
            stop_group(process, grace=1)
        with suppress(ProcessLookupError):  # children it left behind in its group
            os.killpg(process.pid, signal.SIGKILL)
    if check and process.returncode != 0:
        raise AssertionError(
            f"{args[0]} exited {process.returncode}; stdout:\n{tail(out or '')}\nstderr:\n{tail(err or '')}"
        )
    return subprocess.CompletedProcess(args, process.returncode, out, err)


class Started:
    """A process started by :func:`started`: its merged output so far, read by a thread (a ``readline()`` on
    a process that hangs without writing would block the test forever)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._chunks: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self._chunks.append(line)

    def output(self) -> str:
        return "".join(self._chunks)

    def wait_for_output(self, text: str, timeout: float) -> str:
        """The output once it holds ``text`` (or the process ended without writing it: fail, showing it)."""

        def seen() -> str | None:
            out = self.output()
            if text in out:
                return out
            if self.process.poll() is not None:
                self._reader.join(scaled(5))
                out = self.output()
                if text in out:
                    return out
                raise AssertionError(f"exited {self.process.returncode} before printing {text!r}:\n{tail(out)}")
            return None

        return poll_until(f"{text!r} in the output", seen, timeout, details=lambda: tail(self.output()))

    def exit_code(self, timeout: float) -> int:
        """Wait for the process to exit (after a signal); fail with its output if it does not."""
        try:
            code = self.process.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {scaled(timeout):.0f} s later; output:\n{tail(self.output())}"
            ) from None
        self._reader.join(scaled(5))
        return code


@contextmanager
def started(args: Sequence[str], **kwargs: Any) -> Iterator[Started]:
    """Start ``args`` (stdout and stderr merged, text); on leaving, however that happens, stop it and its
    children (:func:`stop_group`). If the block raised, the output is printed, so the report shows it."""
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs
    )
    handle = Started(process)
    try:
        yield handle
    except BaseException:
        print(f"--- output of {args[0]}:\n{tail(handle.output())}")
        raise
    finally:
        stop_group(process)
