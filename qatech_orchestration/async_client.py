"""The async client of QA.tech's status endpoint, for event loops (Airflow's triggerer).

It shares everything with :class:`~qatech_orchestration.client.QATechClient` but the I/O: settings and
their validation, answer reading with the size cap and deadline, parsing and checks, error mapping,
redaction and the one retry policy live in :mod:`qatech_orchestration.client_core`. The transport is
aiohttp, imported only when this module is: a DAG file never pays for it.

Only reads are offered: starting a run belongs to a task, never to an event loop that serves thousands of
waits. One client is meant to be shared by every wait of one connection in one event loop; its pool holds
``pool_size`` connections (every read beyond that waits for a free one).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import aiohttp

from qatech_orchestration.answers import BodyReader
from qatech_orchestration.client_core import (
    MAX_REDIRECTS,
    Answer,
    ClientCore,
    ClientOptions,
    DeadlineReached,
    Unusable,
    origin,
)
from qatech_orchestration.errors import QATechError
from qatech_orchestration.models import RunStatus
from qatech_orchestration.retry import RetryPolicy
from qatech_orchestration.waiting import ONE_ATTEMPT, RunWait, WaitLog

if TYPE_CHECKING:
    from typing_extensions import Unpack

_CHUNK = 64 * 1024


def connection_opened(exc: BaseException) -> bool:
    """False when the connection was never established (refused, no route, connect timeout)."""
    if isinstance(exc, aiohttp.ClientConnectorError):  # the connect itself failed (refused, DNS, TLS handshake)
        return False
    return timeout_limit(exc) != "connect_timeout"


def timeout_limit(exc: BaseException) -> str | None:
    """The setting whose time ran out: ``connect_timeout`` or ``read_timeout`` (``None``: not a timeout).

    aiohttp raises ``ServerTimeoutError`` for both socket timeouts (since 3.10 as the subclasses
    ``ConnectionTimeoutError`` and ``SocketTimeoutError``; before, told apart only by its text).
    """
    if not isinstance(exc, aiohttp.ServerTimeoutError):
        return None
    connect_class = getattr(aiohttp, "ConnectionTimeoutError", None)
    if (connect_class is not None and isinstance(exc, connect_class)) or "connect" in str(exc).lower():
        return "connect_timeout"
    return "read_timeout"


class AsyncQATechClient(ClientCore):
    """Reads run statuses with asyncio; the same arguments as ``QATechClient`` (but ``session``/``sleep``).

    Use it as an async context manager, or call :meth:`aclose`.
    """

    def __init__(self, api_token: str, **options: Unpack[ClientOptions]) -> None:
        super().__init__(api_token, **options)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily: aiohttp binds the session to the running loop.
        if self._session is None:
            tls = ssl.create_default_context(cafile=self.route.ca_file)  # the sync client's trust store
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.pool_size, limit_per_host=self.settings.pool_size, ssl=tls
                ),
                trust_env=False,  # the proxy comes from self.route, as in the sync client
                # Not the token: aiohttp sends a session's default headers to the proxy too (a CONNECT's
                # Authorization becomes Proxy-Authorization), so it goes on each request instead.
                headers={k: v for k, v in self.headers().items() if k != "Authorization"},
                auto_decompress=False,  # the core inflates, with the size cap
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
                ),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AsyncQATechClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get_run(
        self,
        short_id: str,
        test_cases: str | None = None,
        *,
        deadline: float | None = None,
        retry: bool = True,
    ) -> RunStatus:
        """Read a run's status (``GET /run/{shortId}``), retried by the one retry policy.

        ``deadline`` (``time.monotonic()``) bounds the whole call, retries and their delays included;
        :class:`~qatech_orchestration.client_core.DeadlineReached` is raised instead of passing it.
        ``retry=False`` makes one attempt.
        """
        return await self._get_run(short_id, test_cases, deadline, self.retry if retry else ONE_ATTEMPT)

    async def wait_for_run(
        self,
        short_id: str,
        *,
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
        test_cases: str | None = "all",
        run_url: str | None = None,
        on_poll: Callable[[RunStatus], None] | None = None,
        log: WaitLog | None = None,
    ) -> RunStatus:
        """Poll until the run is COMPLETED, ERROR or CANCELLED: :meth:`QATechClient.wait_for_run`, awaited.

        The same rules, from the same :class:`~qatech_orchestration.waiting.RunWait`: transient trouble is
        waited through until the deadline; 401, 403 and a lasting 404 end the wait.

        Raises:
            QATechWaitTimeout: no terminal status within ``timeout`` seconds (the QA.tech run goes on).
        """
        wait = RunWait(
            short_id, poll_interval=poll_interval, timeout=timeout, run_url=run_url, policy=self.retry, log=log
        )
        while True:
            read: RunStatus | QATechError
            try:
                read = await self._get_run(short_id, test_cases, wait.deadline, ONE_ATTEMPT)
            except DeadlineReached:
                raise wait.timed_out() from None
            except QATechError as exc:
                read = exc
            after = wait.after(read, on_poll)
            if isinstance(after, RunStatus):
                return after
            await asyncio.sleep(after)

    async def _get_run(
        self, short_id: str, test_cases: str | None, deadline: float | None, policy: RetryPolicy
    ) -> RunStatus:
        path, params = self.status_request(short_id, test_cases)
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self._send(path, params, deadline)
            except aiohttp.ClientSSLError as exc:
                raise self.tls_error(exc, "GET", path, short_id) from None
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                retry = policy.should_retry("GET", attempt, connection_opened=connection_opened(exc))
                error: QATechError = self.no_answer(
                    exc, "GET", path, short_id, may_have_arrived=True, limit=timeout_limit(exc)
                )
            except Unusable as exc:
                raise self.unusable(exc, "GET", path, short_id) from None
            else:
                if 200 <= answer.status < 300:
                    return self.run_status(self.decode(answer, "GET", path, short_id), short_id, path)
                if 300 <= answer.status < 400:
                    raise self.redirect_error(answer, "GET", path, short_id)
                error = self.http_error(answer, "GET", path, short_id)
                retry = policy.should_retry("GET", attempt, status_code=answer.status)
            await asyncio.sleep(self.delay_before_retry("GET", path, error, attempt, retry, deadline, policy))

    async def _send(self, path: str, params: dict[str, str], deadline: float | None) -> Answer:
        call_deadline = time.monotonic() + self.settings.total_timeout
        if deadline is not None:
            call_deadline = min(call_deadline, deadline)
        url = f"{self.base_url}{path}"
        query: dict[str, str] | None = params or None
        for _ in range(MAX_REDIRECTS + 1):
            left = max(call_deadline - time.monotonic(), 0.001)
            try:
                answer, location = await asyncio.wait_for(self._once(url, query, call_deadline), left)
            except aiohttp.ClientError:
                raise  # aiohttp's connect and read timeouts are TimeoutErrors too: they are not the total's
            except asyncio.TimeoutError:
                if deadline is not None and call_deadline >= deadline:
                    raise DeadlineReached() from None
                raise Unusable(
                    f"QA.tech's answer did not arrive within total_timeout={self.settings.total_timeout:g} s", None
                ) from None
            if location is None:
                return answer
            target = urljoin(url, location)
            if origin(target) != self.origin:
                return answer  # not followed: redirect_error names it
            url, query = target, None
        raise Unusable(f"QA.tech redirected more than {MAX_REDIRECTS} times", None)

    async def _once(self, url: str, query: dict[str, str] | None, call_deadline: float) -> tuple[Answer, str | None]:
        authorization = self.route.proxy_authorization
        async with self._http().get(
            url,
            params=query,
            headers={"Authorization": self.headers()["Authorization"]},
            allow_redirects=False,
            proxy=self.route.bare_proxy,
            proxy_headers={"Proxy-Authorization": authorization} if authorization else None,
        ) as response:
            location = response.headers.get("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                answer = Answer(response.status, response.reason or "", dict(response.headers), b"")
                return answer, location
            reader = BodyReader(response.headers.get("Content-Encoding"), self.settings.max_response_bytes)
            try:
                async for chunk in response.content.iter_any():
                    reader.feed(chunk)
                body = reader.finish()
            except Exception as exc:
                self.reraise_unreadable(exc, response.status)
                raise
            return Answer(response.status, response.reason or "", dict(response.headers), body), None
