"""A small TCP proxy between the deployment and the emulator, to take the QA.tech API away and give it back.

The emulator keeps its runs in memory, so the outage is made in front of it: ``refuse()`` shuts the listening
socket down and closes it (connections are refused), ``hang()`` listens again and accepts connections that
never get an answer, ``restore()`` forwards again. Each switch also closes the connections already open:
keep-alive connections would otherwise slip through an outage (or stay hung after it).
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from types import TracebackType

from tests.system.processes import free_port

FORWARD, REFUSE, HANG = "forward", "refuse", "hang"


class TCPProxy:
    """Forwards ``127.0.0.1:port`` to ``target_port``; ``mode`` is ``forward``, ``refuse`` or ``hang``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.mode = FORWARD
        self.accepted = {FORWARD: 0, HANG: 0}  # connections accepted in each mode
        self.refused_since: float | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> TCPProxy:
        self._listen()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._closed = True
        self._close_listener()
        self._close_open()
        for thread in self._threads:
            thread.join(timeout=10)

    # --- switching -------------------------------------------------------------------------------

    def refuse(self) -> None:
        """Connection refused: nothing listens on the port any more."""
        with self._lock:
            self.mode = REFUSE
        self._close_listener()
        self._close_open()

    def hang(self) -> None:
        """Connections are accepted and never answered (a black-holed API behind a load balancer)."""
        self._switch(HANG)

    def restore(self) -> None:
        self._switch(FORWARD)

    def _switch(self, mode: str) -> None:
        with self._lock:
            previous, self.mode = self.mode, mode
        self._close_open()
        if previous == REFUSE:
            self._listen()

    # --- plumbing --------------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        end = time.monotonic() + 30
        while True:  # the port was ours a moment ago; a lingering close may hold it briefly
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        listener.listen(256)
        self._listener = listener
        self._spawn(self._accept, listener)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() first: a thread blocked in accept() would otherwise keep the socket listening.
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _close_open(self) -> None:
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was shut down (refuse, or the end)
                return
            with self._lock:
                mode = self.mode
                self._open.add(client)
                self.accepted[mode] = self.accepted.get(mode, 0) + 1
            if mode == HANG:
                continue  # accepted and left unanswered until the next switch closes it
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.add(upstream)
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.difference_update((source, sink))
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
