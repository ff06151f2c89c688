"""Benchmark: the delivery benchmark (bench/delivery_workers.py) on a 3-master Redis Cluster against one instance.

The same population, day and processes (`arxiv-digest run` beside two `arxiv-digest worker`s, against a fake
Telegram enforcing its limits at 30 messages a second) run once on one redis-server and once on a Redis Cluster of
three masters on this machine, started from the same binary. Also timed: subscribing and queueing every chat
(one `save_subscriber` and one `enqueue` after another, as the daily job queues), i.e. Redis round trips.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from bench.common import Row, Server, open_store, redis_server
from bench.delivery_workers import Backend, Case, _measure, _prepare, _rows
from tests.redis_cluster import LocalCluster

NAME = "delivery on a Redis Cluster"
CASE = Case(2, with_run=True)


BACKENDS: dict[str, Backend] = {"one redis-server": redis_server, "3-master cluster": LocalCluster}


async def _queueing(backend: Backend, chats: int, papers: int) -> float:
    """Seconds to subscribe `chats` chats and queue a delivery for each, one command after another."""
    server: Server
    with backend() as server:
        async with open_store(server) as store:
            started = time.perf_counter()
            await _prepare(store, chats, papers)
            return time.perf_counter() - started


def run(quick: bool) -> list[Row]:
    """1 run + 2 workers on each backend: messages a second, 429s and doubles; and the time to queue every chat."""
    chats, papers = (2_000, 600) if quick else (10_000, 600)
    warmup, window = (5.0, 20.0) if quick else (10.0, 60.0)
    rows: list[Row] = []
    for label, backend in BACKENDS.items():
        queueing = asyncio.run(_queueing(backend, chats, papers))
        outcome = asyncio.run(_measure(CASE, chats, papers, warmup, window, backend))
        per_chat = f"{queueing / chats * 1000:.2f} ms"
        rows.append(Row(NAME, label, "subscribe + queue, per chat", per_chat, note=f"{chats:,} chats"))
        rows += [replace(row, bench=NAME, case=f"{label}, {row.case}") for row in _rows(CASE, outcome)]
    return rows
