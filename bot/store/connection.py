"""How the Store reaches Redis: one server, or a Redis Cluster (`REDIS_CLUSTER=true`, or a `redis+cluster://` URL).

A cluster is reached through any one of its nodes (`redis+cluster://:PASSWORD@node:6379`, `rediss+cluster://` for
TLS); the client discovers the others and sends each command to the node that holds its keys' slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeAlias

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.store.availability import server_location

Client: TypeAlias = redis.Redis | RedisCluster
SOCKET_TIMEOUT_SECONDS = 5.0  # a frozen Redis fails a command after this, instead of hanging it
CONNECT_TIMEOUT_SECONDS = 3.0
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 30.0
CLUSTER_MAX_CONNECTIONS = 512  # per node: above the turns a cluster client hands out, so no node runs out
CLUSTER_SUFFIX = "+cluster"  # redis+cluster://, rediss+cluster://


class BoundedCluster(RedisCluster):
    """A RedisCluster that finds its nodes before running any command, then runs at most MAX_CONNECTIONS at once.

    With redis-py 8.1, commands started while the client is still discovering the cluster can have their new
    connection closed under them (a burst of 2,000 GETs on a fresh client failed a few with AttributeError), and a
    node's pool fails at once when it runs out of connections instead of waiting, as one server's pool does here.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turns = asyncio.Semaphore(MAX_CONNECTIONS)
        self._discovery = asyncio.Lock()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """Run one command once a turn is free (and the cluster's nodes are known)."""
        if self._initialize:
            async with self._discovery:  # discover the nodes before any command: others would race it
                await self.initialize()
        async with self._turns:
            return await super().execute_command(*args, **kwargs)


def is_cluster_url(url: str) -> bool:
    """True for a redis+cluster:// or rediss+cluster:// URL."""
    return url.split("://", 1)[0].endswith(CLUSTER_SUFFIX)


def plain_url(url: str) -> str:
    """The URL with its +cluster marker removed (the form redis-py reads)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.removesuffix(CLUSTER_SUFFIX)}://{rest}"


def cluster_url(url: str) -> str:
    """The redis+cluster:// form of a node's URL, which tells another process of ours to connect as a cluster."""
    return url if is_cluster_url(url) else url.replace("://", CLUSTER_SUFFIX + "://", 1)


def connect(url: str, cluster: bool = False) -> tuple[Client, str]:
    """A lazily connecting client for `url` (a cluster when asked or when the URL says so), and that URL's full form.

    The full form is a redis+cluster:// URL for a cluster, so a process handed it connects the same way.
    """
    if cluster or is_cluster_url(url):
        client = BoundedCluster.from_url(
            plain_url(url),
            decode_responses=True,
            max_connections=CLUSTER_MAX_CONNECTIONS,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), retries=3),
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        return client, cluster_url(url)
    # A refused connection is retried for about 2.5 s (a restart, not an outage); a timeout is not retried,
    # so a frozen server costs one SOCKET_TIMEOUT_SECONDS, not six.
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.1), retries=4, supported_errors=(RedisConnectionError,))
    # A burst (hundreds of papers' cache lookups at once) waits for a free connection instead of failing.
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=True,
        retry=retry,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    return redis.Redis(connection_pool=pool), url


def location(client: Client) -> str:
    """Where a client connects, for messages: host:port, a socket path, or the cluster node it starts from."""
    if isinstance(client, RedisCluster):
        node = client.startup_nodes[0] if client.startup_nodes else client.get_default_node()
        return f"{node.host}:{node.port} (a Redis Cluster)"
    return server_location(client.connection_pool.connection_kwargs)


async def get_many(client: Client, keys: Sequence[str]) -> list[Any]:
    """GET of many keys in one call: MGET on one server; on a cluster, one MGET per slot (not atomic)."""
    if isinstance(client, RedisCluster):
        return await client.mget_nonatomic(list(keys))
    return list(await client.mget(list(keys)))
