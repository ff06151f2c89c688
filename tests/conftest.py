"""Fixtures shared by the whole suite: a real redis-server on a free loopback port, and a network guard."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.redis_server import RedisServer, start_redis_server
from bot.runtime import build_service
from bot.service import DigestService
from bot.store import Store
from tests.fake_settings import fake_settings
from tests.fakes.arxiv_server import FakeArxiv, fixture_bytes
from tests.fakes.llm_server import FakeLLM, fixture_fake_llm  # noqa: F401  (the `fake_llm` fixture, for all tests)


@pytest.fixture(name="redis_server", scope="session")
def fixture_redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session, on a free loopback port."""
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture(name="redis_url")
def fixture_redis_url(redis_server: RedisServer) -> Callable[[], str]:
    """A way to open more connections to the session's Redis (as another process would)."""
    return lambda: redis_server.url


@pytest.fixture(name="store")
async def fixture_store(redis_server: RedisServer) -> AsyncIterator[Store]:
    """A Store on the session's redis-server, emptied before each test."""
    store = Store.from_url(redis_server.url)
    await store.redis_for_tests.flushdb()
    yield store
    await store.close()


@pytest.fixture(name="arxiv")
async def fixture_arxiv() -> AsyncIterator[FakeArxiv]:
    """A fake arXiv with a cs.LG+stat.ML feed, an empty cs.LG feed (a weekend) and one paper in the API."""
    async with FakeArxiv() as server:
        server.rss_feeds["cs.LG+stat.ML"] = fixture_bytes("rss_cs.LG+stat.ML.xml")
        server.rss_feeds["cs.LG"] = fixture_bytes("rss_weekend_empty.xml")
        server.add_paper("2402.03478", fixture_bytes("api_2402.03478v2.xml"))
        server.add_paper("2402.03478v2", fixture_bytes("api_2402.03478v2.xml"))
        yield server


@pytest.fixture(name="service")
async def fixture_service(store: Store, arxiv: FakeArxiv, fake_llm: FakeLLM) -> AsyncIterator[DigestService]:
    """The real DigestService wired to the fake arXiv, the fake LLM and the test Redis."""
    settings = fake_settings(arxiv, fake_llm)
    async with httpx.AsyncClient(trust_env=False) as http:
        yield build_service(settings, store, http)


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
