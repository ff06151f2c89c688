"""Benchmark 2, storage: Redis memory per subscriber, and what delivery history adds per chat."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta

from bench.common import Row, fmt_count, open_store, redis_server, timed
from bench.synthetic import subscribers
from bot.store import Store
from bot.store.delivery import QueuedDelivery
from bot.store.keys import SEEN_DAYS, SUBSCRIBERS_KEY, UNSCHEDULED_KEY, subscriber_key
from bot.subscribers import Subscriber

NAME = "2 storage"
TARGET_BYTES = 1024
CONCURRENT_SAVES = 100


async def used_memory(store: Store) -> int:
    """INFO memory's used_memory, in bytes."""
    info = await store.redis_for_tests.info("memory")
    return int(info["used_memory"])


async def save_all(store: Store, subs: Sequence[Subscriber]) -> None:
    """Store every subscription through the real Store.save_subscriber, CONCURRENT_SAVES at a time."""
    for start in range(0, len(subs), CONCURRENT_SAVES):
        await asyncio.gather(*(store.save_subscriber(s) for s in subs[start : start + CONCURRENT_SAVES]))


async def _subscriptions(store: Store, size: int) -> list[Row]:
    """Load `size` subscribers into an empty Redis and measure what they take."""
    subs = subscribers(size)
    await save_all(store, subs[:CONCURRENT_SAVES])  # open the pool's connections (their buffers count too) ...
    await store.redis_for_tests.flushall()  # ... then start from an empty keyspace
    before = await used_memory(store)
    with timed() as watch:
        await save_all(store, subs)
    after = await used_memory(store)
    assert await store.redis_for_tests.scard(SUBSCRIBERS_KEY) == size
    per = (after - before) / size
    sample_key = subscriber_key(subs[size // 2].chat)
    hash_bytes = int(await store.redis_for_tests.memory_usage(sample_key) or 0)
    set_bytes = 0
    for key in (SUBSCRIBERS_KEY, UNSCHEDULED_KEY):
        set_bytes += int(await store.redis_for_tests.memory_usage(key, samples=0) or 0)
    client = store.redis_for_tests
    encodings = [await client.object("encoding", subscriber_key(s.chat)) for s in subs[:: max(1, size // 500)]]
    big = sum(1 for e in encodings if e == "hashtable") / len(encodings)
    return [
        Row(
            NAME,
            f"{fmt_count(size)} subscribers × 3 filters",
            "used_memory per subscriber",
            f"{per:,.0f} B",
            target=f"< {TARGET_BYTES:,} B",
            ok=per < TARGET_BYTES,
            note=(
                f"{(after - before) / 2**20:.1f} MiB in all; MEMORY USAGE of a sample hash {hash_bytes} B;"
                f" {big:.0%} of hashes are `hashtable`-encoded (a value > 64 B), the rest compact;"
                f" the 2 chat sets {set_bytes / size:.0f} B/chat; loaded in {watch.wall:.1f} s via save_subscriber"
            ),
        )
    ]


async def _history(store: Store, chats: int, papers_per_day: int) -> Row:
    """Memory added by SEEN_DAYS of delivery records (the per-chat records hash and seen-papers set) per chat."""
    await store.redis_for_tests.flushall()
    state = store.delivery
    await state.ensure_group()
    subs = subscribers(chats)
    await save_all(store, subs)
    before = await used_memory(store)
    first = date(2024, 1, 1)
    days = [first + timedelta(d) for d in range(SEEN_DAYS) if (first + timedelta(d)).weekday() < 5]
    for n, day in enumerate(days):
        ids = [f"24{day.month:02d}.{n * papers_per_day + k:05d}" for k in range(papers_per_day)]
        for start in range(0, len(subs), CONCURRENT_SAVES // 2):  # finish() holds two connections at once
            await asyncio.gather(
                *(
                    state.finish(QueuedDelivery("0-1", sub.chat, day.isoformat(), 0), ids)
                    for sub in subs[start : start + CONCURRENT_SAVES // 2]
                )
            )
    after = await used_memory(store)
    per = (after - before) / chats
    return Row(
        NAME,
        f"{fmt_count(chats)} chats × {len(days)} digests of {papers_per_day} papers",
        "delivery history per chat",
        f"{per / 1024:,.0f} KiB",
        note=f"records:* hashes + seen:* sorted sets after {SEEN_DAYS} days (weekdays); not part of the 1 KiB target",
    )


async def _run(quick: bool) -> list[Row]:
    """Every storage measurement on one fresh redis-server."""
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    rows: list[Row] = []
    with redis_server() as server:
        async with open_store(server) as store:
            for size in sizes:
                rows += await _subscriptions(store, size)
            for papers_per_day in (10, 50) if quick else (10, 50, 300):
                rows.append(await _history(store, 200 if quick else 1_000, papers_per_day))
    return rows


def run(quick: bool) -> list[Row]:
    """Measure Redis memory per subscriber at each size, then per chat for delivery history."""
    return asyncio.run(_run(quick))
