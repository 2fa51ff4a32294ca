"""A broken or hostile API, and bad input: typed errors, bounded waits and memory, no false success, no
token in clear. Each test names the fault it covers; docs/reliability.md lists them (``ROWS``)."""

from __future__ import annotations

import json
import logging
import math
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration import (
    ApplicationOverride,
    QATechBadResponseError,
    QATechClient,
    QATechError,
    QATechServerError,
    QATechValidationError,
    QATechWaitTimeout,
)
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.hostile.server import HostileServer, Reply, Seen, started, status

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"

#: (fault, what happens, the test that shows it): rendered into docs/reliability.md.
ROWS: list[tuple[str, str, str]] = [
    (
        "a start answers 200 with an empty or path-like run short ID",
        '`QATechBadResponseError` "a run may have started", not retried',
        "test_start_with_a_bad_short_id_is_no_success",
    ),
    (
        "a start answers `success: false` with a 2xx",
        "`QATechBadResponseError` with the server's message",
        "test_success_false_is_an_error",
    ),
    (
        "a status answer is for another run",
        "`QATechBadResponseError`, never taken for that run's result",
        "test_status_for_another_run_is_no_success",
    ),
    (
        "NaN, infinite, zero or negative timeout / poll interval",
        "`QATechValidationError` naming it, nothing sent",
        "test_wait_numbers_are_checked_before_sending",
    ),
    (
        "503 with `Retry-After: 120` during a 1 s wait",
        "`QATechWaitTimeout` at the deadline: no sleep past it",
        "test_retry_after_never_sleeps_past_the_wait_deadline",
    ),
    (
        "a body dripped one byte every 0.5 s",
        "the call ends at `total_timeout`, not at the last byte",
        "test_a_dripping_answer_ends_at_the_total_timeout",
    ),
    (
        "an answer larger than `max_response_bytes`",
        "`QATechBadResponseError`; reading stops at the cap",
        "test_a_huge_answer_stops_at_the_cap",
    ),
    (
        "a gzip bomb (400 KB inflating to 400 MB)",
        "`QATechBadResponseError`; memory stays near the cap",
        "test_a_gzip_bomb_stops_at_the_cap",
    ),
    ("JSON nested 100,000 levels", "`QATechBadResponseError`, no `RecursionError`", "test_deep_json_is_a_bad_response"),
    (
        "a 301/302 on `POST /run`",
        "never followed: an error naming where it pointed, one POST",
        "test_post_redirects_are_never_followed",
    ),
    (
        "a GET redirect within the base URL's origin / to another origin",
        "followed / refused: the token never leaves the origin",
        "test_get_redirects_stay_in_the_origin",
    ),
    (
        "the token echoed in an error, cut at 300 characters, percent- or JSON-encoded",
        "redacted before the text is cut, in every encoding",
        "test_the_token_is_redacted_in_every_form_before_truncation",
    ),
    (
        "`http://` base URL to another machine",
        "`QATechValidationError` unless `allow_insecure_http` / `QATECH_ALLOW_INSECURE_HTTP=1`",
        "test_plain_http_elsewhere_needs_an_explicit_opt_in",
    ),
    (
        "malformed base URL, non-ASCII token, wrongly typed override",
        "`QATechValidationError` naming the field, nothing sent",
        "test_bad_input_is_refused_before_sending",
    ),
    (
        "one client shared by 20 threads",
        'right answers, no "connection pool is full"',
        "test_one_client_shared_by_twenty_threads",
    ),
    (
        "20 clients starting runs at once on the emulator",
        "every start answered (listen backlog 1024)",
        "test_emulator_takes_a_burst_of_clients",
    ),
    (
        "the emulator gets PUT, a bad or chunked or short body, `bearer` in lower case",
        "405 / 400 without a hung thread / accepted",
        "test_emulator_is_strict_about_http",
    ),
]

BEGIN = "<!-- hostile:begin (generated from tests/hostile/test_hostile_api.py ROWS) -->"
END = "<!-- hostile:end -->"


def markdown_rows() -> str:
    lines = [BEGIN, "| Fault | What happens | Test |", "|---|---|---|"]
    lines += [f"| {fault} | {behaviour} | `{test}` |" for fault, behaviour, test in ROWS]
    return "\n".join([*lines, END])


def test_docs_list_every_hostile_fault_and_each_row_has_its_test() -> None:
    assert markdown_rows() in DOC.read_text(), "docs/reliability.md is stale: paste markdown_rows()"
    for _, _, name in ROWS:
        assert callable(globals().get(name)), f"{name} is not a test in this module"


def client(server: HostileServer | QATechEmulator, **kwargs: Any) -> QATechClient:
    settings: dict[str, Any] = {"backoff_factor": 0.01, "max_retries": 2, "read_timeout": 5, **kwargs}
    return QATechClient(TOKEN, base_url=server.base_url, **settings)


def posts(server: HostileServer) -> list[Seen]:
    return [s for s in server.seen if s.method == "POST"]


# ------------------------------------------------------------------------------------------------
# No false success
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("short_id", ["", "../../admin", "a" * 200, "abc 123"])
def test_start_with_a_bad_short_id_is_no_success(short_id: str) -> None:
    with HostileServer(lambda _: Reply.json(started(short_id))) as server:
        with pytest.raises(QATechBadResponseError, match="a run may have started") as info:
            client(server).start_run()
        assert len(posts(server)) == 1
    assert info.value.retryable is False
    assert "run.shortId" in str(info.value)


def test_success_false_is_an_error() -> None:
    answer = {**started("abc123"), "success": False, "message": "Quota check failed"}
    with HostileServer(lambda _: Reply.json(answer)) as server:
        with pytest.raises(QATechBadResponseError, match=r"success: false \(Quota check failed\)") as info:
            client(server).start_run()
        assert len(posts(server)) == 1
    assert info.value.retryable is False


def test_status_for_another_run_is_no_success() -> None:
    expected = "status of run 'zzz999' when asked for 'abc123'"
    with HostileServer(lambda _: Reply.json(status("zzz999"))) as server, pytest.raises(QATechBadResponseError) as info:
        client(server).wait_for_run("abc123", poll_interval=0.01, timeout=5)
    assert expected in str(info.value)


# ------------------------------------------------------------------------------------------------
# Bounded time
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": math.nan}, "poll_interval"),
    ],
)
def test_wait_numbers_are_checked_before_sending(kwargs: dict[str, float], field: str) -> None:
    with HostileServer(lambda _: Reply.json(status("abc123"))) as server:
        with pytest.raises(QATechValidationError) as info:
            client(server).wait_for_run("abc123", **kwargs)
        assert server.seen == []
    assert info.value.field == field


def test_retry_after_never_sleeps_past_the_wait_deadline() -> None:
    sleeps: list[float] = []
    body = json.dumps({"message": "maintenance"}).encode()
    reply = Reply(503, body, {"Content-Type": "application/json", "Retry-After": "120"})
    with HostileServer(lambda _: reply) as server:
        api = client(server, max_retries=4, sleep=sleeps.append)
        with pytest.raises(QATechWaitTimeout, match="did not finish within 1 s"):
            api.wait_for_run("abc123", poll_interval=0.5, timeout=1)
        assert len(server.seen) == 1  # the next attempt could only come after the deadline
    assert sum(sleeps) <= 1  # before: 4 x 120 s planned


def test_a_dripping_answer_ends_at_the_total_timeout() -> None:
    body = json.dumps(status("abc123")).encode()
    with HostileServer(lambda _: Reply(200, body, {"Content-Type": "application/json"}, drip=1, pause=0.5)) as server:
        api = client(server, read_timeout=1, total_timeout=2, max_retries=0)
        with pytest.raises(QATechBadResponseError, match="did not arrive within total_timeout=2 s"):
            api.get_run("abc123")
        for _ in range(100):  # the server notices the hang-up at its next write
            if server.sent:
                break
            threading.Event().wait(0.1)
    # The client hung up long before the last of the ~100 bytes (each byte alone beat the read timeout).
    assert server.sent == [-1]


# ------------------------------------------------------------------------------------------------
# Bounded memory
# ------------------------------------------------------------------------------------------------


def test_a_huge_answer_stops_at_the_cap() -> None:
    huge = b'{"id": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    reply = Reply(200, huge, {"Content-Type": "application/json"})
    with HostileServer(lambda _: reply) as server, pytest.raises(QATechBadResponseError) as info:
        client(server, max_response_bytes=1024 * 1024, max_retries=0).get_run("abc123")
    assert "larger than 1048576 bytes (max_response_bytes)" in str(info.value)


def test_a_gzip_bomb_stops_at_the_cap() -> None:
    bomb = Reply.gzipped(b"[" + b" " * (400 * 1024 * 1024) + b"]")
    assert len(bomb.body) < 1024 * 1024
    with HostileServer(lambda _: bomb) as server:
        tracemalloc.start()
        try:
            with pytest.raises(QATechBadResponseError, match="max_response_bytes"):
                client(server, max_retries=0).get_run("abc123")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 32 * 1024 * 1024  # the default cap is 4 MiB; inflating it all would take 400 MiB


def test_deep_json_is_a_bad_response() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    reply = Reply(200, deep, {"Content-Type": "application/json"})
    with HostileServer(lambda _: reply) as server, pytest.raises(QATechBadResponseError) as info:
        client(server, max_retries=0).get_run("abc123")
    assert "nested deeper than 64 levels" in str(info.value)


# ------------------------------------------------------------------------------------------------
# Redirects
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_post_redirects_are_never_followed(code: int) -> None:
    reply = Reply(code, b"", {"Location": "https://elsewhere.example/v1/run"})
    with HostileServer(lambda _: reply) as server:
        with pytest.raises(QATechError) as info:
            client(server).start_run()
        assert len(server.seen) == 1
    assert "redirect to https://elsewhere.example/v1/run, which was not followed" in str(info.value)


def test_get_redirects_stay_in_the_origin() -> None:
    with HostileServer(lambda _: Reply.json(status("abc123"))) as other:

        def respond(seen: Seen) -> Reply:
            if seen.path.startswith("/v1/moved/"):
                return Reply.json(status("abc123"))
            if "away" in seen.path:
                return Reply(302, b"", {"Location": f"{other.base_url}/run/abc123"})
            return Reply(302, b"", {"Location": "/v1/moved/run/abc123?testCases=all"})

        with HostileServer(respond) as server:
            assert client(server).get_run("abc123").passed  # same origin: followed
            with pytest.raises(QATechError, match=r"not followed \(it leaves the base URL's origin\)"):
                client(server).get_run("away")
        assert other.seen == []  # the token never reached the other origin


# ------------------------------------------------------------------------------------------------
# The token
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 250, 280, 290, 295, 299, 300, 310])
@pytest.mark.parametrize("encode", ["plain", "percent", "json"])
def test_the_token_is_redacted_in_every_form_before_truncation(offset: int, encode: str) -> None:
    from urllib.parse import quote

    token = "qtk_live_tok/en+with=odd&chars\\x"
    form = {"plain": token, "percent": quote(token, safe=""), "json": json.dumps(token)[1:-1]}[encode]
    text = "e" * offset + form + " tail" * 50
    reply = Reply(500, text.encode(), {"Content-Type": "text/plain"})
    with HostileServer(lambda _: reply) as server:
        api = QATechClient(token, base_url=server.base_url, max_retries=0)
        with pytest.raises(QATechServerError) as info:
            api.get_run("abc123")
    shown = " ".join([str(info.value), repr(info.value), info.value.message])
    for size in range(8, len(token) + 1):  # not even a long piece of it
        assert all(token[i : i + size] not in shown for i in range(len(token) - size + 1))
    assert all(piece not in shown for piece in ("tok%2Fen", "tok\\\\/en", "with%3Dodd"))


def test_plain_http_elsewhere_needs_an_explicit_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(QATechValidationError, match="plain http:// to another machine"):
        QATechClient(TOKEN, base_url="http://qa-emulator:8765/v1")
    assert QATechClient(TOKEN, base_url="http://qa-emulator:8765/v1", allow_insecure_http=True)
    for local in ("http://127.0.0.1:8765/v1", "http://localhost/v1", "http://[::1]:8765/v1"):
        assert QATechClient(TOKEN, base_url=local).base_url == local
    monkeypatch.setenv("QATECH_ALLOW_INSECURE_HTTP", "1")
    assert QATechClient(TOKEN, base_url="http://qa-emulator:8765/v1")


# ------------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda url: QATechClient(TOKEN, base_url="htps://api.qa.tech/v1"), "base_url"),
        (lambda url: QATechClient(TOKEN, base_url="https://"), "base_url"),
        (lambda url: QATechClient(TOKEN, base_url="https://api.qa.tech:99999/v1"), "base_url"),
        (lambda url: QATechClient(TOKEN, base_url="https://api.qa.tech/v 1"), "base_url"),
        (lambda url: QATechClient(TOKEN, base_url="https://u:p@api.qa.tech/v1"), "base_url"),
        (lambda url: QATechClient("qtk_live_tøken_ünicode", base_url=url), "api_token"),
        (lambda url: QATechClient(TOKEN, base_url=url, read_timeout=math.nan), "read_timeout"),
        (lambda url: QATechClient(TOKEN, base_url=url).start_run(applications=[ApplicationOverride("app_x", 42)]),  # type: ignore[arg-type]
         "applications[0].environment"),
        (lambda url: QATechClient(TOKEN, base_url=url).start_run(parameters={"configs": {"cfg_a": math.inf}}),
         "parameters"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_sending(make: Any, field: str) -> None:
    with HostileServer(lambda _: Reply.json(started("abc123"))) as server:
        with pytest.raises(QATechValidationError) as info:
            make(server.base_url)
        assert server.seen == []
    assert info.value.field == field
    assert TOKEN not in str(info.value)


# ------------------------------------------------------------------------------------------------
# Sharing and load
# ------------------------------------------------------------------------------------------------


def test_one_client_shared_by_twenty_threads(emulator: QATechEmulator, caplog: pytest.LogCaptureFixture) -> None:
    api = client(emulator)
    runs = [api.start_run() for _ in range(20)]
    results: dict[str, str] = {}

    def wait(short_id: str) -> None:
        results[short_id] = api.wait_for_run(short_id, poll_interval=0.01, timeout=30).short_id

    with caplog.at_level(logging.WARNING, logger="urllib3"):
        threads = [threading.Thread(target=wait, args=(run.short_id,)) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert results == {run.short_id: run.short_id for run in runs}  # each thread got its own run's answer
    assert "Connection pool is full" not in caplog.text


def test_emulator_takes_a_burst_of_clients(emulator: QATechEmulator) -> None:
    failures: list[BaseException] = []

    def start() -> None:
        try:
            QATechClient(TOKEN, base_url=emulator.base_url, max_retries=0).start_run()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(emulator.requests_to("start_run")) == 20


def test_emulator_is_strict_about_http(emulator: QATechEmulator) -> None:
    import socket

    import requests

    auth = {"Authorization": f"Bearer {TOKEN}"}
    put = requests.put(f"{emulator.base_url}/run", json={}, headers=auth, timeout=5)
    assert put.status_code == 405 and put.headers["Allow"] == "POST"
    lower = requests.post(f"{emulator.base_url}/run", json={}, headers={"Authorization": f"bearer {TOKEN}"}, timeout=5)
    assert lower.status_code == 200
    no_body = requests.post(f"{emulator.base_url}/run/r00001", headers=auth, timeout=5)
    assert no_body.status_code == 400 and "body is required" in no_body.json()["message"]

    def raw(request: bytes) -> bytes:
        with socket.create_connection((emulator.host, emulator.port), timeout=15) as sock:
            sock.sendall(request)
            return sock.recv(65536)

    head = f"POST /v1/run HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n".encode()
    assert raw(head + b"Content-Length: abc\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(head + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(head + b"Content-Length: 50\r\n\r\n{}").startswith(b"HTTP/1.1 400")  # after body_timeout
    assert len(emulator.project.runs) == 1  # only the lower-case bearer's start
