"""Benchmark 2, storage: Redis memory per subscriber, then with 14 weekdays of deliveries through the real FINISH."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

from bench.common import Row, fmt_count, open_store, redis_server, timed
from bench.synthetic import SEED, make_papers, subscribers
from bot.models import Listing, Paper
from bot.store import Store
from bot.store.delivery import QueuedDelivery
from bot.store.keys import (
    DAYS_KEY,
    QUEUE_GROUP,
    QUEUE_KEY,
    SEEN_DAYS,
    SUBSCRIBERS_KEY,
    UNSCHEDULED_KEY,
    day_listing_key,
    day_status_key,
    legacy_seen_key,
    records_key,
    sent_key,
    subscriber_key,
)
from bot.subscribers import Subscriber

NAME = "2 storage"
TARGET_BYTES = 1024
HISTORY_TARGET_BYTES = 2048  # issue 15: per subscriber, subscription and delivery history together
CONCURRENT_SAVES = 100
HISTORY_DAYS = 14  # weekdays of deliveries: more than the SEEN_DAYS window, so the history is at its steady state
PAPERS_A_DAY = 2_000
DIGEST_PAPERS = 20  # the default /limit; drawn at random from the day (more spread, so longer, than real matches)
BATCH = 1_000  # deliveries queued and finished per round trip
Finish = Callable[[Store, Sequence[tuple[QueuedDelivery, list[int]]]], Awaitable[None]]
# The FINISH script as commit cbd5268 shipped it, for the baseline: ids in a sorted set, records kept 45 days.
BASELINE_FINISH = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'last_day', ARGV[4])
  redis.call('HSET', KEYS[3], 'delivered:' .. ARGV[4], '1')
  redis.call('HDEL', KEYS[3], 'progress:' .. ARGV[4])
  for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
    if string.sub(field, -10) < ARGV[8] then redis.call('HDEL', KEYS[3], field) end
  end
  redis.call('EXPIRE', KEYS[3], ARGV[7])
  for i = 9, #ARGV do redis.call('ZADD', KEYS[4], ARGV[5], ARGV[i]) end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[6])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
redis.call('XACK', KEYS[5], ARGV[2], ARGV[3])
redis.call('XDEL', KEYS[5], ARGV[3])
redis.call('DEL', KEYS[6])
if ARGV[1] ~= '' then redis.call('DEL', KEYS[1]) end
return 1
"""


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


def _weekdays(count: int) -> list[date]:
    """The first `count` weekdays from Monday 2024-01-01."""
    days: list[date] = []
    day = date(2024, 1, 1)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(1)
    return days


def _day_listing(day: date, papers: Sequence[Paper]) -> Listing:
    """The synthetic day's papers under ids of that day (so every day brings new papers)."""
    stamp = f"{day.month:02d}{day.day:02d}"
    renamed = tuple(
        replace(p, arxiv_id=f"{stamp}.{n:05d}", url=f"https://arxiv.org/abs/{stamp}.{n:05d}")
        for n, p in enumerate(papers)
    )
    return Listing(renamed, day=day, categories=("cs.LG",))


async def _shared_bytes(store: Store, days: Sequence[date]) -> int:
    """MEMORY USAGE of the data every chat shares: the day listings and statuses, the ready days, the stream."""
    client = store.redis_for_tests
    keys = [k for d in days for k in (day_listing_key(d.isoformat()), day_status_key(d.isoformat()))]
    keys += [DAYS_KEY, QUEUE_KEY]
    return sum([int(await client.memory_usage(k, samples=0) or 0) for k in keys])


async def _deliver_days(store: Store, subs: Sequence[Subscriber], days: Sequence[date], finish: Finish) -> float:
    """Queue and finish every chat's digest of DIGEST_PAPERS papers on each day; the seconds it took."""
    state = store.delivery
    rng = random.Random(SEED)
    papers = make_papers(PAPERS_A_DAY)
    with timed() as watch:
        for day in days:
            await state.save_day(day, _day_listing(day, papers))
            for start in range(0, len(subs), BATCH):
                chats = [sub.chat for sub in subs[start : start + BATCH]]
                entries = await state.enqueue_many(chats, day.isoformat(), 0)
                done = [
                    (QueuedDelivery(entry, chat, day.isoformat(), 0), rng.sample(range(PAPERS_A_DAY), DIGEST_PAPERS))
                    for chat, entry in zip(chats, entries, strict=True)
                    if entry is not None
                ]
                await finish(store, done)
    return watch.wall


async def _finish_today(store: Store, done: Sequence[tuple[QueuedDelivery, list[int]]]) -> None:
    """The shipped FINISH script (positions into the day listings), pipelined."""
    await store.delivery.finish_many(done)


async def _finish_before(store: Store, done: Sequence[tuple[QueuedDelivery, list[int]]]) -> None:
    """The FINISH of commit cbd5268 (a sorted set of ids per chat, records of 45 days), pipelined: the baseline."""
    client = store.redis_for_tests
    script = client.register_script(BASELINE_FINISH)
    async with client.pipeline(transaction=False) as pipe:
        for delivery, positions in done:
            chat, ordinal = delivery.chat.key, date.fromisoformat(delivery.day).toordinal()
            keys = [f"axd:moved:{chat}", f"axd:sub:{chat}", f"axd:records:{chat}", f"axd:seen:{chat}"]
            keys += [QUEUE_KEY, f"axd:lease:{delivery.entry_id}"]
            oldest = date.fromordinal(ordinal - 45).isoformat()
            ids = [f"{delivery.day[5:7]}{delivery.day[8:]}.{n:05d}" for n in positions]
            args: list[str | int] = [
                "",
                QUEUE_GROUP,
                delivery.entry_id,
                delivery.day,
                ordinal,
                ordinal - SEEN_DAYS,
                45 * 86400,
                oldest,
            ]
            await script(keys=keys, args=[*args, *ids], client=pipe)  # type: ignore[arg-type]  # a single server's pipeline (bulk runs)
        await pipe.execute()


async def _history(store: Store, chats: int, finish: Finish, layout: str) -> Row:
    """Redis per subscriber (subscription and delivery history) after HISTORY_DAYS weekdays of real finishes."""
    await store.redis_for_tests.flushall()
    await store.delivery.ensure_group()
    empty = await used_memory(store)
    subs = subscribers(chats)
    await save_all(store, subs)
    subscribed = await used_memory(store)
    days = _weekdays(HISTORY_DAYS)
    took = await _deliver_days(store, subs, days, finish)
    shared = await _shared_bytes(store, days)
    after = await used_memory(store)
    per = (after - empty - shared) / chats
    client = store.redis_for_tests
    sample = subs[chats // 2].chat
    history = [
        int(await client.memory_usage(k) or 0) for k in (records_key(sample), sent_key(sample), legacy_seen_key(sample))
    ]
    return Row(
        NAME,
        f"{fmt_count(chats)} subscribers × {HISTORY_DAYS} weekdays of {DIGEST_PAPERS}-paper digests, {layout}",
        "Redis per subscriber beyond the shared day data",
        f"{per:,.0f} B",
        target=f"≤ {HISTORY_TARGET_BYTES:,} B" if layout == "shipped" else "",
        ok=per <= HISTORY_TARGET_BYTES if layout == "shipped" else None,
        note=(
            f"subscription {(subscribed - empty) / chats:,.0f} B"
            f" + history {(after - subscribed - shared) / chats:,.0f} B"
            f" (a sample chat's records {history[0]} B, sent {history[1]} B, seen set {history[2]} B);"
            f" shared day data {shared / 2**20:.0f} MiB ({PAPERS_A_DAY:,} papers a day); {took:.0f} s of deliveries"
        ),
    )


async def _run(quick: bool) -> list[Row]:
    """Every storage measurement on one fresh redis-server."""
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    rows: list[Row] = []
    with redis_server() as server:
        async with open_store(server) as store:
            for size in sizes:
                rows += await _subscriptions(store, size)
            rows.append(await _history(store, 10_000 if quick else 100_000, _finish_today, "shipped"))
            rows.append(await _history(store, 1_000, _finish_before, "before (ids in a sorted set)"))
    return rows


def run(quick: bool) -> list[Row]:
    """Measure Redis memory per subscriber at each size, then with delivery history (shipped and before)."""
    return asyncio.run(_run(quick))
