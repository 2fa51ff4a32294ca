"""A recording HTTP forward proxy on loopback, as a company's egress proxy would be (tests only).

Plain ``http://`` requests arrive in absolute form (``GET http://host:port/path``) and are relayed one by one;
``https://`` ones open a ``CONNECT host:port`` tunnel whose bytes are piped untouched (TLS stays end to end).
Every request line is recorded with its ``Proxy-Authorization`` header; with ``credentials`` set, a request
without them is answered 407, as an authenticating proxy does.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    headers: dict[str, str]

    @property
    def proxy_authorization(self) -> str | None:
        return self.headers.get("proxy-authorization")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(65537)
            if not line.strip():
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers = self._headers()
            auth = headers.get("proxy-authorization")
            self.server.seen.append(Seen(method, target, headers))
            if self.server.expected_auth and auth != self.server.expected_auth:
                self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
            if method == "CONNECT":
                self._tunnel(target)
                return
            if not self._relay(method, target, headers):
                return

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        while (header := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _tunnel(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        _pipe(self.connection, upstream)

    def _relay(self, method: str, target: str, headers: dict[str, str]) -> bool:
        url = urlsplit(target)
        body = self.rfile.read(int(headers.get("content-length", "0") or 0))
        with socket.create_connection((url.hostname or "", url.port or 80), timeout=30) as upstream:
            path = url.path + (f"?{url.query}" if url.query else "")
            forwarded = {k: v for k, v in headers.items() if not k.startswith("proxy-")}
            head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in forwarded.items())
            upstream.sendall(head.encode("latin-1") + b"\r\n" + body)
            reader = upstream.makefile("rb")
            status = reader.readline(65537)
            answer = [status]
            length = 0
            while (header := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
                answer.append(header)
                name, _, value = header.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            answer.append(b"\r\n")
            answer.append(reader.read(length))
        self.wfile.write(b"".join(answer))
        self.wfile.flush()
        return bool(status)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def copy(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join(5)
    b.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    seen: list[Seen]
    expected_auth: str | None


class ForwardProxy:
    """``with ForwardProxy() as proxy: ... proxy.url``; ``proxy.seen`` lists what went through it."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []
        self._server.expected_auth = None
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        if credentials is not None:
            user, password = credentials
            self._server.expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            self.url = f"http://{user}:{password}@127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def seen(self) -> list[Seen]:
        return list(self._server.seen)

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
