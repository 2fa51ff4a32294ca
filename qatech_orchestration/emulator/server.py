"""A real HTTP server on 127.0.0.1 that answers like QA.tech's v1 API (standard library only: asyncio).

One event loop in a background thread serves every connection (HTTP/1.1 keep-alive), so thousands of status
reads per second fit on loopback and benchmarks measure the package, not the emulator. ``latency`` delays
every API answer, like a real API far away; it costs no thread while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from qatech_orchestration.emulator.state import (
    BadRequest,
    EmulatedProject,
    EmulatedRun,
    Fault,
    Outcome,
    RecordedRequest,
)

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "qatech-emulator-token"
_RUN_PATH = re.compile(r"^/v1/run/([^/]+)$")
_DASHBOARD_PATH = re.compile(r"^/dashboard/runs/([^/]+)$")
_MAX_LINE = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024


class _Refused(Exception):
    """A request that gets a 400 and a closed connection (bad length, chunked, cut short)."""


class _Request:
    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(target)
        # Blank values kept: "?testCases=" is an empty enum value, which QA.tech's schema forbids (a 400).
        self.method, self.path, self.query = method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers, self.body = headers, body


def _route(method: str, path: str) -> tuple[str | None, str | None]:
    if path == "/v1/run" and method == "POST":
        return "start_run", None
    match = _RUN_PATH.match(path)
    if match and method in ("GET", "POST"):
        return ("rerun" if method == "POST" else "get_run"), match.group(1)
    return None, None


def _response(status: int, body: bytes, content_type: str, headers: dict[str, str], close: bool) -> bytes:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class QATechEmulator:
    """QA.tech's v1 API on 127.0.0.1, for tests and demos.

    Use it as a context manager::

        with QATechEmulator() as emu:
            client = QATechClient(emu.token, base_url=emu.base_url)
            emu.script_outcome("FAILED", failing={"Checkout": "Pay button missing"})

    Args:
        token: the API token the emulator accepts (others get 401). Extra tokens may be given in ``tokens``.
        port: 0 picks a free port.
        polls_to_finish: how many status reads a run takes to reach its terminal state
            (first read INITIATED, then RUNNING, then the outcome).
        default_outcome: how runs end when nothing is scripted (see :meth:`script_outcome`).
        test_plans: ``{short_id: name}``; when given, other test plans get 404.
        slack_channels: when given, other Slack channels get QA.tech's 400.
        project_short_id: the project the token belongs to (another ``projectShortId`` gets 403).
        latency: seconds every API answer takes (a real API is far away; 0 answers at once).
        ssl_context: serve HTTPS with this server context (its certificate for ``host``); ``base_url`` is then
            ``https://`` (tests of a private CA, and of proxies that tunnel with CONNECT).
    """

    #: A client that announced more body than it sent gets a 400 after this many seconds.
    body_timeout = 5.0

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        tokens: tuple[str, ...] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        polls_to_finish: int = 2,
        default_outcome: str | Outcome = "PASSED",
        test_plans: dict[str, str] | None = None,
        slack_channels: set[str] | None = None,
        project_short_id: str = "proj_emulator",
        latency: float = 0.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.token = token
        self._ssl = ssl_context
        self.tokens = frozenset((token, *tokens))
        self.latency = latency
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(1024)  # the backlog: bursts of clients are queued, not reset
        self._sock.setblocking(False)
        host_name, port_number = self._sock.getsockname()[:2]
        self.host = str(host_name)
        self.port = int(port_number)
        self._polls_to_finish, self._default_outcome = polls_to_finish, default_outcome
        self.project = EmulatedProject(
            polls_to_finish=polls_to_finish,
            project_short_id=project_short_id,
            test_plans=test_plans,
            slack_channels=slack_channels,
            default_outcome=default_outcome,
            dashboard_url=f"{self.scheme}://{self.host}:{self.port}/dashboard",
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._hung_until = 0.0  # loop time until which requests are read and never answered
        self._handlers: set[asyncio.Task[None]] = set()
        self.connections_accepted = 0
        #: ``time.time()`` when the last outage ended (QA.tech answering again), for benchmarks
        self.outage_ended_at: float | None = None
        self._in_flight = 0
        #: the most API requests being answered at once (since the start, or the end of the last outage)
        self.in_flight_peak = 0

    def __repr__(self) -> str:
        return f"QATechEmulator(base_url={self.base_url!r})"

    @property
    def scheme(self) -> str:
        return "https" if self._ssl is not None else "http"

    @property
    def base_url(self) -> str:
        """The value to pass as the client's ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/v1"

    # --- lifecycle -------------------------------------------------------------------------

    async def _serve(self, ready: threading.Event | None = None, stop_signals: Iterable[int] = ()) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for signum in stop_signals:
            self._stop_on(signum)
        self._server = await asyncio.start_server(self._connection, sock=self._sock, limit=_MAX_LINE, ssl=self._ssl)
        if ready is not None:
            ready.set()
        await self._stopping.wait()
        if self._server is not None:  # None during a "refused" outage
            self._server.close()
        for writer in list(self._writers):  # idle keep-alive connections: do not wait for them
            writer.close()
        # Let each connection's handler see its closed stream and return before the loop ends: a handler
        # that asyncio.run() cancels instead makes Python 3.11's StreamReaderProtocol log "Exception in
        # callback ... CancelledError" for a client that merely kept its connection open.
        handlers = [task for task in self._handlers if not task.done()]
        if handlers:
            await asyncio.wait(handlers, timeout=1.0)

    def start(self) -> QATechEmulator:
        if self._thread is None:
            ready = threading.Event()
            self._thread = threading.Thread(
                target=lambda: asyncio.run(self._serve(ready)), name="qatech-emulator", daemon=True
            )
            self._thread.start()
            ready.wait(10)
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)
            self._thread = None
        self._sock.close()

    def _stop_on(self, signum: int) -> None:
        """Stop serving on ``signum``, whatever its disposition was: a process started as a background job
        (``cmd &`` in a non-interactive shell) inherits SIGINT ignored, and containers stop with SIGTERM."""
        assert self._loop is not None and self._stopping is not None
        try:
            self._loop.add_signal_handler(signum, self._stopping.set)
        except NotImplementedError:  # Windows' event loops: a plain handler that wakes the loop
            loop, stopping = self._loop, self._stopping
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stopping.set))

    def serve_forever(self, stop_signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Serve in the calling (main) thread until one of ``stop_signals`` arrives, then close the
        connections and return (the command line uses this)."""
        try:
            asyncio.run(self._serve(stop_signals=tuple(stop_signals)))
        finally:
            self._sock.close()

    def __enter__(self) -> QATechEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting, delegated to the project ---------------------------------------------------

    def script_outcome(
        self,
        outcome: str | Outcome,
        *,
        test_plan_short_id: str | None = None,
        failing: dict[str, str] | None = None,
        times: int = 1,
        reads: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Script the next ``times`` runs (or every run of ``test_plan_short_id``): ``PASSED``,
        ``FAILED`` (with ``failing={name: resultTitle}``), ``SKIPPED``, ``ERROR``, ``CANCELLED``,
        ``NEVER`` (stays RUNNING) or an undocumented status string; how long they take: ``reads`` status
        reads or ``seconds`` (default: ``polls_to_finish`` reads)."""
        self.project.script_outcome(
            outcome, test_plan_short_id=test_plan_short_id, failing=failing, times=times, reads=reads, seconds=seconds
        )

    def reset(self) -> None:
        """Forget every run, request, scripted outcome and fault, and end any outage: a new project, with
        the settings this emulator was made with (a session's emulator, shared by its tests)."""
        old = self.project
        self.project = EmulatedProject(
            polls_to_finish=self._polls_to_finish,
            project_short_id=old.project_short_id,
            test_plans=old.test_plans,
            slack_channels=old.slack_channels,
            default_outcome=self._default_outcome,
            dashboard_url=old.dashboard_url,
        )
        self._hung_until = 0.0
        if self._loop is not None and self._server is None:  # a refused outage: listen again now
            asyncio.run_coroutine_threadsafe(self._listen_again(), self._loop).result(10)

    def release_held_runs(self, test_plan_short_id: str) -> int:
        """Runs of ``test_plan_short_id`` scripted ``NEVER`` pass at their next read; later runs of the plan
        are no longer held. Returns how many runs were released."""
        return self.project.release_held_runs(test_plan_short_id)

    def add_run(
        self,
        short_id: str,
        outcome: str | Outcome = "PASSED",
        *,
        failing: dict[str, str] | None = None,
        test_plan_short_id: str = "pln_default",
    ) -> EmulatedRun:
        """A finished run under a short ID of your choice (``add_run("abc123", "FAILED")``), as if started
        elsewhere; ``failing`` as for :meth:`script_outcome`."""
        return self.project.add_run(short_id, outcome, failing=failing, test_plan_short_id=test_plan_short_id)

    def inject_fault(self, endpoint: str, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Make ``start_run``, ``get_run`` or ``rerun`` misbehave; see :class:`Fault`."""
        return self.project.inject_fault(endpoint, fault, **kwargs)

    def outage(self, seconds: float, *, mode: str = "refused") -> None:
        """QA.tech goes away for ``seconds``, from now; the runs go on (their reads count once it is back).

        ``mode="refused"``: nothing listens, so connections are refused, and the connections already open
        are closed (keep-alive connections would otherwise slip through). ``mode="hung"``: connections are
        accepted and requests read, but never answered (those connections stay silent; new ones made after
        the outage are answered), like a load balancer in front of a stuck service.
        """
        if mode not in ("refused", "hung"):
            raise ValueError(f"mode must be 'refused' or 'hung', not {mode!r}")
        if self._loop is None:
            raise RuntimeError("the emulator is not serving: start() it first")
        asyncio.run_coroutine_threadsafe(self._outage(seconds, mode), self._loop).result(10)

    async def _outage(self, seconds: float, mode: str) -> None:
        loop = asyncio.get_running_loop()
        if mode == "hung":
            self._hung_until = loop.time() + seconds
            loop.call_later(seconds, self._outage_ended)
            return
        if self._server is None:
            return  # already refusing
        self._server.close()
        self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        loop.call_later(seconds, lambda: loop.create_task(self._listen_again()))

    async def _listen_again(self) -> None:
        if self._stopping is None or self._stopping.is_set():
            return
        for _ in range(50):  # the port may be briefly held by a socket in the middle of closing
            try:
                self._server = await asyncio.start_server(
                    self._connection,
                    host=self.host,
                    port=self.port,
                    limit=_MAX_LINE,
                    reuse_address=True,
                    backlog=1024,
                    ssl=self._ssl,
                )
                self._outage_ended()
                return
            except OSError:
                await asyncio.sleep(0.1)
        log.error("emulator: could not listen on port %s again after an outage", self.port)

    def _outage_ended(self) -> None:
        self.outage_ended_at = time.time()
        self.in_flight_peak = self._in_flight

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        return list(self.project.requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return self.project.requests_to(endpoint)

    # --- HTTP ----------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # headers and body go out in one write anyway; no delayed-ACK stalls
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        self.connections_accepted += 1
        try:
            while True:
                try:
                    request = await self._read_request(reader)
                except _Refused as exc:
                    writer.write(
                        _response(400, json.dumps({"message": str(exc)}).encode(), "application/json", {}, True)
                    )
                    await writer.drain()
                    return
                if request is None:
                    return
                if not await self._answer(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            log.debug("emulator: client went away")
        except asyncio.CancelledError:
            # The emulator is stopping with this answer in flight (e.g. in its latency). Ending quietly: Python
            # 3.11's stream callback reads a cancelled connection task's exception and logs a traceback.
            log.debug("emulator: stopped with a request in flight")
        finally:
            self._writers.discard(writer)
            if handler is not None:
                self._handlers.discard(handler)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> _Request | None:
        line = await reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _Refused("Chunked request bodies are not supported; send Content-Length")
        text = headers.get("content-length", "0") or "0"
        if not text.isdigit() or int(text) > _MAX_BODY:
            raise _Refused(f"Invalid Content-Length: {text[:20]!r}")
        body = b""
        if int(text):
            try:
                body = await asyncio.wait_for(reader.readexactly(int(text)), self.body_timeout)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError):
                raise _Refused("Request body shorter than its Content-Length") from None
        return _Request(method, target, headers, body)

    async def _answer(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Write the answer; False when the connection must close."""
        if asyncio.get_running_loop().time() < self._hung_until:
            return await self._answer_never()
        self._in_flight += 1
        self.in_flight_peak = max(self.in_flight_peak, self._in_flight)
        try:
            status, payload, headers, fault = await self._handle(request)
        finally:
            self._in_flight -= 1
        log.debug('emulator: "%s %s" %s', request.method, request.path, status)
        if fault is not None:
            return await self._faulty(fault, status, payload, writer)
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        content_type = "text/html" if isinstance(payload, bytes) else "application/json"
        close = request.headers.get("connection", "").lower() == "close"
        writer.write(_response(status, body, content_type, headers, close))
        await writer.drain()
        return not close

    async def _answer_never(self) -> bool:
        """A hung outage: the request is never answered (the connection closes when the emulator stops)."""
        if self._stopping is not None:
            await self._stopping.wait()
        return False

    async def _handle(self, request: _Request) -> tuple[int, Any, dict[str, str], Fault | None]:
        project, method, path = self.project, request.method, request.path
        dashboard = _DASHBOARD_PATH.match(path)
        if method == "GET" and dashboard:
            return (*self._dashboard(dashboard.group(1)), {}, None)
        if method == "POST" and path == "/_emulator/seed":  # benchmarks: many runs at once, without latency
            count = int(request.query.get("count", "1"))
            return 200, {"short_ids": [project.start_run({})["run"]["shortId"] for _ in range(count)]}, {}, None
        if method == "GET" and path == "/_emulator/stats":  # for benchmarks driving an emulator process
            sockets = {"connections_accepted": self.connections_accepted, "connections_open": len(self._writers)}
            timing = {"outage_ended_at": self.outage_ended_at, "in_flight_peak": self.in_flight_peak}
            return 200, {**project.stats(), **sockets, **timing}, {}, None
        if method == "POST" and path == "/_emulator/outage":  # benchmarks: QA.tech away, once this is answered
            seconds, mode = float(request.query.get("seconds", "60")), request.query.get("mode", "refused")
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, lambda: loop.create_task(self._outage(seconds, mode)))
            return 200, {"outage_s": seconds, "mode": mode}, {}, None
        if method == "GET" and path == "/_emulator/first-reads":  # benchmarks: who read again, and when
            return 200, project.first_reads_after(float(request.query.get("after", "0"))), {}, None
        endpoint, short_id = _route(method, path)
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        authorized = scheme.lower() == "bearer" and credentials.strip() in self.tokens
        body: Any = None
        parse_error = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                parse_error = "Request body is not valid JSON"
                body = request.body.decode("utf-8", "replace")
            else:
                if body is None:  # the schema's request bodies are objects: a JSON null is not one
                    parse_error = "Request body must be a JSON object, not null"
        user_agent = request.headers.get("user-agent")
        project.record(RecordedRequest(method, path, request.query, body, authorized, user_agent, endpoint))
        if endpoint is None:
            if path == "/v1/run" or _RUN_PATH.match(path):
                allow = "POST" if path == "/v1/run" else "GET, POST"
                return 405, {"message": f"Method {method} not allowed"}, {"Allow": allow}, None
            return 404, {"message": f"Cannot {method} {path}"}, {}, None
        if not authorized:
            return 401, {"message": "Missing or invalid API key"}, {}, None
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = project.take_fault(endpoint)
        if fault is not None and fault.outage:
            return 0, None, {}, fault  # QA.tech goes away: not processed
        if fault is not None and fault.status is not None and fault.rejects_request:
            return fault.status, {"message": fault.message}, dict(fault.headers), None
        try:
            if parse_error:
                raise BadRequest(parse_error)
            if endpoint == "start_run":
                status, payload = 200, project.start_run(body)
            elif endpoint == "rerun":
                if not request.body:  # QA.tech's OpenAPI file: the rerun body is required ({} reruns all)
                    raise BadRequest("Request body is required; send {} to rerun every test case")
                status, payload = 200, project.rerun(str(short_id), body)
            else:
                if "projectShortId" in request.query:
                    project.check_project(request.query["projectShortId"])
                status, payload = 200, project.get_run(str(short_id), request.query.get("testCases"))
        except BadRequest as exc:
            status, payload = exc.status, {"message": exc.message}
        return status, payload, {}, fault

    async def _faulty(self, fault: Fault, status: int, payload: Any, writer: asyncio.StreamWriter) -> bool:
        if fault.outage:
            await self._outage(fault.outage, fault.outage_mode)
            if fault.outage_mode == "hung":
                return await self._answer_never()
            writer.transport.abort()
            return False
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop == "before":
            return False
        if fault.drop == "mid":
            data = json.dumps(payload).encode()
            full = _response(200, data, "application/json", {}, False)
            writer.write(full[: len(full) - len(data) // 2])
            await writer.drain()
            return False
        if fault.malformed:
            writer.write(
                _response(200, b'{"success": true, "run": {"shortId": ', "application/json", fault.headers, False)
            )
        elif fault.html:
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            writer.write(_response(fault.status or 200, page, "text/html", fault.headers, False))
        elif fault.body is not None:
            data = json.dumps(fault.body).encode()
            writer.write(_response(fault.status or 200, data, "application/json", fault.headers, False))
        else:
            writer.write(_response(status, json.dumps(payload).encode(), "application/json", fault.headers, False))
        await writer.drain()
        return True

    def _dashboard(self, short_id: str) -> tuple[int, bytes]:
        run = self.project.runs.get(short_id)
        if run is None:
            return 404, b"<h1>Run not found</h1>"
        rows = "".join(f"<li>{c.name}: {c.final_result} - {c.result_title}</li>" for c in run.test_cases)
        return 200, f"<h1>QA.tech emulator run {short_id}</h1><p>{run.outcome.status}</p><ul>{rows}</ul>".encode()
