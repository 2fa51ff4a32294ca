"""One pooled async client per (connection, event loop), shared by every trigger of that connection.

The triggerer runs thousands of waits in one event loop. A client (and socket) per trigger, or a thread per
read, does not scale; one aiohttp pool per connection does, bounded by the connection's ``pool_size``.
A client lives while at least one trigger uses it and is closed when the last one ends. A connection whose
settings changed (a rotated token, another base URL) gets a new client; triggers still on the old one keep
it until they end. The connection is looked up again at most every ``CONNECTION_TTL`` seconds per
connection: ten thousand triggers starting together do not make ten thousand lookups.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qatech_orchestration.async_client import AsyncQATechClient


#: Seconds a connection lookup is reused by the triggers that start after it (a rotated token is seen then).
CONNECTION_TTL = 30.0


@dataclass
class _Entry:
    client: AsyncQATechClient
    fingerprint: str
    looked_up: float
    users: int = 0


@dataclass
class _LoopClients:
    by_key: dict[tuple[str, str | None], _Entry] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


# Event loop -> its clients. Weak keys: a loop that ends takes its clients with it.
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = weakref.WeakKeyDictionary()


def _fingerprint(kwargs: dict[str, Any]) -> str:
    """Tells a changed connection from the same one, without keeping the token itself around."""
    return hashlib.sha256(json.dumps(kwargs, sort_keys=True, default=str).encode()).hexdigest()


@asynccontextmanager
async def shared_client(
    conn_id: str, project_short_id: str | None, client_kwargs: Callable[[], Awaitable[dict[str, Any]]]
) -> AsyncIterator[Any]:
    """Lend the shared client for ``conn_id`` in this event loop; ``client_kwargs`` looks the connection up
    (only when there is no client yet, or its lookup is older than ``CONNECTION_TTL``)."""
    from qatech_orchestration.async_client import AsyncQATechClient

    loop = asyncio.get_running_loop()
    clients = _CLIENTS.setdefault(loop, _LoopClients())
    key = (conn_id, project_short_id)
    async with clients.lock:
        entry = clients.by_key.get(key)
        if entry is None or time.monotonic() - entry.looked_up > CONNECTION_TTL:
            kwargs = await client_kwargs()
            fingerprint = _fingerprint(kwargs)
            if entry is not None and entry.fingerprint == fingerprint:
                entry.looked_up = time.monotonic()
            else:
                # New, or changed: a new client; the old one's users finish on it, and it closes with the last.
                entry = _Entry(AsyncQATechClient(**kwargs), fingerprint, time.monotonic())
                clients.by_key[key] = entry
        entry.users += 1
    try:
        yield entry.client
    finally:
        async with clients.lock:
            entry.users -= 1
            if entry.users == 0:
                if clients.by_key.get(key) is entry:
                    del clients.by_key[key]
                await entry.client.aclose()


def clients_in_loop() -> dict[tuple[str, str | None], int]:
    """``{(conn_id, project): users}`` of the running loop's shared clients (for tests and benchmarks)."""
    clients = _CLIENTS.get(asyncio.get_running_loop())
    return {key: entry.users for key, entry in (clients.by_key.items() if clients else ())}
