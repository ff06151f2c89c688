"""Fixtures shared by the whole suite: a real redis-server on a free loopback port, and a network guard."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.redis_server import RedisServer, start_redis_server
from bot.store import Store


@pytest.fixture(name="redis_server", scope="session")
def fixture_redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session, on a free loopback port."""
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture(name="store")
async def fixture_store(redis_server: RedisServer) -> AsyncIterator[Store]:
    """A Store on the session's redis-server, emptied before each test."""
    store = Store.from_url(redis_server.url)
    await store.redis.flushdb()
    yield store
    await store.close()


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    """Refuse any connection that is not to the loopback interface or a unix socket."""
    if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
        raise RuntimeError(f"tests must not reach the network (tried {address[0]})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to reach a non-loopback address fail loudly."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
