"""A real HTTP server on 127.0.0.1 that answers like QA.tech's v1 API (standard library only)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from qatech_orchestration.emulator.state import (
    BadRequest,
    EmulatedProject,
    Fault,
    Outcome,
    RecordedRequest,
)

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "qatech-emulator-token"
_RUN_PATH = re.compile(r"^/v1/run/([^/]+)$")
_DASHBOARD_PATH = re.compile(r"^/dashboard/runs/([^/]+)$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: bursts of clients are queued, not reset
    block_on_close = False  # stopping must not wait for a delayed answer nobody reads any more
    allow_reuse_address = True
    project: EmulatedProject
    tokens: frozenset[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout) leaves a broken pipe behind: expected in fault tests.
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("emulator: client %s went away", client_address)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for the client's
    # delayed ACK of the headers on every keep-alive request.
    disable_nagle_algorithm = True
    #: A client that announced more body than it sent gets a 400 after this many seconds, not a hung thread.
    body_timeout = 5.0

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator: " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _unsupported(self) -> None:
        path = urlsplit(self.path).path
        if path == "/v1/run" or _RUN_PATH.match(path):
            allow = "POST" if path == "/v1/run" else "GET, POST"
            self._json(405, {"message": f"Method {self.command} not allowed"}, {"Allow": allow})
        else:
            self._json(404, {"message": f"Cannot {self.command} {path}"})

    do_PUT = do_DELETE = do_PATCH = _unsupported

    def _body(self) -> bytes | None:
        """The request body, or None after answering 400 (bad length, chunked, or cut short)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse("Chunked request bodies are not supported; send Content-Length")
            return None
        text = self.headers.get("Content-Length") or "0"
        if not text.isdigit():
            self._refuse(f"Invalid Content-Length: {text[:20]!r}")
            return None
        length = int(text)
        self.connection.settimeout(self.body_timeout)  # only while reading the body: idle keep-alive stays open
        try:
            raw = self.rfile.read(length) if length else b""
        except OSError:  # socket timeout: the client sent less than it announced
            raw = b""
        finally:
            self.connection.settimeout(None)
        if len(raw) < length:
            self._refuse("Request body shorter than its Content-Length")
            return None
        return raw

    def _refuse(self, message: str) -> None:
        self.close_connection = True
        self._json(400, {"message": message})

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, dict(parse_qsl(parts.query))
        raw = self._body()
        if raw is None:
            return
        project = self.server.project

        dashboard = _DASHBOARD_PATH.match(path)
        if method == "GET" and dashboard:
            self._dashboard(dashboard.group(1))
            return
        if method == "GET" and path == "/_emulator/stats":  # for benchmarks driving an emulator process
            self._json(200, project.stats())
            return

        endpoint, short_id = _route(method, path)
        scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
        authorized = scheme.lower() == "bearer" and credentials.strip() in self.server.tokens
        body: Any = None
        parse_error = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                parse_error = "Request body is not valid JSON"
                body = raw.decode("utf-8", "replace")
        project.record(RecordedRequest(method, path, query, body, authorized, self.headers.get("User-Agent"), endpoint))
        if endpoint is None:
            self._json(404, {"message": f"Cannot {method} {path}"})
            return
        if not authorized:
            self._json(401, {"message": "Missing or invalid API key"})
            return
        fault = project.take_fault(endpoint)
        if fault is not None and fault.status is not None and fault.rejects_request:
            self._json(fault.status, {"message": fault.message}, fault.headers)
            return
        try:
            if parse_error:
                raise BadRequest(parse_error)
            if endpoint == "start_run":
                status, payload = 200, project.start_run(body)
            elif endpoint == "rerun":
                if not raw:  # QA.tech's OpenAPI file: the rerun body is required ({} reruns everything)
                    raise BadRequest("Request body is required; send {} to rerun every test case")
                status, payload = 200, project.rerun(str(short_id), body)
            else:
                if "projectShortId" in query:
                    project.check_project(query["projectShortId"])
                status, payload = 200, project.get_run(str(short_id), query.get("testCases"))
        except BadRequest as exc:
            status, payload = exc.status, {"message": exc.message}
        if fault is not None:
            self._faulty(fault, status, payload)
            return
        self._json(status, payload)

    def _faulty(self, fault: Fault, status: int, payload: Any) -> None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop == "before":
            self.close_connection = True
            self.connection.close()
            return
        if fault.drop == "mid":
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()
            return
        if fault.malformed:
            self._raw(200, b'{"success": true, "run": {"shortId": ', "application/json", fault.headers)
            return
        if fault.html:
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            self._raw(fault.status or 200, page, "text/html", fault.headers)
            return
        if fault.body is not None:
            self._json(fault.status or 200, fault.body, fault.headers)
            return
        self._json(status, payload, fault.headers)

    def _dashboard(self, short_id: str) -> None:
        run = self.server.project.runs.get(short_id)
        if run is None:
            self._raw(404, b"<h1>Run not found</h1>", "text/html", {})
            return
        rows = "".join(f"<li>{c.name}: {c.final_result} - {c.result_title}</li>" for c in run.test_cases)
        page = f"<h1>QA.tech emulator run {short_id}</h1><p>{run.outcome.status}</p><ul>{rows}</ul>"
        self._raw(200, page.encode(), "text/html", {})

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(payload).encode(), "application/json", headers or {})

    def _raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _route(method: str, path: str) -> tuple[str | None, str | None]:
    if path == "/v1/run" and method == "POST":
        return "start_run", None
    match = _RUN_PATH.match(path)
    if match:
        return ("rerun" if method == "POST" else "get_run"), match.group(1)
    return None, None


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
    """

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
    ) -> None:
        self.token = token
        self._server = _Server((host, port), _Handler)
        self._server.tokens = frozenset((token, *tokens))
        host_name, port_number = self._server.server_address[:2]
        self.host = str(host_name)
        self.port = int(port_number)
        self.project = EmulatedProject(
            polls_to_finish=polls_to_finish,
            project_short_id=project_short_id,
            test_plans=test_plans,
            slack_channels=slack_channels,
            default_outcome=default_outcome,
            dashboard_url=f"http://{self.host}:{self.port}/dashboard",
        )
        self._server.project = self.project
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"QATechEmulator(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The value to pass as the client's ``base_url``."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> QATechEmulator:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="qatech-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command line uses this)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def __enter__(self) -> QATechEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Scripting, delegated to the project.
    def script_outcome(
        self,
        outcome: str | Outcome,
        *,
        test_plan_short_id: str | None = None,
        failing: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Script the next ``times`` runs (or every run of ``test_plan_short_id``): ``PASSED``,
        ``FAILED`` (with ``failing={name: resultTitle}``), ``SKIPPED``, ``ERROR``, ``CANCELLED``,
        ``NEVER`` (stays RUNNING) or an undocumented status string."""
        self.project.script_outcome(outcome, test_plan_short_id=test_plan_short_id, failing=failing, times=times)

    def inject_fault(self, endpoint: str, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Make ``start_run``, ``get_run`` or ``rerun`` misbehave; see :class:`Fault`."""
        return self.project.inject_fault(endpoint, fault, **kwargs)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        return list(self.project.requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return self.project.requests_to(endpoint)
