"""A large audience stored fast for the daily-job benchmarks, and a Redis connection that counts round trips."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import redis.asyncio as redis

from bot.models import Listing, Paper
from bot.store import Store
from bot.store.codec import subscriber_fields
from bot.store.keys import DUE_KEY, SUBSCRIBERS_KEY, subscriber_key
from bot.subscribers import Subscriber

PIPELINE = 2_000  # subscriptions written per round trip


class CountingConnection(redis.Connection):
    """A connection that counts its round trips: each write of one command or of a whole pipeline."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Count, then send."""
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


def counting_store(url: str) -> Store:
    """A Store whose connections count their round trips in `CountingConnection.sent`."""
    pool = redis.ConnectionPool.from_url(url, decode_responses=True, connection_class=CountingConnection)
    return Store(redis.Redis(connection_pool=pool), url)


async def store_audience(store: Store, subscribers: Iterable[Subscriber], due_epoch: float | None = None) -> int:
    """Write the subscriptions as save_subscriber writes them (hash + subscribers set), PIPELINE per round trip.

    With `due_epoch`, each chat is also scheduled at that instant (as the enqueue tick would have). Returns how
    many were written. Subscribers may be a generator: nothing but one pipeline is held at a time.
    """
    client = store.redis_for_tests
    written = 0
    pipe = client.pipeline(transaction=False)
    for sub in subscribers:
        pipe.hset(subscriber_key(sub.chat), mapping=subscriber_fields(sub))
        pipe.sadd(SUBSCRIBERS_KEY, sub.chat.key)
        if due_epoch is not None:
            pipe.zadd(DUE_KEY, {sub.chat.key: due_epoch})
        written += 1
        if written % PIPELINE == 0:
            await pipe.execute()
    await pipe.execute()
    return written


async def make_day_ready(store: Store, day: date, papers: tuple[Paper, ...]) -> None:
    """Record `day` as fetched and ready, with these papers, as the fetch tick does."""
    await store.delivery.save_day(day, Listing(papers=papers, day=day, categories=("cs.LG",)))
