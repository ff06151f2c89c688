"""Fixtures shared by the whole suite: a real redis-server on a free loopback port, and a network guard.

A module runs its tests on a real 3-master Redis Cluster too with `pytestmark = ON_BOTH_BACKENDS`
(tests/redis_cluster.py).
"""

from __future__ import annotations

import gc
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
from tests.redis_cluster import LocalCluster


@pytest.fixture(name="redis_server", scope="session")
def fixture_redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session, on a free loopback port."""
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture(name="redis_cluster", scope="session")
def fixture_redis_cluster() -> Iterator[LocalCluster]:
    """One real 3-master Redis Cluster for the session (started only when a test asks for it)."""
    with LocalCluster() as cluster:
        yield cluster


@pytest.fixture(name="redis_backend")
def fixture_redis_backend(request: pytest.FixtureRequest) -> str:
    """The URL of the Redis the test runs on: the session's redis-server, or the cluster when parametrized so."""
    if getattr(request, "param", "single") == "cluster":
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        return cluster.url
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture(name="redis_url")
def fixture_redis_url(redis_backend: str) -> Callable[[], str]:
    """A way to open more connections to the test's Redis (as another process would)."""
    return lambda: redis_backend


@pytest.fixture(name="store")
async def fixture_store(redis_backend: str) -> AsyncIterator[Store]:
    """A Store on the test's Redis, emptied before each test."""
    store = Store.from_url(redis_backend)
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


# Tests whose promise is about timing across real bot processes (rate limits, leases, bounded answers, outages):
# they run one after another on one xdist worker, never two at once on this 2-core machine, where two of them side
# by side starve each other's processes (a send 50 ms late is a 429 at the fake). The rest fill the other worker.
TIMED_ACROSS_PROCESSES = frozenset(
    {
        "test_console_and_run",
        "test_delivery_crash",
        "test_delivery_lease",
        "test_discord_shards",
        "test_paid_broadcast",
        "test_paper_bounds",
        "test_poller_lease",
        "test_redis_errors",
        "test_redis_outage",
        "test_run_embedded",
        "test_scheduler_takeover",
        "test_shared_limiter",
        "test_telegram_fairness",
        "test_telegram_webhook",
    }
)


@pytest.fixture(autouse=True)
def old_objects_left_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a timed test, keep the collector off what existed before it (pytest's, every import's): set aside, not freed.

    The fakes run in the test's own event loop: a full collection scanning that heap (100+ ms, seen in the
    benchmark's process) holds back the requests already sent, then stamps them all at once, as no real server would.
    """
    if request.node.path.stem not in TIMED_ACROSS_PROCESSES:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests timed across real processes in one xdist group (`--dist loadgroup` runs a group in order)."""
    for item in items:
        if item.path.stem in TIMED_ACROSS_PROCESSES:
            item.add_marker(pytest.mark.xdist_group("timed_across_processes"))
