"""A loopback HTTP server that misbehaves on purpose: each test scripts the raw bytes it answers with.

Unlike the emulator (a faithful QA.tech), this server does whatever the test says: drip a body one byte at a
time, announce one run and answer for another, send a gzip bomb, redirect, stall. It records every request
(method, path, headers, body) and how many body bytes it managed to send before the client hung up.
"""

from __future__ import annotations

import gzip
import json
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Seen:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What to answer: status, headers and body, sent whole, or in ``drip`` pieces ``pause`` seconds apart."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip: int = 0
    pause: float = 0.0

    @classmethod
    def json(cls, payload: Any, status: int = 200, **kwargs: Any) -> Reply:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json"}, **kwargs)

    @classmethod
    def gzipped(cls, raw: bytes, status: int = 200) -> Reply:
        return cls(status, gzip.compress(raw, 9), {"Content-Type": "application/json", "Content-Encoding": "gzip"})


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(65537)
            if not line:
                return
            method, path, _ = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (header := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self.rfile.read(int(headers.get("content-length", "0") or 0))
            seen = Seen(method, path, headers, body)
            self.server.seen.append(seen)
            reply = self.server.respond(seen)
            if not self._send(reply):
                return

    def _send(self, reply: Reply) -> bool:
        head = f"HTTP/1.1 {reply.status} Scripted\r\nContent-Length: {len(reply.body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items()) + "\r\n"
        try:
            self.wfile.write(head.encode("latin-1"))
            if not reply.drip:
                self.wfile.write(reply.body)
                self.server.sent.append(len(reply.body))
                return True
            sent = 0
            for i in range(0, len(reply.body), reply.drip):
                self.wfile.write(reply.body[i : i + reply.drip])
                self.wfile.flush()
                sent += len(reply.body[i : i + reply.drip])
                time.sleep(reply.pause)
            self.server.sent.append(sent)
            return True
        except OSError:  # the client hung up: record how far we got
            self.server.sent.append(-1)
            return False


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    respond: Callable[[Seen], Reply]
    seen: list[Seen]
    sent: list[int]


class HostileServer:
    """``with HostileServer(lambda seen: Reply.json({...})) as server: ... server.base_url``"""

    def __init__(self, respond: Callable[[Seen], Reply]) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.respond = respond
        self._server.seen = []
        self._server.sent = []
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def seen(self) -> list[Seen]:
        return self._server.seen

    @property
    def sent(self) -> list[int]:
        """Body bytes sent per answer; -1 where the client hung up before the end."""
        return self._server.sent

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def started(short_id: str) -> dict[str, Any]:
    return {
        "success": True,
        "run": {"id": "5b0c1e0e", "shortId": short_id, "url": f"https://app.qa.tech/r/{short_id}", "testCount": 1,
                "testPlan": {"name": "Smoke", "shortId": "pln_a"}},
    }  # fmt: skip


def status(short_id: str, state: str = "COMPLETED", result: str | None = "PASSED") -> dict[str, Any]:
    return {"id": "5b0c1e0e", "shortId": short_id, "status": state, "result": result, "runTestCases": []}
